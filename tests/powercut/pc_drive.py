#!/usr/bin/python3
"""Power-cut simulation: run a clinic's appends through pc_shim, then check
the disk as a power cut at many moments would have left it.

usage: pc_drive.py RXLEDGER WORKDIR STEPS CUTS IMAGES_PER_CUT SEED
Environment:
  PC_PRELOAD           LD_PRELOAD for the journaled commands (the shim, after
                       the ASan runtime in a sanitizer build)
  RXLEDGER_PASSPHRASE  the keys' passphrase
  PC_WRITE_EVERY       try an append on every Nth image (default 3)

1. Setup through the shim: init, three people, a patient (the identity
   store), then sync(2): the ledger has been on disk for a while.
2. STEPS random operations, each its own rxledger process run through the
   shim: notes, patient enrollments (identity store + chain), stock receipts,
   batches of notes in several transactions, patient forget (rename of the
   identity store's file), checkpoints, and groups of 2-3 processes appending
   at once. Each acknowledgement a command prints goes into the journal as a
   mark, right after the command's own records.
3. The live ledger is checked: verify, and every printed hash is the hash
   of the entry stored at its seq (read from an export: its entries are the
   stored bytes).
4. CUTS moments X are drawn from the journal after setup (the end always
   included); at each, IMAGES_PER_CUT disks are built (pc_replay.py, modes
   durable/all/writes/pages/sectors) and on each:
   - rxledger verify exits 0 ("ok: N entries"), N above every seq
     acknowledged before X;
   - every entry acknowledged before X is there byte for byte: the image is
     exported and each such entry's bytes hash to the live ledger's (the
     export is also a write to the recovered ledger: it stores a checkpoint);
   - every acknowledged patient's identifiers are in the identity store, an
     acknowledged forget has erased them (and no file of the disk holds the
     MRN or REMS id), a forget under way left both or neither;
   - every acknowledged checkpoint is listed;
   - on every PC_WRITE_EVERY-th disk, a new note appends at seq N and the
     ledger then verifies with N+1 entries.
Prints one summary line and exits 0, or prints each failure (with the
command that rebuilds its disk) and exits 1.
"""
import datetime
import hashlib
import io
import json
import os
import random
import re
import shutil
import subprocess
import sys
import threading
import time

import cbor2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pc_replay  # noqa: E402

RX, WORK = sys.argv[1], os.path.realpath(sys.argv[2])
STEPS, CUTS, PER_CUT, SEED = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
WRITE_EVERY = int(os.environ.get("PC_WRITE_EVERY", "3"))
PRELOAD = os.environ.get("PC_PRELOAD", "")
ROOT = WORK + "/clinic"
JOURNAL = WORK + "/journal.pcj"
IMG = WORK + "/img"
HEX64 = "[0-9a-f]{64}"
MODES = ("durable", "all", "writes", "pages", "sectors")
MODE_WEIGHTS = (1, 1, 2, 2, 3)
rng = random.Random(SEED)
today = datetime.datetime.now(datetime.timezone.utc).date()


def die(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def env(shim):
    e = dict(os.environ)
    e.pop("RXLEDGER_DIR", None)
    e.pop("LD_PRELOAD", None)
    if shim:
        e.update(LD_PRELOAD=PRELOAD, PC_JOURNAL=JOURNAL, PC_ROOT=ROOT)
    return e


def rx(args, ledger=ROOT, shim=False, stdin=None):
    cmd = [RX] + (["-l", ledger] if ledger else []) + args
    p = subprocess.run(cmd, input=stdin, capture_output=True, env=env(shim), timeout=300)
    return p.returncode, p.stdout, p.stderr


jlock = threading.Lock()
jfd = None


def mark(payload):
    """Into the journal, after the records of the command that printed it."""
    with jlock:
        os.write(jfd, pc_replay.mark_bytes(payload))


def journaled(args, stdin=None):
    """Run one command through the shim; it must succeed quietly."""
    rc, out, err = rx(args, shim=True, stdin=stdin)
    if rc != 0 or err:
        die(f"{' '.join(args[:2])}: exit {rc}: {err.decode(errors='replace')[:2000]}")
    return out.decode()


def ack_entries(out):
    """Mark every 'appended seq N HASH' line; return the seqs."""
    seqs = []
    for m in re.finditer(rf"^appended seq (\d+) ({HEX64})$", out, re.M):
        mark({"k": "entry", "seq": int(m.group(1)), "hash": m.group(2)})
        seqs.append(int(m.group(1)))
    if not seqs:
        die(f"no 'appended seq' line in: {out!r}")
    return seqs


# ---- the operations ---------------------------------------------------------------------
counter = [0]
enrolled = []  # MRNs acknowledged and not yet forgotten


def op_note():
    counter[0] += 1
    ack_entries(journaled(["note", "--text", f"power cut note {counter[0]}", "--key", "ph.key"]))


def op_enroll():
    counter[0] += 1
    mrn, rems = f"MRN-PC-{counter[0]:05d}", f"REMS-PC-{counter[0]:05d}"
    out = journaled(["patient", "enroll", "--patient", mrn, "--rems-patient-id", rems,
                     "--on", str(today - datetime.timedelta(days=1)), "--key", "md.key"])
    seq = ack_entries(out)[0]
    mark({"k": "patient", "seq": seq, "mrn": mrn, "rems": rems})
    enrolled.append(mrn)


def op_stock():
    counter[0] += 1
    ack_entries(journaled([
        "stock", "receive", "--ndc", "50458-028-02", "--lot", f"PC{counter[0]}", "--expires",
        str(today + datetime.timedelta(days=300)), "--containers", "2",
        "--units-per-container", "2", "--form", "28 mg nasal device", "--unit-mg", "28",
        "--substance", "esketamine", "--supplier", "McKesson Specialty", "--supplier-address",
        "1 Main St, Memphis TN", "--supplier-dea", "AP5836727", "--key", "ph.key"]))


def op_batch():
    n = rng.randint(3, 12)
    lines = []
    for _ in range(n):
        counter[0] += 1
        lines.append(json.dumps({"type": "note", "text": f"power cut batch line {counter[0]}"}))
    out = journaled(["batch", "--key", "ph.key", "--group", str(rng.randint(1, 4))],
                    stdin=("\n".join(lines) + "\n").encode())
    m = re.match(r"appended (\d+) entries \(seq (\d+)\.\.(\d+)\)", out)
    if not m or int(m.group(1)) != n:
        die(f"batch: {out!r}")
    mark({"k": "range", "a": int(m.group(2)), "b": int(m.group(3))})


def op_forget():
    if not enrolled:
        return op_note()
    mrn = enrolled.pop(rng.randrange(len(enrolled)))
    mark({"k": "forget-start", "mrn": mrn})
    out = journaled(["patient", "forget", mrn])
    if not re.match(rf"^erased patient ref {HEX64}$", out):
        die(f"patient forget: {out!r}")
    mark({"k": "forget", "mrn": mrn})


def op_checkpoint():
    out = journaled(["checkpoint", "--key", "site.key"])
    if not re.match(r"^checkpoint size \d+ ", out):
        die(f"checkpoint: {out!r}")
    mark({"k": "cp", "line": out.strip()})


def op_together():
    """2 or 3 processes at once; each marks its own acknowledgement as it ends."""
    ops = [rng.choice((op_note, op_note, op_stock, op_enroll)) for _ in range(rng.randint(2, 3))]
    errors = []

    def run(f):
        try:
            f()
        except SystemExit as e:  # die() in a thread
            errors.append(e)

    threads = [threading.Thread(target=run, args=(f,)) for f in ops]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        sys.exit(1)


OPS = ((op_note, 40), (op_enroll, 12), (op_stock, 8), (op_batch, 8), (op_forget, 7),
       (op_checkpoint, 6), (op_together, 19))


# ---- the checks on one disk -------------------------------------------------------------
class Acked:
    """What had been acknowledged before a moment X: entries (with the hash
    printed, or only their seq), patients, forgets, checkpoints."""

    def __init__(self, marks):
        self.seqs = set()
        self.printed = {}  # seq -> the entry hash the command printed
        self.patients = {}  # mrn -> rems
        self.forgotten, self.forgetting, self.cps = set(), set(), []
        for _, m in marks:
            k = m["k"]
            if k == "entry":
                self.printed[m["seq"]] = m["hash"]
                self.seqs.add(m["seq"])
            elif k == "seq":  # acknowledged, no hash printed (key enroll)
                self.seqs.add(m["seq"])
            elif k == "range":
                self.seqs.update(range(m["a"], m["b"] + 1))
            elif k == "patient":
                self.patients[m["mrn"]] = m["rems"]
            elif k == "forget-start":
                self.forgetting.add(m["mrn"])
            elif k == "forget":
                self.forgotten.add(m["mrn"])
            elif k == "cp":
                self.cps.append(m["line"])
        self.top = max(self.seqs)


def export(ledger, out):
    """Every entry's hash, in seq order, and the identities, from an export of
    @ledger (the entries in it are the stored bytes); or an error string."""
    rc, _, err = rx(["export", "--key", "site.key", "--out", out, "--include-identities"],
                    ledger=ledger)
    if rc != 0:
        return f"export: exit {rc}: {err.decode(errors='replace').strip()}"
    with open(out, "rb") as f:
        buf = f.read()
    fp = io.BytesIO(buf)
    dec = cbor2.CBORDecoder(fp)
    items = []
    while fp.tell() < len(buf):
        a = fp.tell()
        dec.decode()
        items.append(buf[a:fp.tell()])
    header = cbor2.loads(items[0])
    hashes = [hashlib.sha256(b"\x00" + e).hexdigest() for e in items[1:-1]]
    if header["from"] != 0 or header["count"] != len(hashes):
        return f"export: header says from {header['from']} count {header['count']}"
    ids = {(kind, ident) for _, _, kind, ident in header.get("identities", [])}
    return hashes, ids


def check_disk(ledger, ack, live, try_append):
    """Problems found on the disk at @ledger, as a list of strings, and how
    many acknowledged entries were compared byte for byte."""
    rc, out, err = rx(["verify"], ledger=ledger)
    m = re.match(rb"^ok: (\d+) entries, head [0-9a-f]{64}\n$", out)
    if rc != 0 or err or not m:
        return [f"verify: exit {rc}: {(out + err).decode(errors='replace').strip()[:1500]}"], 0
    n = int(m.group(1))
    if n <= ack.top:
        return [f"{n} entries, but seq {ack.top} had been acknowledged"], 0
    got = export(ledger, WORK + "/img.cbor")
    if isinstance(got, str):
        return [got], 0
    hashes, ids = got
    if len(hashes) != n:
        return [f"verify counts {n} entries, the export {len(hashes)}"], 0
    probs = [f"entry {s} is not the acknowledged one" for s in sorted(ack.seqs)
             if hashes[s] != live[s]]
    for mrn, rems in ack.patients.items():
        have = ("mrn", mrn) in ids, ("rems", rems) in ids
        if mrn in ack.forgotten:
            if any(have):
                probs.append(f"forget of {mrn} acknowledged, its identifiers are back")
        elif mrn in ack.forgetting:
            if have[0] != have[1]:
                probs.append(f"{mrn} half erased: {have}")
        elif not all(have):
            probs.append(f"acknowledged patient {mrn} lost its identifiers: {have}")
    if ack.forgotten:
        for dirpath, _, files in os.walk(ledger):
            for fn in files:
                with open(os.path.join(dirpath, fn), "rb") as f:
                    data = f.read()
                for mrn in ack.forgotten:
                    for ident in (mrn, ack.patients[mrn]):
                        if ident.encode() in data:
                            probs.append(f"erased {ident} still in {fn}")
    if ack.cps:
        rc, out, err = rx(["checkpoint", "--list"], ledger=ledger)
        listed = set(out.decode().splitlines())
        probs += [f"acknowledged checkpoint missing: {c}" for c in ack.cps if c not in listed]
    if try_append and not probs:
        rc, out, err = rx(["note", "--text", "after the power cut", "--key", "ph.key"],
                          ledger=ledger)
        if rc != 0 or not re.match(rb"^appended seq %d " % n, out):
            probs.append(f"append after the cut: exit {rc}: "
                         f"{(out + err).decode(errors='replace').strip()}")
        else:
            rc, out, err = rx(["verify"], ledger=ledger)
            if rc != 0 or not out.startswith(b"ok: %d entries" % (n + 1)):
                probs.append(f"verify after the append: exit {rc}: "
                             f"{(out + err).decode(errors='replace').strip()}")
    return probs, len(ack.seqs)


def main():
    global jfd
    t0 = time.monotonic()
    os.makedirs(WORK, exist_ok=True)
    os.chdir(WORK)
    open(JOURNAL, "wb").close()
    jfd = os.open(JOURNAL, os.O_WRONLY | os.O_APPEND)
    for k, name in (("site", "Power Cut Clinic"), ("ph", "Pat Pharm"), ("md", "Mo Doc")):
        rc, out, err = rx(["key", "new", "--out", f"{k}.key", "--name", name, "--kdf-cost", "10"],
                          ledger=None)
        if rc != 0:
            die(f"key new: {err.decode()}")

    # 1. setup, journaled too: the model starts from an empty directory
    out = journaled(["init", "--site-name", "Power Cut Clinic", "--dea", "BJ6125341",
                     "--key", "site.key"])
    mark({"k": "entry", "seq": 0, "hash": re.search(rf"genesis ({HEX64})", out).group(1)})
    for k, role in (("ph", "pharmacist"), ("md", "prescriber")):
        out = journaled(["key", "enroll", "--pub", f"{k}.pub", "--role", role, "--license",
                         f"{k.upper()}-1", "--key", "site.key"])
        mark({"k": "seq", "seq": int(re.search(r" at seq (\d+)$", out, re.M).group(1))})
    op_enroll()
    op_note()
    os.sync()
    os.write(jfd, pc_replay.gsync_bytes())
    mark({"k": "setup-done"})

    # 2. the workload
    fns, weights = zip(*OPS)
    for _ in range(STEPS):
        rng.choices(fns, weights)[0]()
    t_work = time.monotonic() - t0

    # 3. the live ledger: everything acknowledged, byte for byte
    recs = pc_replay.read_journal(JOURNAL)
    marks = [(0, json.loads(r.path)) for r in recs if r.type == pc_replay.MARK]
    rc, out, err = rx(["verify"])
    m = re.match(rb"^ok: (\d+) entries", out)
    if rc != 0 or not m:
        die(f"verify of the live ledger: {(out + err).decode()}")
    entries = int(m.group(1))
    got = export(ROOT, WORK + "/live.cbor")
    if isinstance(got, str):
        die(f"live ledger: {got}")
    live, _ = got
    final = Acked(marks)
    if len(live) != entries or final.top != entries - 1:
        die(f"live ledger: {entries} entries, last acknowledged seq {final.top}")
    for seq, h in sorted(final.printed.items()):
        if live[seq] != h:
            die(f"live ledger: entry {seq} is not the acknowledged one")

    # 4. the power cuts
    start = next(i for i, r in enumerate(recs) if r.type == pc_replay.GSYNC)
    span = list(range(start + 1, len(recs)))
    cuts = set(rng.sample(span, min(CUTS - 1, len(span)))) | {len(recs)}
    stats = {"images": 0, "acks": 0, "appends": 0, "unsynced": 0, "modes": {}}
    failures = []

    def on_cut(x, disk):
        ack = Acked(disk.marks)
        for k in range(PER_CUT):
            seed = f"{SEED}:{x}:{k}"
            r = random.Random(seed)
            mode = r.choices(MODES, MODE_WEIGHTS)[0]
            shutil.rmtree(IMG, ignore_errors=True)
            info = disk.image(IMG, mode, r)
            stats["images"] += 1
            stats["modes"][mode] = stats["modes"].get(mode, 0) + 1
            stats["unsynced"] += info["unsynced_writes"] > 0
            try_append = stats["images"] % WRITE_EVERY == 0
            stats["appends"] += try_append
            probs, compared = check_disk(IMG + ROOT, ack, live, try_append)
            stats["acks"] += compared
            if probs:
                keep = f"{WORK}/failed-{x}-{k}"
                shutil.rmtree(keep, ignore_errors=True)
                shutil.copytree(IMG, keep)
                failures.append(
                    f"cut {x} of {len(recs)}, image {k}, mode {mode} ({info}): "
                    + "; ".join(probs)
                    + f"\n  rebuild: {sys.executable} {pc_replay.__file__} image {JOURNAL} "
                    f"{x} {mode} '{seed}' DIR")

    pc_replay.replay(recs, cuts, on_cut)
    shutil.rmtree(IMG, ignore_errors=True)
    t_all = time.monotonic() - t0
    for f in failures:
        print(f"FAIL: {f}")
    modes = ", ".join(f"{k} {v}" for k, v in sorted(stats["modes"].items()))
    print(f"{len(cuts)} cut points, {stats['images']} images ({modes}; "
          f"{stats['unsynced']} with unsynced writes), {stats['acks']} acknowledged appends "
          f"checked, {stats['appends']} appends after a cut, {entries} entries, "
          f"{len(recs)} journal records, {STEPS} steps; "
          f"workload {t_work:.1f} s, all {t_all:.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
