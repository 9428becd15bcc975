#!/usr/bin/env bash
# Passphrases typed at a terminal: asked twice for a new key (not echoed),
# a mismatch refused, and the same key then unlocked at the prompt.
set -euo pipefail
: "${RXLEDGER:?}"
drive=$(cd "$(dirname "$0")" && pwd)/tty_drive.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
unset RXLEDGER_PASSPHRASE
pass=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; exit 1; }

out=$(/usr/bin/python3 "$drive" "new passphrase:=typed secret 1" "repeat passphrase:=typed secret 2" \
    -- "$RXLEDGER" key new --out a.key --name "A" --kdf-cost 10) && fail "mismatch accepted"
grep -q "passphrases do not match" <<<"$out" || fail "no mismatch message: $out"; ok
[ ! -e a.key ] || fail "a key was written after a mismatch"; ok

out=$(/usr/bin/python3 "$drive" "new passphrase:=typed secret 1" "repeat passphrase:=typed secret 1" \
    -- "$RXLEDGER" key new --out a.key --name "A" --kdf-cost 10) || fail "key new: $out"
grep -q "typed secret" <<<"$out" && fail "the passphrase was echoed"; ok
[ -f a.key ] && [ -f a.pub ] || fail "key files missing"; ok

out=$(/usr/bin/python3 "$drive" "passphrase for a.key:=typed secret 1" \
    -- "$RXLEDGER" -l clinic init --site-name "Tty Clinic" --dea BJ6125341 --key a.key) ||
    fail "init with a typed passphrase: $out"; ok
out=$(/usr/bin/python3 "$drive" "passphrase for a.key:=wrong secret" \
    -- "$RXLEDGER" -l clinic note --text x --key a.key) && fail "wrong passphrase accepted"
grep -q "wrong passphrase" <<<"$out" || fail "no wrong-passphrase message: $out"; ok

# verify-export shows its progress on a terminal, and nothing when stderr is not one.
export RXLEDGER_PASSPHRASE="typed secret 1"
for i in 1 2 3; do "$RXLEDGER" -l clinic note --text "n$i" --key a.key >/dev/null; done
"$RXLEDGER" -l clinic export --key a.key --out e.cbor >/dev/null || fail "export"
fpr=$("$RXLEDGER" key fingerprint a.pub | awk '/^fingerprint/ {print $2}')
out=$(/usr/bin/python3 "$drive" -- "$RXLEDGER" verify-export e.cbor --site-key "$fpr") ||
    fail "verify-export on a terminal: $out"
grep -q "verifying export 4/4 entries" <<<"$out" || fail "no progress on a terminal: $out"; ok
"$RXLEDGER" verify-export e.cbor --site-key "$fpr" >/dev/null 2>err || fail "verify-export"
[ ! -s err ] || fail "progress written to a non-terminal"; ok
unset RXLEDGER_PASSPHRASE

# No terminal and no other source: a clear error, not a hang.
out=$(setsid "$RXLEDGER" -l clinic note --text x --key a.key 2>&1 </dev/null) && fail "no passphrase accepted"
grep -q "no passphrase" <<<"$out" || fail "unclear: $out"; ok
echo "$pass passed, 0 failed"
