#!/usr/bin/env bash
# Key misuse end to end: an entry signed by a revoked key, by a key not yet
# valid, by a key never enrolled, by the right key over another payload, by a
# nurse acting as pharmacist, by an admin acting as the site, and a nurse
# witnessing her own waste. Each is refused by the command that would record it,
# the ledger unchanged; then planted with rxl-forge (re-chained and re-signed,
# Merkle tree, head, key and index records consistent: the misuse is the only
# defect) it is caught by 'verify' (exit 3, the entry named), by 'audit' (the
# rule of DOMAIN.md: KEY-ROLE, CHAIN for a signature, WASTE-WITNESS), and in an
# export of that ledger by 'verify-export' and 'audit --export'.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# rxl-forge is built beside rxl-tamper (tests/tools)
FORGE=${FORGE:-$(dirname "$TAMPER")/rxl-forge}
[ -x "$FORGE" ] || fail "no rxl-forge at $FORGE"

day() { date -u -d "@$(($(date +%s) + $1 * 86400))" +%Y-%m-%d; }

# --- one ledger -----------------------------------------------------------------
#  0 genesis (site)                     5 enroll lou, nurse, valid from tomorrow
#  1 enroll jroe, pharmacist            6 registration (site)
#  2 enroll alee, nurse                 7 stock receive (jroe)
#  3 enroll ada, admin                  8 note (jroe)
#  4 enroll rex, pharmacist             9 revoke rex
newkey site "Juniper Clinic"
newkey jroe "Jane Roe, PharmD"
newkey alee "Ann Lee, RN"
newkey ada "Ada Admin"
newkey rex "Rex Gone, PharmD"
newkey lou "Lou Late, RN"
newkey eve "Eve Outsider" # never enrolled
L=base
rx_ok "init" -l $L init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll jroe" -l $L key enroll --pub jroe.pub --role pharmacist --license RPH-1 --key site.key
rx_ok "enroll alee" -l $L key enroll --pub alee.pub --role nurse --license RN-7 --key site.key
rx_ok "enroll ada" -l $L key enroll --pub ada.pub --role admin --key site.key
rx_ok "enroll rex" -l $L key enroll --pub rex.pub --role pharmacist --license RPH-2 --key site.key
rx_ok "enroll lou" -l $L key enroll --pub lou.pub --role nurse --license RN-8 \
    --from "$(day 1)T00:00:00Z" --key site.key
rx_ok "registration" -l $L registration --dea "$DEA_OK" --schedules 3,4,5 --expires "$(day 700)" \
    --key site.key
RCV=(--ndc 50458-028-02 --lot L9 --expires "$(day 300)" --containers 1 --units-per-container 2
    --unit-mg 28 --substance esketamine --form "28 mg device" --supplier McKesson
    --supplier-address "1 Main St" --supplier-dea AP5836727)
rx_ok "stock receive" -l $L stock receive "${RCV[@]}" --key jroe.key
rx_ok "note" -l $L note --text "counted the safe: 2" --key jroe.key
REX=$(field "$("$RXLEDGER" key fingerprint rex.pub)" kid)
rx_ok "revoke rex" -l $L key revoke "$REX" --reason "left the clinic" --key site.key
expect_eq "$OUT" "revoked $REX at seq 9" "revoke output"
rx_ok "verify base" -l $L verify
expect_match "$OUT" '^ok: 10 entries' "base ledger verifies with 10 entries"
FPR=$(field "$("$RXLEDGER" key fingerprint site.pub)" fingerprint)
KEYS=(-k site.key -k jroe.key -k alee.key -k ada.key)

# --- refused at append: exit 1 (2 for usage), one line, the ledger unchanged ------
refused() {
    local want=$1 desc=$2 re=$3 before
    shift 3
    before=$(sum $L/data.mdb)
    rx -l $L "$@"
    expect_rc "$want" "$desc"
    expect_err_line "$desc"
    expect_match "$ERR" "$re" "$desc: the message"
    expect_eq "$OUT" "" "$desc: nothing on stdout"
    expect_eq "$(sum $L/data.mdb)" "$before" "$desc: data.mdb unchanged"
}
refused 1 "a note by a revoked key" "^rxledger: .*revoked" note --text x --key rex.key
refused 1 "a note by a key not yet valid" "^rxledger: .*not valid at" note --text x --key lou.key
refused 1 "a note by a key never enrolled" "^rxledger: .*not enrolled" note --text x --key eve.key
refused 1 "a nurse receiving stock" \
    "^rxledger: cannot append: role 'nurse' may not sign 'stock\\.receive' entries\$" \
    stock receive "${RCV[@]}" --key alee.key
refused 1 "an admin recording the registration" \
    "^rxledger: cannot append: role 'admin' may not sign 'registration' entries\$" \
    registration --dea "$DEA_OK" --schedules 3 --expires "$(day 700)" --key ada.key
refused 2 "a nurse witnessing her own waste" \
    "^rxledger: the witness must be someone other than the signer\$" \
    waste --ndc 50458-028-02 --lot L9 --mg 10 --manner pouch --key alee.key --witness-key alee.key
# (no command takes a signature made elsewhere: the right key over another
# payload can only be planted)

# --- planted: caught by verify, audit, verify-export and audit --export ------------
# copy NAME: a fresh copy of base
copy() {
    rm -rf "$1"
    cp -r base "$1"
}

# caught DIR SEQ RULE REASON-ERE: everything names entry SEQ.
CASES=0
caught() {
    local d=$1 seq=$2 rule=$3 re=$4
    rx -l "$d" verify
    expect_rc 3 "$d: verify"
    expect_lines "$OUT" 1 "$d: verify prints one line"
    expect_match "$OUT" "^FAIL: entry $seq: .*$re" "$d: verify names entry $seq and why"
    rx -l "$d" audit --format csv
    expect_rc 3 "$d: audit"
    expect_match "$OUT" "^$rule,FAIL,,,\"\",$seq,,\"entry $seq: .*$re" "$d: audit finds $rule at $seq"
    expect_count "$OUT" "not trusted and were not audited" 1 "$d: one integrity finding"
    # the export writer checks no signer: the file is written, its reader refuses it
    rx -l "$d" export --key site.key --out "$d.cbor"
    ok "$d: export"
    rx verify-export "$d.cbor" --site-key "$FPR"
    expect_rc 3 "$d: verify-export"
    expect_err_line "$d: verify-export prints one line"
    expect_match "$ERR" "^rxledger: verify-export: entry seq $seq \\(item $((seq + 2))\\): .*$re" \
        "$d: verify-export names entry $seq"
    rx audit --export "$d.cbor" --site-key "$FPR" --format csv
    expect_rc 3 "$d: audit --export"
    expect_match "$OUT" "^$rule,FAIL,,,\"\",$seq,,\"entry $seq" "$d: audit --export finds $rule at $seq"
    # an export that starts at the entry: the keys come from its context
    rx -l "$d" export --key site.key --out "$d-from.cbor" --from-seq "$seq"
    ok "$d: export from $seq"
    rx verify-export "$d-from.cbor" --site-key "$FPR"
    expect_rc 3 "$d: verify-export from $seq"
    expect_match "$ERR" "^rxledger: verify-export: entry seq $seq \\(item 2\\): .*$re" \
        "$d: verify-export from $seq names it"
    CASES=$((CASES + 1))
}

# forged DIR ARGS...: rxl-forge in DIR; sets SEQ to the seq it forged, if it says.
forged() {
    local d=$1
    shift
    run "$FORGE" "$d" "$@"
    expect_rc 0 "rxl-forge $d $*"
    SEQ=$(printf '%s\n' "$OUT" | sed -n 's/^forged seq \([0-9]*\)$/\1/p')
}

copy t_revoked
forged t_revoked append 8 rex.key
expect_eq "$SEQ" 10 "a note by the revoked key after its revocation"
caught t_revoked 10 KEY-ROLE "revoked at seq 9"

copy t_late
forged t_late append 8 lou.key
caught t_late 10 KEY-ROLE "is not valid at"

copy t_stranger
forged t_stranger append 8 eve.key
caught t_stranger 10 KEY-ROLE "is not enrolled"

copy t_nurse_receives
forged t_nurse_receives append 7 alee.key
caught t_nurse_receives 10 KEY-ROLE "role 'nurse' may not sign 'stock\\.receive' entries"

copy t_admin_registers
forged t_admin_registers append 6 ada.key
caught t_admin_registers 10 KEY-ROLE "role 'admin' may not sign 'registration' entries"

# mid-chain: the stock receipt itself signed by the nurse; 8 and 9 re-chained
copy t_resigned
forged t_resigned resign 7 alee.key "${KEYS[@]}"
expect_eq "$OUT" "re-signed seq 7" "re-sign 7 as the nurse"
caught t_resigned 7 KEY-ROLE "role 'nurse' may not sign 'stock\\.receive' entries"

# the right key over another payload: jroe's signature over "2", the note saying "1"
copy t_payload
forged t_payload payload 8 "counted the safe: 1" "${KEYS[@]}"
rx_ok "t_payload: everything but the signature holds" -l t_payload verify --no-signatures
caught t_payload 8 CHAIN "signature does not verify"

# a nurse witnessing her own waste: recorded with jroe as witness, then the
# witness entry signed by the nurse herself. The chain holds (every entry is by
# an enrolled licensed key); the audit's WASTE-WITNESS rule finds it.
copy t_selfwitness
rx_ok "waste witnessed by jroe" -l t_selfwitness waste --ndc 50458-028-02 --lot L9 --mg 10 \
    --manner pouch --key alee.key --witness-key jroe.key
expect_match "$OUT" '^witnessed seq 11 ' "the witness entry is seq 11"
forged t_selfwitness resign 11 alee.key "${KEYS[@]}"
rx_ok "t_selfwitness: the chain verifies" -l t_selfwitness verify
rx -l t_selfwitness audit --format csv
expect_rc 3 "t_selfwitness: audit"
expect_match "$OUT" '^WASTE-WITNESS,FAIL,.*,10( [0-9]+)*,.*witnessed it themself' \
    "t_selfwitness: audit finds WASTE-WITNESS for the waste"
expect_nomatch "$OUT" '^(KEY-ROLE|CHAIN),' "t_selfwitness: no integrity finding"
rx -l t_selfwitness export --key site.key --out t_selfwitness.cbor
ok "t_selfwitness: export"
rx verify-export t_selfwitness.cbor --site-key "$FPR"
ok "t_selfwitness: verify-export"
rx audit --export t_selfwitness.cbor --site-key "$FPR" --format csv
expect_rc 3 "t_selfwitness: audit --export"
expect_match "$OUT" '^WASTE-WITNESS,FAIL,.*witnessed it themself' \
    "t_selfwitness: audit --export finds WASTE-WITNESS"

# the original is untouched throughout
rx_ok "base still verifies" -l base verify
expect_match "$OUT" '^ok: 10 entries' "base: 10 entries"
[ "$CASES" -eq 7 ] || fail "expected 7 planted cases, ran $CASES"
pass

finish
