#!/usr/bin/env bash
# Checkpoints from the command line, checked by an independent verifier
# (tests/interop/check_checkpoint.py: python3-cbor2 and cryptography).
set -euo pipefail
: "${RXLEDGER:?}" "${RX_SRC:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export RXLEDGER_PASSPHRASE="checkpoint passphrase" RXLEDGER_DIR=./clinic
pass=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; echo "$pass passed, 1 failed"; exit 1; }
rx() { "$RXLEDGER" "$@"; }

rx key new --out site.key --name "Check Clinic" --kdf-cost 10 >/dev/null
rx key new --out ph.key --name "Pat Pharm" --kdf-cost 10 >/dev/null
rx init --site-name "Check Clinic" --dea BJ6125341 --key site.key >/dev/null
rx key enroll --pub ph.pub --role pharmacist --license RPH-1 --key site.key >/dev/null
for i in $(seq 1 11); do rx note --text "note $i" --key ph.key >/dev/null; done

out=$(rx checkpoint --key site.key --out cp.cbor) || fail "checkpoint"; ok
grep -Eq "^checkpoint size 13 time [0-9T:.Z-]+ root [0-9a-f]{64} head [0-9a-f]{64}$" <<<"$out" ||
    fail "checkpoint output: $out"; ok
head=$(rx verify | awk '{print $5}')
[ "${out##* }" = "$head" ] || fail "the checkpoint's head is verify's head"; ok
fpr=$(rx key fingerprint site.pub | awk '/^fingerprint/ {print $2}')
for i in $(seq 0 12); do rx show "$i" --raw > "e$i.cbor"; done
/usr/bin/python3 "$RX_SRC/tests/interop/check_checkpoint.py" cp.cbor site.pub "$fpr" \
    $(for i in $(seq 0 12); do echo "e$i.cbor"; done) || fail "independent check"; ok
# the independent check refuses a wrong fingerprint, a flipped byte, a short chain
rx key new --out other.key --name "Other" --kdf-cost 10 >/dev/null
ofpr=$(rx key fingerprint other.pub | awk '/^fingerprint/ {print $2}')
/usr/bin/python3 "$RX_SRC/tests/interop/check_checkpoint.py" cp.cbor site.pub "$ofpr" \
    $(for i in $(seq 0 12); do echo "e$i.cbor"; done) >/dev/null 2>&1 && fail "wrong fingerprint accepted"; ok
cp cp.cbor bad.cbor
printf '\x01' | dd of=bad.cbor bs=1 seek=60 conv=notrunc 2>/dev/null
/usr/bin/python3 "$RX_SRC/tests/interop/check_checkpoint.py" bad.cbor site.pub "$fpr" \
    $(for i in $(seq 0 12); do echo "e$i.cbor"; done) >/dev/null 2>&1 && fail "altered checkpoint accepted"; ok
/usr/bin/python3 "$RX_SRC/tests/interop/check_checkpoint.py" cp.cbor site.pub "$fpr" \
    $(for i in $(seq 0 11); do echo "e$i.cbor"; done) >/dev/null 2>&1 && fail "truncated chain accepted"; ok

# nothing was appended; a later checkpoint is listed after the first
[ "$(rx verify | awk '{print $2}')" = 13 ] || fail "a checkpoint appends nothing"; ok
rx note --text "later" --key ph.key >/dev/null
rx checkpoint --key site.key >/dev/null || fail "second checkpoint"; ok
[ "$(rx checkpoint --list | awk '{print $3}' | tr '\n' ' ')" = "13 14 " ] || fail "--list"; ok
set +e
rx checkpoint --key ph.key 2>err; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "only the site key" err || fail "a pharmacist cannot sign checkpoints"; ok
set +e
rx checkpoint 2>err; rc=$?
set -e
[ "$rc" = 2 ] || fail "checkpoint without --key or --list is a usage error"; ok
rx verify >/dev/null || fail "verify with checkpoints stored"; ok
echo "$pass passed, 0 failed"
