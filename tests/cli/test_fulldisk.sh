#!/usr/bin/env bash
# A full disk: appends fail cleanly with one clear line, every acknowledged
# entry survives, verify stays green. Runs on a 512 KiB tmpfs (as root, or
# inside a user+mount namespace otherwise).
set -euo pipefail
: "${RXLEDGER:?}"

if [ "${RX_IN_NS:-}" != 1 ]; then
    if [ "$(id -u)" = 0 ]; then
        exec env RX_IN_NS=1 unshare -m bash "$0"
    fi
    if unshare -rm true 2>/dev/null; then
        exec env RX_IN_NS=1 unshare -rm bash "$0"
    fi
    echo "skipped: cannot mount a small file system here (no root, no user namespaces)"
    exit 0
fi

work=$(mktemp -d)
trap 'umount "$work/disk" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/disk"
mount -t tmpfs -o size=512k tmpfs "$work/disk"
export RXLEDGER_PASSPHRASE=full-disk-pass
cd "$work"
"$RXLEDGER" key new --out site.key --name "Juniper Clinic" --kdf-cost 10 >/dev/null
"$RXLEDGER" key new --out ph.key --name "Pat Doe, PharmD" --kdf-cost 10 >/dev/null
L=disk/ledger
"$RXLEDGER" -l $L init --site-name "Juniper Clinic" --dea BJ6125341 --key site.key >/dev/null
"$RXLEDGER" -l $L key enroll --pub ph.pub --role pharmacist --license RPH-1 --key site.key >/dev/null

text=$(head -c 3000 /dev/zero | tr '\0' 'x')
ok=0 failed=0
for i in $(seq 1 600); do
    if out=$("$RXLEDGER" -l $L note --text "$i $text" --key ph.key 2>err); then
        ok=$((ok + 1))
        grep -q "^appended seq $((ok + 1)) " <<<"$out" || { echo "FAIL: wrong seq: $out"; exit 1; }
    else
        rc=$?
        failed=1
        break
    fi
done
[ "$failed" = 1 ] || { echo "FAIL: the 512 KiB disk never filled"; exit 1; }
[ "$rc" = 1 ] || { echo "FAIL: exit $rc on a full disk, wanted 1"; exit 1; }
[ "$(wc -l < err)" = 1 ] || { echo "FAIL: more than one line on stderr:"; cat err; exit 1; }
grep -q "^rxledger: .*disk full\|^rxledger: .*No space left" err || { echo "FAIL: unclear message:"; cat err; exit 1; }
echo "disk filled after $ok notes: $(cat err)"

# Everything acknowledged is there, byte for byte chained; nothing half-written.
out=$("$RXLEDGER" -l $L verify)
[ "$out" = "ok: $((ok + 2)) entries, head $(echo "$out" | awk '{print $5}')" ] || { echo "FAIL: $out"; exit 1; }
n=$("$RXLEDGER" -l $L log | grep -c " note ")
[ "$n" = "$ok" ] || { echo "FAIL: $n notes in the log, $ok acknowledged"; exit 1; }

# A further attempt fails the same way and changes nothing committed. (LMDB
# may have written into free pages before the write failed; the committed
# tree, and so every entry and the head, is what must not change.)
# The verified head hash chains every entry, so equal heads mean equal entries.
before=$("$RXLEDGER" -l $L verify)
if "$RXLEDGER" -l $L note --text "$text" --key ph.key 2>/dev/null; then
    echo "FAIL: an append succeeded on a full disk without space freed"; exit 1
fi
after=$("$RXLEDGER" -l $L verify)
[ "$before" = "$after" ] || { echo "FAIL: a failed append changed committed entries"; exit 1; }
echo "5 passed, 0 failed"
