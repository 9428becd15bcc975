#!/usr/bin/env bash
# The regulator export, receipts and consistency proofs, end to end: a demo
# clinic day exported whole and in part, verified by verify-export and by an
# independent Python verifier (tests/interop/verify_export.py, written from
# docs/regulator-guide.md), which must agree on the good files and on every
# tampered variant: truncation at every item boundary, a flipped byte in each
# item kind, reordered, dropped and duplicated entries, a header from another
# ledger, an entry signed by a key the site never enrolled.
set -euo pipefail
# shellcheck source=tests/cli/lib.sh
. "$(dirname "$0")/lib.sh"
: "${RX_SRC:?}"
PY=/usr/bin/python3
ITEMS="$RX_SRC/tests/tools/export_items.py"
PYV="$RX_SRC/tests/interop/verify_export.py"

# A clinic day (the demo), then an amendment of an early stock receipt.
RXLEDGER="$RXLEDGER" TAMPER="$TAMPER" bash "$RX_SRC/cli/demo.sh" "$T/day" >/dev/null 2>&1 ||
    fail "the demo clinic day runs"
pass
cd "$T/day"
export RXLEDGER_PASSPHRASE="demo passphrase, not for real use" RXLEDGER_DIR=./clinic
rx_ok "amend the first receipt" amend 7 --set containers=3 --reason "miscounted" --key jroe.key
FPR=$(field "$("$RXLEDGER" key fingerprint site.pub)" fingerprint)
N=$("$RXLEDGER" verify | awk '{print $2}')
[ "$N" -ge 38 ] || fail "the day has at least 38 entries ($N)"
pass

# both FILE [DESC]: verify-export and the Python verifier both accept FILE.
both_ok() {
    rx verify-export "$1" --site-key "$FPR"
    ok "verify-export $2"
    expect_match "$OUT" "^ok: entries " "verify-export $2: ok line"
    run "$PY" "$PYV" "$1" "$FPR"
    [ "$RC" -eq 0 ] || fail "python verifier accepts $2 (exit $RC): $OUT"
    pass
}
# both_bad FILE DESC [ERE]: both refuse with exit 3; ours with one line (matching ERE).
both_bad() {
    rx verify-export "$1" --site-key "$FPR"
    expect_rc 3 "verify-export refuses $2"
    expect_err_line "verify-export $2"
    [ -z "${3:-}" ] || expect_match "$ERR" "$3" "verify-export $2: names the problem"
    run "$PY" "$PYV" "$1" "$FPR"
    [ "$RC" -eq 3 ] || fail "python verifier refuses $2 (exit $RC): $OUT"
    expect_match "$OUT" "^FAIL: " "python verifier $2: FAIL line"
}

# ---- good exports ----
rx_ok "export all" export --key site.key --out full.cbor
expect_match "$OUT" "^exported entries 0\\.\\.$((N - 1)) \\($N\\) of $N, 0 context entries" "full export summary"
[ ! -e full.cbor.tmp ] || fail "no temporary file left"
pass
both_ok full.cbor "the full export"
rx_ok "export a range" export --key site.key --out part.cbor --from-seq 19 --to-seq $((N - 3))
expect_match "$OUT" "^exported entries 19\\.\\.$((N - 3)) " "partial export summary"
CTX=$(printf '%s\n' "$OUT" | sed -n 's/.*, \([0-9]*\) context entries.*/\1/p')
# genesis, setting, registration, 3 enrolments, 2 receipts, 2 patient enrolments
[ "$CTX" -eq 10 ] || fail "the context carries the 10 earlier entries the range needs ($CTX)"
pass
both_ok part.cbor "a partial export"
rx_ok "export by dates" export --key site.key --out today.cbor --since "$(date -u +%Y-%m-%d)" \
    --until "$(date -u +%Y-%m-%d)"
expect_match "$OUT" "^exported entries 0\\.\\.$((N - 1)) " "today's export holds the whole day"
both_ok today.cbor "an export by dates"

# the audit of the whole export is the audit of the ledger
rx audit --format json --now 2030-01-01T00:00:00Z
AL=$OUT
RCL=$RC
rx audit --export full.cbor --site-key "$FPR" --format json --now 2030-01-01T00:00:00Z
expect_eq "$RC" "$RCL" "audit --export exits as the ledger's audit"
expect_eq "$OUT" "$AL" "audit --export reports exactly the ledger audit's findings"
rx audit --export part.cbor --site-key "$FPR" --rule MON-DURATION
expect_rc 3 "audit of the partial export still finds session 2's short monitoring"
expect_match "$OUT" "MON-DURATION" "the finding is named"

# identities only on request; commitments verify either way
MRN=$(grep -o -- '--patient [A-Z0-9-]*' "$RX_SRC/cli/demo.sh" | head -1 | awk '{print $2}')
[ -n "$MRN" ] || fail "the demo's first MRN"
pass
if grep -q -- "$MRN" full.cbor; then fail "an export without --include-identities holds no MRN"; fi
pass
rx_ok "export with identities" export --key site.key --out ids.cbor --include-identities
expect_match "$OUT" ", [1-9][0-9]* identities" "identities counted"
grep -q -- "$MRN" ids.cbor || fail "the MRN is in the export with --include-identities"
pass
both_ok ids.cbor "an export with identities"

# ---- the tamper matrix ----
for f in full part; do
    NI=$("$PY" "$ITEMS" $f.cbor count)
    # truncated at every item boundary (keeping 0 .. NI-1 items) and inside items
    for k in $(seq 0 $((NI - 1))); do
        "$PY" "$ITEMS" $f.cbor t.cbor keep "$k"
        both_bad t.cbor "$f export cut after $k items"
    done
    for off in $("$PY" "$ITEMS" $f.cbor bounds | awk 'NR > 1 { print $1 - 7 }'); do
        "$PY" "$ITEMS" $f.cbor t.cbor cut "$off"
        both_bad t.cbor "$f export cut at byte $off" "truncated|cut short"
    done
    # a flipped byte in the header (spread over it), in every entry, in the trailer
    HL=$("$PY" "$ITEMS" $f.cbor bounds | sed -n 2p)
    for d in 1 $((HL / 7)) $((HL / 3)) $((HL / 2)) $((2 * HL / 3)) $((HL - 40)) $((HL - 2)); do
        "$PY" "$ITEMS" $f.cbor t.cbor flip 0 "$d"
        both_bad t.cbor "$f export: header byte $d flipped"
    done
    for i in $(seq 1 $((NI - 2))); do
        "$PY" "$ITEMS" $f.cbor t.cbor flip "$i" 100
        both_bad t.cbor "$f export: entry item $i flipped"
    done
    for d in 5 30 60 100 150; do
        "$PY" "$ITEMS" $f.cbor t.cbor flip $((NI - 1)) "$d"
        both_bad t.cbor "$f export: trailer byte $d flipped"
    done
    # order: two entries swapped, one dropped, one duplicated
    "$PY" "$ITEMS" $f.cbor t.cbor swap 3 4
    both_bad t.cbor "$f export: entries swapped" "seq|prev"
    "$PY" "$ITEMS" $f.cbor t.cbor drop 5
    both_bad t.cbor "$f export: an entry dropped" "seq"
    "$PY" "$ITEMS" $f.cbor t.cbor dup 5
    both_bad t.cbor "$f export: an entry duplicated" "seq"
    # data after the trailer
    cat $f.cbor >t.cbor
    "$PY" "$ITEMS" $f.cbor t1.cbor keep 2
    tail -c +"$(("$("$PY" "$ITEMS" $f.cbor bounds | sed -n 2p)" + 1))" t1.cbor >>t.cbor
    both_bad t.cbor "$f export: data after the trailer" "after the trailer|follows"
done

# a bad signature is named by its entry, though its check runs in parallel batches
"$PY" "$ITEMS" full.cbor t.cbor flip 6 -3 # item 6 after the header: entry seq 5
both_bad t.cbor "a flipped signature byte of entry 5" "^rxledger: verify-export: entry seq 5 \(item 7\): signature does not verify$"
rx audit --export t.cbor --site-key "$FPR"
expect_rc 3 "audit of an export with a bad signature"
expect_match "$OUT" "CHAIN .*entry 5: entry seq 5 \(item 7\): signature does not verify" \
    "the audit's first finding is that entry"

# a header from another ledger's export of the same range
RXLEDGER="$RXLEDGER" TAMPER="$TAMPER" bash "$RX_SRC/cli/demo.sh" "$T/day/other" >/dev/null 2>&1 ||
    fail "a second clinic"
pass
cd "$T/day/other"
"$RXLEDGER" -l clinic export --key site.key --out ../other.cbor >/dev/null
"$RXLEDGER" -l clinic export --key site.key --out ../other-part.cbor --from-seq 19 --to-seq $((N - 3)) >/dev/null
cd "$T/day"
"$PY" "$ITEMS" full.cbor t.cbor header other.cbor
both_bad t.cbor "a header from another ledger (full)"
"$PY" "$ITEMS" part.cbor t.cbor header other-part.cbor
both_bad t.cbor "a header from another ledger (partial)" "fingerprint|site key"
# a context entry dropped from the header (re-encoded canonically): the site signed the header
for i in 0 3 9; do
    "$PY" "$ITEMS" part.cbor t.cbor drop-context "$i"
    both_bad t.cbor "context entry $i dropped from the header"
done
"$PY" "$ITEMS" part.cbor t.cbor drop-context 9
rx verify-export t.cbor --site-key "$FPR"
expect_match "$ERR" "header is not the one the site signed" "a dropped patient enrolment is named as a header change"
# the other clinic's own export does not verify with this site's fingerprint
both_bad other.cbor "another site's export" "fingerprint"

# an entry signed by a key the site never enrolled, planted in a copy of the
# ledger (chained and in the tree), exported and signed by the site key
rx_ok "a stranger's key" key new --out eve.key --name "Eve Stranger" --kdf-cost 10
cp -r clinic forged
run "$TAMPER" forged forge eve.key "signed by a stranger"
[ "$RC" -eq 0 ] || fail "forge a stranger's entry"
pass
rx_ok "export the forged copy" -l forged export --key site.key --out forged.cbor
both_bad forged.cbor "an entry signed by a non-enrolled key" "not enrolled"

# ---- receipts ----
rx_ok "checkpoint" checkpoint --key site.key
for s in 0 1 7 $((N / 2)) $((N - 1)); do
    rx_ok "prove $s" prove "$s" --out r$s.cbor
    "$RXLEDGER" show "$s" --raw >e$s.cbor
    rx_ok "verify-proof $s" verify-proof r$s.cbor e$s.cbor --site-key "$FPR"
    expect_match "$OUT" "^ok: entry $s is in the tree of size $N, root [0-9a-f]{64}" "receipt $s"
done
rx verify-proof r7.cbor e1.cbor --site-key "$FPR"
expect_rc 3 "a receipt does not prove another entry"
expect_err_line "receipt for another entry"
cp r7.cbor rbad.cbor
printf '\x01' | dd of=rbad.cbor bs=1 seek=$(($(stat -c %s r7.cbor) - 5)) conv=notrunc 2>/dev/null
rx verify-proof rbad.cbor e7.cbor --site-key "$FPR"
expect_rc 3 "a receipt with a flipped signature byte"
OTHER_FPR=$(field "$("$RXLEDGER" key fingerprint other/site.pub)" fingerprint)
rx verify-proof r7.cbor e7.cbor --site-key "$OTHER_FPR"
expect_rc 3 "a receipt checked against another site's fingerprint"
expect_match "$ERR" "fingerprint" "the fingerprint mismatch is named"
# the receipt is an RFC 9942 receipt: vds 1 in the protected header, proofs at 396
"$PY" - r7.cbor "$N" <<'EOF' || fail "receipt layout (RFC 9942)"
import sys, cbor2
t = cbor2.loads(open(sys.argv[1], "rb").read())
assert t.tag == 18
prot, unprot, payload, sig = t.value
h = cbor2.loads(prot)
assert h[1] == -8 and h[395] == 1 and payload is None and len(sig) == 64
size, leaf, path = cbor2.loads(unprot[396][-1][0])
assert size == int(sys.argv[2]) and leaf == 7 and all(len(p) == 32 for p in path)
EOF
pass
# consistency: the next checkpoint extends this one
rx_ok "the checkpoint of size N as a file" checkpoint --size "$N" --out old.cbor
rx_ok "one more entry" note --text "evening" --key jroe.key
rx_ok "a newer checkpoint" checkpoint --key site.key --out new.cbor
rx_ok "consistency" consistency --old "$N" --out c.cbor
rx_ok "verify consistency" verify-proof c.cbor old.cbor --site-key "$FPR"
expect_match "$OUT" "^ok: the tree of size $((N + 1)) .* extends the tree of size $N$" "consistency ok"
rx verify-proof c.cbor new.cbor --site-key "$FPR"
expect_rc 3 "consistency against a checkpoint of the wrong size"
rx_ok "consistency from size 1" consistency --old 1 --out c1.cbor
rx verify-proof c1.cbor old.cbor --site-key "$FPR"
expect_rc 3 "a consistency receipt from size 1 does not fit the checkpoint of size N"

# ---- bad input: usage 2, unreadable 1, and the ledger left as it was ----
before=$(sum clinic/data.mdb)
rx export --key site.key --out x.cbor --from-seq 9999
expect_rc 2 "export of a range past the end"
expect_err_line "export past the end"
[ ! -e x.cbor ] && [ ! -e x.cbor.tmp ] || fail "no file from a refused export"
pass
expect_eq "$(sum clinic/data.mdb)" "$before" "a refused export leaves the ledger unchanged"
RXLEDGER_PASSPHRASE="wrong passphrase" rx export --key site.key --out x.cbor
expect_rc 1 "export with the wrong passphrase"
expect_eq "$(sum clinic/data.mdb)" "$before" "a failed unlock leaves the ledger unchanged"
rx export --key jroe.key --out x.cbor
expect_rc 1 "only the site key signs the export's checkpoint"
expect_match "$ERR" "site key" "the reason is named"
rx export --out x.cbor
expect_rc 2 "export without --key"
rx export --key site.key --out x.cbor --from-seq 3 --since 2026-01-01
expect_rc 2 "export with both a seq range and dates"
rx verify-export nosuch.cbor --site-key "$FPR"
expect_rc 1 "verify-export of a missing file"
expect_err_line "verify-export missing file"
rx verify-export full.cbor
expect_rc 2 "verify-export without --site-key"
rx verify-export full.cbor --site-key 12:34
expect_rc 2 "verify-export with a short fingerprint"
rx prove 9999 --out x.cbor
expect_rc 2 "prove past the checkpoint's size"
rx prove 3
expect_rc 2 "prove without --out"
rx consistency --out x.cbor
expect_rc 2 "consistency without --old"
rx verify-proof r7.cbor --site-key "$FPR"
expect_rc 2 "verify-proof without the subject"
rx audit --export full.cbor
expect_rc 2 "audit --export without --site-key"
finish
