#!/usr/bin/env bash
# Malleability end to end: a non-canonical re-encoding of a valid entry (the
# same values in other bytes), re-signed with the legitimate key and planted
# with rxl-forge so that every later entry is re-chained and re-signed and the
# Merkle tree and head agree: 'verify' exits 3 naming the entry, 'export'
# refuses the ledger, and an export of the stored bytes whose trailer the site
# key signs is refused by 'verify-export', naming the entry.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# rxl-forge is built beside rxl-tamper (tests/tools)
FORGE=${FORGE:-$(dirname "$TAMPER")/rxl-forge}
[ -x "$FORGE" ] || fail "no rxl-forge at $FORGE"

# --- one ledger -----------------------------------------------------------------
#  0 genesis (site)           3 note by the pharmacist
#  1 enroll pharmacist        4 note by the nurse
#  2 enroll nurse             5 note by the pharmacist: the head
newkey site "Juniper Clinic"
newkey jroe "Jane Roe, PharmD"
newkey alee "Ann Lee, RN"
rx_ok "init" -l base init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll pharmacist" -l base key enroll --pub jroe.pub --role pharmacist --license RPH-1 \
    --key site.key
rx_ok "enroll nurse" -l base key enroll --pub alee.pub --role nurse --license RN-7 --key site.key
rx_ok "note 3" -l base note --text "opened the safe" --key jroe.key
rx_ok "note 4" -l base note --text "checked the fridge" --key alee.key
rx_ok "note 5" -l base note --text "closed the safe" --key jroe.key
rx_ok "verify base" -l base verify
expect_match "$OUT" '^ok: 6 entries, head [0-9a-f]{64}$' "base ledger verifies with 6 entries"
FPR=$(field "$("$RXLEDGER" key fingerprint site.pub)" fingerprint)
[ -n "$FPR" ] || fail "no site fingerprint"
KEYS=(-k site.key -k jroe.key -k alee.key)

# The forged exports are faithful: of the untouched ledger, whole and from seq 3
# (entries 0-2 then travel in the header), they verify.
for from in 0 3; do
    run "$FORGE" base export "base-$from.cbor" site.key "$from"
    expect_rc 0 "forged export of the untouched ledger from $from"
    rx verify-export "base-$from.cbor" --site-key "$FPR"
    ok "the forged export from $from of the untouched ledger verifies"
done
# ... and so is the re-chaining: a different, canonical note 3 re-signed by its
# author, every later entry re-chained and re-signed, verifies.
rm -rf rechained
cp -r base rechained
run "$FORGE" rechained payload 3 "opened the other safe" "${KEYS[@]}"
expect_rc 0 "swap the payload of note 3"
run "$FORGE" rechained resign 3 jroe.key "${KEYS[@]}"
expect_eq "$OUT" "re-signed seq 3" "re-sign note 3 by its author"
rx_ok "a re-chained ledger verifies" -l rechained verify
expect_match "$OUT" '^ok: 6 entries' "re-chained ledger: 6 entries"
expect_ne "$(head_of rechained)" "$(head_of base)" "re-chained ledger has another head"

# planted SEQ KIND REASON-ERE [EXPORT-SEQ]: plant KIND at SEQ in a copy of base;
# verify, export and verify-export must refuse it. EXPORT-SEQ: the entry the
# export reader stops at when the extra bytes are an item of their own.
CASES=0
planted() {
    local seq=$1 kind=$2 re=$3 xseq=${4:-$1} d="t_$2_$1"
    rm -rf "$d"
    cp -r base "$d"
    run "$FORGE" "$d" reencode "$seq" "$kind" "${KEYS[@]}"
    expect_rc 0 "plant $kind at $seq"
    expect_eq "$OUT" "planted $kind at seq $seq" "rxl-forge output for $kind at $seq"
    # verify: exit 3, one line naming the entry and why
    rx -l "$d" verify
    expect_rc 3 "verify $kind at $seq"
    expect_lines "$OUT" 1 "verify $kind at $seq: one line"
    expect_match "$OUT" "^FAIL: entry $seq: .*$re" "verify $kind at $seq names the entry and why"
    expect_err_line "verify $kind at $seq: one stderr line"
    # export: the ledger is refused, nothing is left behind, not even the
    # checkpoint the export signed before it met the entry
    rx -l "$d" checkpoint --list
    local cps_before=$OUT
    rx -l "$d" export --key site.key --out "$d.cbor"
    expect_rc 1 "export of a ledger with $kind at $seq"
    expect_err_line "export $kind at $seq: one stderr line"
    expect_match "$ERR" "^rxledger: export: " "export $kind at $seq: the reason"
    [ ! -e "$d.cbor" ] && [ ! -e "$d.cbor.tmp" ] || fail "export $kind at $seq left a file"
    rx -l "$d" checkpoint --list
    [ "$OUT" = "$cps_before" ] || fail "export $kind at $seq stored a checkpoint it refused"
    pass
    pass
    # a forged export of the stored bytes, signed by the site key
    run "$FORGE" "$d" export "$d.cbor" site.key
    expect_rc 0 "forged export with $kind at $seq"
    rx verify-export "$d.cbor" --site-key "$FPR"
    expect_rc 3 "verify-export $kind at $seq"
    expect_err_line "verify-export $kind at $seq: one line"
    expect_match "$ERR" "^rxledger: verify-export: (entry seq $xseq \\(item $((xseq + 2))\\): |item $((xseq + 2)) |the item after the last entry \\(item $((xseq + 2))\\))" \
        "verify-export $kind at $seq names the entry"
    expect_eq "$OUT" "" "verify-export $kind at $seq: nothing on stdout"
    CASES=$((CASES + 1))
}

# --- one case of each kind of re-encoding, at each level ---------------------------
planted 0 env-tag-long 'non-shortest'            # the genesis entry's tag 18 as d8 12
planted 3 env-array-indef 'indefinite length'     # the COSE_Sign1 array as 9f ... ff
planted 3 env-payload-long 'non-shortest'         # the payload's length one size longer
planted 5 env-trailing 'trailing bytes' 6         # a byte after the head entry
planted 3 hdr-unsorted 'expected alg'             # kid before alg in the protected header
planted 3 hdr-alg-long 'non-shortest'             # alg -8 as 38 07
planted 3 pay-unsorted 'canonical order'          # "rt" before "et"
planted 3 pay-dup 'duplicated'                    # "v" twice
planted 3 pay-seq-long 'non-shortest'             # seq 3 as 18 03
planted 4 pay-v-half 'floating-point'             # "v": 1.0 as a half float
planted 3 pay-seq-bignum 'seq is not an integer'  # seq as a tag-2 bignum
planted 1 body-pub-long 'non-shortest'            # the enrolled key's length in three bytes
planted 1 body-lexsort 'canonical order'          # body keys sorted by their text
planted 4 body-text-indef 'indefinite length'     # the note's text in chunks
planted 5 body-dup 'duplicated'                   # the head entry's body key twice

# The same plant in the middle, exported from seq 3: the genesis and the enrolment
# travel in the header, and the bad one is named there.
rm -rf t_ctx
cp -r base t_ctx
run "$FORGE" t_ctx reencode 1 body-pub-long "${KEYS[@]}"
expect_rc 0 "plant body-pub-long at 1"
run "$FORGE" t_ctx export t_ctx.cbor site.key 3
expect_rc 0 "forged export from 3"
rx verify-export t_ctx.cbor --site-key "$FPR"
expect_rc 3 "verify-export with a non-canonical context entry"
expect_err_line "verify-export context: one line"
expect_match "$ERR" '^rxledger: verify-export: context entry seq 1: .*non-shortest' \
    "verify-export names the context entry"

# A receipt the site key signs over the planted tree does not make the entry
# acceptable: verify-proof refuses its bytes (and proves the untouched one).
proof() {
    local d=$1 seq=$2 want=$3
    rx_ok "checkpoint $d" -l "$d" checkpoint --key site.key
    rx_ok "prove $seq in $d" -l "$d" prove "$seq" --out "$d-r.cbor"
    "$RXLEDGER" -l "$d" show "$seq" --raw >"$d-e.cbor" </dev/null
    rx verify-proof "$d-r.cbor" "$d-e.cbor" --site-key "$FPR"
    expect_rc "$want" "verify-proof of entry $seq of $d"
    if [ "$want" -ne 0 ]; then
        expect_err_line "verify-proof $d: one line"
        expect_match "$ERR" '^rxledger: verify-proof: the entry file is not an entry: ' \
            "verify-proof $d: the entry is refused"
    fi
}
proof base 3 0
proof t_env-array-indef_3 3 3
proof t_hdr-unsorted_3 3 3
proof t_pay-unsorted_3 3 3
proof t_body-text-indef_4 4 3

# A kind that does not apply is refused by the tool, and the copy is untouched.
rm -rf t_na
cp -r base t_na
run "$FORGE" t_na reencode 3 body-array-long "${KEYS[@]}"
expect_rc 1 "rxl-forge refuses a kind that does not apply"
rx_ok "the copy still verifies" -l t_na verify

# The original is untouched throughout.
rx_ok "base still verifies" -l base verify
expect_match "$OUT" '^ok: 6 entries' "base: 6 entries"
[ "$CASES" -eq 15 ] || fail "expected 15 planted cases, ran $CASES"
pass

finish
