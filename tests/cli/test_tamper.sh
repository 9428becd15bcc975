#!/usr/bin/env bash
# The tamper matrix: each kind of damage, planted with rxl-tamper in a fresh
# copy of one ledger, must make 'verify' exit 3 and name the right entry.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- one ledger -----------------------------------------------------------------
#  0 genesis (site)          4 note by the nurse
#  1 enroll pharmacist       5 note by the pharmacist
#  2 enroll nurse            6 revoke the nurse
#  3 note by the pharmacist
newkey site "Juniper Clinic"
newkey jroe "Jane Roe, PharmD"
newkey nurse "Ned Nurse, RN"
newkey eve "Eve Outsider" # never enrolled

rx_ok "init" -l base init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll pharmacist" -l base key enroll --pub jroe.pub --role pharmacist --license RPH-1 \
    --key site.key
rx_ok "enroll nurse" -l base key enroll --pub nurse.pub --role nurse --license RN-7 --key site.key
rx_ok "note 3" -l base note --text "pharmacist note three" --key jroe.key
rx_ok "note 4" -l base note --text "nurse note four" --key nurse.key
rx_ok "note 5" -l base note --text "pharmacist note five" --key jroe.key
NURSE_KID=$(field "$("$RXLEDGER" key fingerprint nurse.pub)" kid)
rx_ok "revoke nurse" -l base key revoke "${NURSE_KID:0:8}" --reason "left the clinic" --key site.key
expect_eq "$OUT" "revoked $NURSE_KID at seq 6" "revoke output"
rx_ok "verify base" -l base verify
expect_match "$OUT" '^ok: 7 entries, head [0-9a-f]{64}$' "base ledger verifies with 7 entries"
BASE_SUM=$(sum base/data.mdb)

# A second, independent ledger with the same site key and the same pharmacist:
# its entry 3 is a validly signed note by an enrolled key, but of another chain.
rx_ok "init other" -l other init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "other enroll" -l other key enroll --pub jroe.pub --role pharmacist --license RPH-1 --key site.key
rx_ok "other enroll nurse" -l other key enroll --pub nurse.pub --role nurse --license RN-7 --key site.key
rx_ok "other note 3" -l other note --text "a note from another ledger" --key jroe.key
"$RXLEDGER" -l other show 3 --raw >other3.cbor
[ -s other3.cbor ] || fail "show --raw wrote nothing"
pass

# tampered NAME TAMPER-ARGS...: copy base to NAME and plant the damage.
tampered() {
    local name=$1
    shift
    rm -rf "$name"
    cp -r base "$name"
    run "$TAMPER" "$name" "$@"
    [ "$RC" -eq 0 ] || fail "rxl-tamper $name $*: exit $RC"
    pass
}

# expect_fail DIR SEQ DESC [ERE]: verify exits 3, its stdout is a single
# "FAIL: entry SEQ: ..." line (matching ERE, if given).
expect_fail() {
    rx -l "$1" verify
    [ "$RC" -eq 3 ] || fail "$3: verify exit $RC, expected 3"
    pass
    expect_lines "$OUT" 1 "$3: verify prints one line"
    expect_match "$OUT" "^FAIL: entry $2: " "$3: names entry $2"
    if [ $# -ge 4 ]; then
        expect_match "$OUT" "$4" "$3: reason"
    fi
}

# --- the matrix ------------------------------------------------------------------
tampered t_hdr flip 3 hdr
expect_fail t_hdr 3 "one byte flipped in entry 3's protected header"

tampered t_payload flip 3 payload
expect_fail t_payload 3 "one byte flipped in entry 3's payload"

tampered t_sig flip 3 sig
expect_fail t_sig 3 "one byte flipped in entry 3's signature"

tampered t_del_mid delete 3
expect_fail t_del_mid 3 "entry 3 deleted"

tampered t_del_last delete 6
expect_fail t_del_last 6 "last entry (6) deleted"

tampered t_swap swap 3 4
expect_fail t_swap 3 "entries 3 and 4 swapped"

tampered t_foreign put 3 "$T/other3.cbor"
expect_fail t_foreign 3 "entry 3 replaced by a validly signed entry from another ledger"

# A fork of this very ledger: the replacement has the right seq, the right prev
# and a valid signature by an enrolled key; only the head gives it away.
rm -rf t_fork_a t_fork_b
cp -r base t_fork_a
cp -r base t_fork_b
rx_ok "fork a note 7" -l t_fork_a note --text "fork a" --key jroe.key
rx_ok "fork b note 7" -l t_fork_b note --text "fork b" --key jroe.key
"$RXLEDGER" -l t_fork_b show 7 --raw >fork7.cbor
run "$TAMPER" t_fork_a put 7 "$T/fork7.cbor"
expect_rc 0 "rxl-tamper put fork entry"
expect_fail t_fork_a 7 "last entry replaced by the same seq from a fork"

tampered t_revoked forge nurse.key "signed after revocation"
expect_match "$OUT" '^forged seq 7$' "forge appended seq 7"
expect_fail t_revoked 7 "revoked key signing after its revocation" '[Rr]evoked'

tampered t_stranger forge eve.key "signed by a stranger"
expect_match "$OUT" '^forged seq 7$' "forge appended seq 7"
expect_fail t_stranger 7 "key never enrolled" '[Ee]nrol'

# --- a planted entry carrying terminal escapes is shown escaped ---------------------
tampered t_escape forge jroe.key "$(printf 'a\033[2Jb\302\233c')"
rx_ok "verify a validly signed planted note" -l t_escape verify
rx_ok "log of the planted note" -l t_escape log
expect_nomatch "$OUT" "$(printf '\033')" "log sends no raw ESC to the terminal"
expect_match "$OUT" 'a\\x1b\[2Jb\\u009bc' "log shows ESC and CSI escaped"
rx_ok "show of the planted note" -l t_escape show 7
expect_nomatch "$OUT" "$(printf '\302\233')" "show sends no raw CSI to the terminal"

# --- the original is untouched, and a plain copy still verifies --------------------
expect_eq "$(sum base/data.mdb)" "$BASE_SUM" "base ledger unchanged by the tampering of copies"
rm -rf t_clean
cp -r base t_clean
rx_ok "verify untampered copy" -l t_clean verify
expect_match "$OUT" '^ok: 7 entries, head [0-9a-f]{64}$' "untampered copy verifies"

finish
