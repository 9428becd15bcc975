#!/usr/bin/python3
"""Kill appenders with SIGKILL at random moments; after each kill the ledger
must verify and every append that reported success must be present, byte
for byte (its entry hash is the one it printed).

usage: crash_drive.py RXLEDGER LEDGER_DIR KEY KILLS [SEED]
Environment: RXLEDGER_PASSPHRASE for KEY.
Prints 'N kills, M acknowledged appends checked, E entries' and exits 0, or
'FAIL: ...' and exits 1.
"""
import hashlib
import os
import random
import re
import signal
import subprocess
import sys
import time

rx, ledger, key, kills = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
rng = random.Random(int(sys.argv[5]) if len(sys.argv) > 5 else 7)
acked = {}  # seq -> entry hash hex, for every append that printed its line


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def run(*args):
    return subprocess.run([rx, "-l", ledger, *args], capture_output=True, timeout=120)


def note(i):
    return subprocess.Popen([rx, "-l", ledger, "note", "--text", f"crash test {i}", "--key", key],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def collect(p):
    out, _ = p.communicate()
    if p.returncode == 0:
        m = re.match(rb"appended seq (\d+) ([0-9a-f]{64})", out)
        if not m:
            fail(f"an append exited 0 without its line: {out!r}")
        acked[int(m.group(1))] = m.group(2).decode()


# How long one append takes here, to aim the kills inside appends.
t0 = time.monotonic()
collect(note(-1))
span = max(time.monotonic() - t0, 0.005)

n = 0
for k in range(kills):
    # a few appends run to completion, then one is killed at a random moment of its life
    for _ in range(rng.randint(0, 2)):
        collect(note(n))
        n += 1
    p = note(n)
    n += 1
    time.sleep(rng.uniform(0, span * 1.2))
    try:
        p.send_signal(signal.SIGKILL)
    except ProcessLookupError:
        pass
    collect(p)  # it may have finished first: then its line counts as acknowledged
    v = run("verify")
    if v.returncode != 0:
        fail(f"verify after kill {k + 1}: {v.stdout.decode().strip()} {v.stderr.decode().strip()}")
    m = re.match(rb"ok: (\d+) entries", v.stdout)
    entries = int(m.group(1))
    for seq, h in acked.items():
        if seq >= entries:
            fail(f"acknowledged entry {seq} is gone after kill {k + 1} ({entries} entries)")

# byte for byte: every acknowledged entry's stored bytes hash to what was printed
for seq, h in sorted(acked.items()):
    s = run("show", str(seq), "--raw")
    if s.returncode != 0:
        fail(f"show {seq}: {s.stderr.decode().strip()}")
    if hashlib.sha256(b"\x00" + s.stdout).hexdigest() != h:
        fail(f"entry {seq} is not the one acknowledged")
print(f"{kills} kills, {len(acked)} acknowledged appends checked, {entries} entries")
