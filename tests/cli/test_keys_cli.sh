#!/usr/bin/env bash
# 'rxledger key new | pub | fingerprint' on their own (no ledger needed).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FP_RE='^fingerprint +([0-9a-f]{4}:){15}[0-9a-f]{4}$'

# --- key new --------------------------------------------------------------------
rx key new --out jroe.key --name "Jane Roe, PharmD" "${KDF[@]}"
ok "key new"
[ -f jroe.key ] && [ -f jroe.pub ] || fail "key new did not write jroe.key and jroe.pub"
pass
expect_eq "$(stat -c %a jroe.key)" 600 "the private key file has mode 600"
expect_match "$OUT" '^kid +[0-9a-f]{32}$' "key new prints the kid"
expect_match "$OUT" "$FP_RE" "key new prints the fingerprint"
NEW_FP=$(field "$OUT" fingerprint)

(umask 000 && "$RXLEDGER" key new --out open.key --name "Umask Zero" "${KDF[@]}" >/dev/null 2>&1) ||
    fail "key new under umask 000"
expect_eq "$(stat -c %a open.key)" 600 "the private key is mode 600 even under umask 000"

# Contents: an encrypted PKCS#8 PEM, never a clear one; the .pub is a public key.
KEYTXT=$(cat jroe.key)
expect_match "$KEYTXT" '^-----BEGIN ENCRYPTED PRIVATE KEY-----$' "key file is ENCRYPTED PRIVATE KEY"
expect_nomatch "$KEYTXT" 'BEGIN PRIVATE KEY' "key file has no clear PRIVATE KEY"
expect_match "$(cat jroe.pub)" '^-----BEGIN PUBLIC KEY-----$' ".pub holds a PUBLIC KEY"
expect_nomatch "$(cat jroe.pub)" 'PRIVATE' ".pub holds nothing private"

# --pub puts the public key elsewhere.
rx_ok "key new --pub" key new --out other.key --pub elsewhere.pub --name "Other Person" "${KDF[@]}"
[ -f elsewhere.pub ] && [ ! -e other.pub ] || fail "--pub did not choose the public key path"
pass

# --- refusing to overwrite ----------------------------------------------------------
KEY_SUM=$(sum jroe.key)
PUB_SUM=$(sum jroe.pub)
rx key new --out jroe.key --name "Somebody Else" "${KDF[@]}"
[ "$RC" -ne 0 ] || fail "key new over an existing key succeeded"
pass
expect_err_line "key new over an existing key"
expect_eq "$(sum jroe.key)" "$KEY_SUM" "existing .key unchanged"
expect_eq "$(sum jroe.pub)" "$PUB_SUM" "existing .pub unchanged"

echo "keep me" >taken.pub
rx key new --out taken.key --name "Somebody Else" "${KDF[@]}"
[ "$RC" -ne 0 ] || fail "key new over an existing .pub succeeded"
pass
expect_eq "$(cat taken.pub)" "keep me" "existing .pub untouched"
[ ! -e taken.key ] || fail "a refused key new left taken.key behind"
pass

# --- passphrase rules ---------------------------------------------------------------
RXLEDGER_PASSPHRASE=1234567 rx key new --out short.key --name "Short Pass" "${KDF[@]}"
expect_rc 2 "a 7-character passphrase is refused"
expect_err_line "a 7-character passphrase"
[ ! -e short.key ] && [ ! -e short.pub ] || fail "a refused key new left files behind"
pass
run env -u RXLEDGER_PASSPHRASE "$RXLEDGER" key new --out nopass.key --name "No Pass" "${KDF[@]}"
expect_rc 1 "key new with no passphrase source"
[ ! -e nopass.key ] || fail "key new with no passphrase left nopass.key behind"
pass

rx key new --out cheap.key --name "Cheap" --kdf-cost 9
expect_rc 2 "--kdf-cost 9 is refused"
rx key new --out dear.key --name "Dear" --kdf-cost 21
expect_rc 2 "--kdf-cost 21 is refused"
rx key new --out noname.key "${KDF[@]}"
expect_rc 2 "key new without --name"

# --- key pub ----------------------------------------------------------------------
rx_ok "key pub .pub" key pub jroe.pub
PUB_OF_PUB=$OUT
expect_match "$OUT" '^-----BEGIN PUBLIC KEY-----$' "key pub prints a PEM public key"
rx_ok "key pub .key" key pub jroe.key
expect_eq "$OUT" "$PUB_OF_PUB" "key pub of the .key and of the .pub agree"
run env -u RXLEDGER_PASSPHRASE "$RXLEDGER" key pub jroe.key
expect_rc 1 "key pub of a .key needs the passphrase"
expect_err_line "key pub of a .key with no passphrase"
RXLEDGER_PASSPHRASE="not the passphrase" rx key pub jroe.key
expect_rc 1 "key pub of a .key with the wrong passphrase"
printf '%s\n' "$RXLEDGER_PASSPHRASE" >pass.txt
chmod 600 pass.txt
run env -u RXLEDGER_PASSPHRASE "$RXLEDGER" key pub jroe.key --passphrase-file pass.txt
ok "key pub of a .key with --passphrase-file"
expect_eq "$OUT" "$PUB_OF_PUB" "key pub with --passphrase-file agrees"

# --- key fingerprint --------------------------------------------------------------
rx_ok "key fingerprint .pub" key fingerprint jroe.pub
FP_OUT=$OUT
expect_match "$OUT" "$FP_RE" "fingerprint is 16 groups of 4 hex digits"
expect_match "$OUT" '^kid +[0-9a-f]{32}$' "key fingerprint prints the kid"
expect_eq "$(field "$OUT" fingerprint)" "$NEW_FP" "fingerprint = the one key new printed"
rx_ok "key fingerprint .key" key fingerprint jroe.key
expect_eq "$OUT" "$FP_OUT" "fingerprint of the .key and of the .pub agree"
printf '%s\n' "$PUB_OF_PUB" >copy.pub
rx_ok "key fingerprint of key pub's output" key fingerprint copy.pub
expect_eq "$OUT" "$FP_OUT" "key pub output re-read gives the same fingerprint"
rx_ok "key fingerprint other" key fingerprint elsewhere.pub
expect_ne "$(field "$OUT" fingerprint)" "$NEW_FP" "two keys have different fingerprints"

rx key fingerprint no-such.pub
expect_rc 1 "key fingerprint of a missing file"
expect_err_line "key fingerprint of a missing file"
echo "not a key" >junk.pub
rx key fingerprint junk.pub
expect_rc 1 "key fingerprint of a junk file"
expect_err_line "key fingerprint of a junk file"

finish
