#!/usr/bin/python3
"""Four writers append N mixed entries each, every append its own rxledger
process, all at once, while readers loop verify, audit, log and show.

usage: conc_drive.py RXLEDGER LEDGER_DIR N
The ledger must hold the setup of test_concurrency4.sh (keys in the current
directory: site, jroe and bob pharmacists, alee nurse, msmith prescriber; a
setting, a registration, the lot SETUP1 received and counted).
Environment: RXLEDGER_PASSPHRASE, CONC_BASE (event-time origin, epoch s).

Writers (each a thread running one rxledger process after another):
  jroe    notes, stock receipts of its own lots, a count of each
  bob     notes and receipts; one append in five through 'batch' (10 lines,
          two transactions, which other writers may fall between)
  alee    whole esketamine sessions: enroll, open, vitals, 2 doses, vitals,
          vitals, discharge, pmf (9 entries), notes to round up to N
  msmith  notes, patient enrollments, an amendment of each enrollment
Readers, until the writers are done, then once more:
  verify  exit 0; its head is the stored hash of entry N-1 (it saw a whole
          prefix of the chain); N never goes down
  audit   --format json: exit 0, or 3 with findings only for a session that
          was not yet discharged in the snapshot it read
  log     exit 0, seqs 0..N-1 in order, each line whole; then show K for a
          random K < N: exit 0, its hash is the stored one
At the end: exactly SETUP + 4N entries, every seq acknowledged exactly once,
every acknowledged hash is the stored entry's, every note text once in the
log, verify passes, audit finds nothing.
Prints one summary line and exits 0, or 'FAIL: ...' and exits 1.
"""
import datetime
import hashlib
import io
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

import cbor2

RX, LEDGER, N = sys.argv[1], sys.argv[2], int(sys.argv[3])
BASE = int(os.environ.get("CONC_BASE", time.time() - 5 * 3600))
HEX64 = "[0-9a-f]{64}"
TODAY = datetime.datetime.now(datetime.timezone.utc).date()
failures = []
flock = threading.Lock()


class Fail(Exception):
    pass


def fail(msg):
    with flock:
        failures.append(msg)
    raise Fail(msg)


def rx(*args, stdin=None):
    p = subprocess.run([RX, "-l", LEDGER, *args], input=stdin, capture_output=True, timeout=600)
    return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")


def at(minutes):
    return datetime.datetime.fromtimestamp(BASE + minutes * 60, datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%SZ")


def kid(name):
    p = subprocess.run([RX, "key", "fingerprint", f"{name}.pub"], capture_output=True, text=True)
    return re.search(r"^kid +(\w+)", p.stdout, re.M).group(1)


class Writer:
    def __init__(self, name, n):
        self.name, self.left, self.n = name, n, n
        self.acks = []  # (seq, hash printed)
        self.batches = []  # (first seq, last seq) of each batch of 10
        self.texts = []  # note texts, each must be in the log once
        self.runs = 0
        self.i = 0

    def app(self, *args):
        """One append; its line must come back. Returns (seq, stdout)."""
        if failures:
            raise Fail(failures[0])
        rc, out, err = rx(*args, "--key", f"{self.name}.key")
        self.runs += 1
        if rc != 0 or err:
            fail(f"{self.name}: {' '.join(args[:3])}: exit {rc}: {err.strip()[:500]}")
        m = re.match(rf"appended seq (\d+) ({HEX64})$", out, re.M)
        if not m:
            fail(f"{self.name}: no 'appended seq' line: {out!r}")
        self.acks.append((int(m.group(1)), m.group(2)))
        self.left -= 1
        return int(m.group(1)), out

    def note(self):
        self.i += 1
        text = f"{self.name} note {self.i}"
        self.texts.append(text)
        self.app("note", "--text", text)

    def receive(self, lot):
        self.app("stock", "receive", "--ndc", "50458-028-02", "--lot", lot, "--expires",
                 str(TODAY + datetime.timedelta(days=300)), "--containers", "2",
                 "--units-per-container", "2", "--form", "28 mg nasal device", "--unit-mg", "28",
                 "--substance", "esketamine", "--supplier", "McKesson Specialty",
                 "--supplier-address", "1 Main St, Memphis TN", "--supplier-dea", "AP5836727")


def w_jroe(w):
    while w.left > 0:
        w.note()
        if w.left >= 2:
            lot = f"J{w.i}"
            w.receive(lot)
            w.app("stock", "count", "--ndc", "50458-028-02", "--lot", lot, "--on-hand", "4",
                  "--when", "close")


def w_bob(w):
    k = 0
    while w.left > 0:
        k += 1
        if k % 41 == 0 and w.left >= 10:
            lines = []
            for j in range(10):
                w.i += 1
                if j % 4 == 3:
                    lines.append({"type": "stock receive", "ndc": "50458-028-02",
                                  "lot": f"BB{w.i}", "expires": str(TODAY + datetime.timedelta(
                                      days=300)), "containers": 2, "units-per-container": 2,
                                  "form": "28 mg nasal device", "unit-mg": 28,
                                  "substance": "esketamine", "supplier": "McKesson Specialty",
                                  "supplier-address": "1 Main St, Memphis TN",
                                  "supplier-dea": "AP5836727"})
                else:
                    w.texts.append(f"bob batch {w.i}")
                    lines.append({"type": "note", "text": f"bob batch {w.i}"})
            rc, out, err = rx("batch", "--key", "bob.key", "--group", "5",
                              stdin="".join(json.dumps(x) + "\n" for x in lines).encode())
            w.runs += 1
            m = re.match(r"appended 10 entries \(seq (\d+)\.\.(\d+)\)", out)
            if rc != 0 or err or not m:
                fail(f"bob: batch: exit {rc}: {(out + err).strip()[:500]}")
            # Two transactions: other writers' entries may fall between them.
            # Then the printed range (first seq .. first + 9) is not the
            # batch's entries; they are the first 10 seqs from the first one
            # that no other writer acknowledged (checked at the end).
            w.batches.append((int(m.group(1)), int(m.group(2))))
            w.left -= 10
        elif k % 4 == 0:
            w.i += 1
            w.receive(f"B{w.i}")
        else:
            w.note()


def w_alee(w, smith, lee):
    sessions = []  # (session seq, discharge seq)
    while w.left > 0:
        if w.left < 9:
            w.note()
            continue
        w.i += 1
        mrn = f"MRN-ALEE-{w.i:05d}"
        w.app("patient", "enroll", "--patient", mrn, "--rems-patient-id", f"REMS-ALEE-{w.i:05d}",
              "--on", str(TODAY - datetime.timedelta(days=1)))
        s, out = w.app("session", "open", "--patient", mrn, "--drug", "esketamine", "--route",
                       "intranasal", "--setting", "outpatient", "--prescriber", smith,
                       "--observer", lee, "--at", at(0))
        if out.strip().splitlines()[-1] != f"session {s}":
            fail(f"alee: session open: {out!r}")
        sid = str(s)
        w.app("vitals", "--session", sid, "--phase", "pre", "--bp", "128/82", "--hr", "72",
              "--spo2", "98", "--at", at(2))
        for dev, t in ((1, 5), (2, 10)):
            w.app("dose", "--session", sid, "--ndc", "50458-028-02", "--lot", "SETUP1", "--mg",
                  "28", "--device", str(dev), "--at", at(t))
        w.app("vitals", "--session", sid, "--phase", "post40", "--bp", "130/84", "--hr", "74",
              "--spo2", "97", "--at", at(47))
        w.app("vitals", "--session", sid, "--phase", "discharge", "--bp", "124/80", "--hr", "70",
              "--spo2", "98", "--at", at(135))
        d, _ = w.app("discharge", "--session", sid, "--sedation-resolved",
                     "--dissociation-resolved", "--respiration-stable", "--transport-arranged",
                     "--at", at(140))
        w.app("pmf", "--session", sid, "--submitted", str(TODAY))
        sessions.append((s, d))
    w.sessions = sessions


def w_msmith(w):
    while w.left > 0:
        w.note()
        if w.left >= 2:
            s, _ = w.app("patient", "enroll", "--patient", f"MRN-SMITH-{w.i:05d}",
                         "--rems-patient-id", f"REMS-SMITH-{w.i:05d}", "--on",
                         str(TODAY - datetime.timedelta(days=2)))
            w.app("amend", str(s), "--reason", "enrollment date typo", "--set",
                  f"on={TODAY - datetime.timedelta(days=1)}")


# ---- readers ----------------------------------------------------------------------------
done = threading.Event()
seen = {"verify": [], "audit": [], "show": []}  # what each reader run saw, checked at the end
counts = {"verify": 0, "audit": 0, "log": 0, "show": 0}


def reader(kind):
    last = False
    while not last:
        last = done.is_set()  # one more run once the writers are done
        if kind == "verify":
            rc, out, err = rx("verify")
            m = re.match(rf"^ok: (\d+) entries, head ({HEX64})\n$", out)
            if rc != 0 or err or not m:
                fail(f"reader verify: exit {rc}: {(out + err).strip()[:1000]}")
            seen["verify"].append((int(m.group(1)), m.group(2)))
        elif kind == "audit":
            rc, out, err = rx("audit", "--format", "json")
            if rc not in (0, 3) or err:
                fail(f"reader audit: exit {rc}: {(out + err).strip()[:1000]}")
            try:
                doc = json.loads(out)
            except ValueError:
                fail(f"reader audit: not JSON: {out[:1000]!r}")
            if (rc == 3) != (doc["summary"]["fail"] > 0):
                fail(f"reader audit: exit {rc} with {doc['summary']}")
            seen["audit"].append(doc)
        else:
            rc, out, err = rx("log")
            if rc != 0 or err:
                fail(f"reader log: exit {rc}: {err.strip()[:1000]}")
            seqs = [int(ln.split(None, 1)[0]) for ln in out.splitlines()]
            if seqs != list(range(len(seqs))):
                fail(f"reader log: seqs not 0..{len(seqs) - 1} in order")
            counts["log"] += 1
            k = random.randrange(len(seqs))
            rc, out, err = rx("show", str(k))
            m = re.search(rf"^hash +({HEX64})$", out, re.M)
            if rc != 0 or err or not m:
                fail(f"reader show {k}: exit {rc}: {(out + err).strip()[:1000]}")
            seen["show"].append((k, m.group(1)))
            counts["show"] += 1
            continue
        counts[kind] += 1


def guarded(fn, *args):
    try:
        fn(*args)
    except Fail:
        done.set()
    except Exception as e:  # a bug here must fail the test, not hang it
        with flock:
            failures.append(f"{fn.__name__}: {e!r}")
        done.set()


def stored_hashes():
    """Every entry's hash, from an export (its entries are the stored bytes)."""
    out = os.path.abspath("conc-export.cbor")
    rc, _, err = rx("export", "--key", "site.key", "--out", out)
    if rc != 0:
        raise Fail(f"export: exit {rc}: {err.strip()}")
    with open(out, "rb") as f:
        buf = f.read()
    fp, items = io.BytesIO(buf), []
    dec = cbor2.CBORDecoder(fp)
    while fp.tell() < len(buf):
        a = fp.tell()
        dec.decode()
        items.append(buf[a:fp.tell()])
    return [hashlib.sha256(b"\x00" + e).hexdigest() for e in items[1:-1]]


def main():
    rc, out, _ = rx("verify")
    setup = int(re.match(r"ok: (\d+) entries", out).group(1))
    smith, lee = kid("msmith"), kid("alee")
    ws = {name: Writer(name, N) for name in ("jroe", "bob", "alee", "msmith")}
    fns = {"jroe": (w_jroe,), "bob": (w_bob,), "alee": (w_alee, smith, lee),
           "msmith": (w_msmith,)}
    t0 = time.monotonic()
    writers = [threading.Thread(target=guarded, args=(fns[n][0], ws[n], *fns[n][1:]))
               for n in ws]
    readers = [threading.Thread(target=guarded, args=(reader, k))
               for k in ("verify", "audit", "log")]
    for t in writers + readers:
        t.start()
    for t in writers:
        t.join()
    t_write = time.monotonic() - t0
    done.set()
    for t in readers:
        t.join()
    if failures:
        raise Fail(failures[0])

    # every acknowledged entry once, nothing else
    total = setup + 4 * N
    acks = sorted((a for w in ws.values() for a in w.acks), key=lambda a: a[0])
    single = {s for s, _ in acks}
    if len(single) != len(acks):
        raise Fail("two appends acknowledged the same seq")
    batch_seqs, split = [], 0
    for a, b in ws["bob"].batches:
        if b != a + 9:
            raise Fail(f"a batch of 10 printed seq {a}..{b}")
        mine, s = [], a
        while len(mine) < 10 and s < total:
            if s not in single:
                mine.append(s)
            s += 1
        split += mine[-1] != b
        batch_seqs += mine
        acks += [(s, None) for s in mine]
        single.update(mine)
    for w in ws.values():
        n = len(w.acks) + 10 * len(w.batches)
        if n != N:
            raise Fail(f"{w.name}: {n} appends acknowledged, not {N}")
    if sorted(single) != list(range(setup, total)) or len(acks) != 4 * N:
        raise Fail("the acknowledged seqs are not exactly the new entries, once each")
    rc, out, err = rx("verify")
    if rc != 0 or not out.startswith(f"ok: {total} entries, head "):
        raise Fail(f"final verify: exit {rc}: {(out + err).strip()}")
    stored = stored_hashes()
    if len(stored) != total:
        raise Fail(f"the export holds {len(stored)} entries, not {total}")
    for s, h in acks:
        if h is not None and stored[s] != h:
            raise Fail(f"entry {s} is not the one acknowledged")
    rc, out, err = rx("log")
    lines = out.splitlines()
    for s in batch_seqs:
        if "Writer bob" not in lines[s]:
            raise Fail(f"entry {s}, of a batch of bob's, is: {lines[s]}")
    texts = {}
    for ln in lines:
        m = re.search(r"  authored +(.*)$", ln)
        if m:
            texts[m.group(1)] = texts.get(m.group(1), 0) + 1
    for w in ws.values():
        for t in w.texts:
            if texts.get(t) != 1:
                raise Fail(f"'{t}' is in the log {texts.get(t, 0)} times")
    rc, out, err = rx("audit", "--format", "json")
    doc = json.loads(out) if rc in (0, 3) else None
    if rc != 0 or doc["findings"]:
        raise Fail(f"final audit: exit {rc}: {(out + err)[:1500]}")

    # what the readers saw: whole prefixes, in order
    last = 0
    for n, head in seen["verify"]:
        if n < last or n < setup or n > total or stored[n - 1] != head:
            raise Fail(f"a verify saw {n} entries with head {head}: not a prefix of the chain")
        last = n
    for k, h in seen["show"]:
        if stored[k] != h:
            raise Fail(f"show {k} printed hash {h}, the entry stored is {stored[k]}")
    open_at = {s: d for s, d in ws["alee"].sessions}
    with_findings = 0
    for doc in seen["audit"]:
        n = doc["summary"]["entries"]
        sess = {f["session"] for f in doc["findings"]}
        for f in doc["findings"]:
            s = f["session"]
            if s not in open_at or open_at[s] < n:
                raise Fail(f"an audit of {n} entries found {f['rule']} {f['severity']} for "
                           f"session {s}, discharged at {open_at.get(s)}: {f['message']}")
        if len(sess) > 1:
            raise Fail(f"an audit of {n} entries found sessions {sorted(sess)} in progress")
        with_findings += bool(sess)
    runs = sum(w.runs for w in ws.values())
    print(f"4 writers x {N} appends ({runs} processes, {len(ws['alee'].sessions)} sessions, "
          f"{len(ws['bob'].batches)} batches, {split} split by other writers): "
          f"{4 * N} entries + {setup} setup, each acknowledged once; "
          f"{sum(counts.values())} reader runs ({counts['verify']} verify, {counts['audit']} "
          f"audit ({with_findings} saw a session in progress), {counts['log']} log, "
          f"{counts['show']} show); writers {t_write:.1f} s")


if __name__ == "__main__":
    try:
        main()
    except Fail as e:
        print(f"FAIL: {e}")
        sys.exit(1)
