#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The inventory computed from the ledger, on a scripted day with known numbers
# across two lots: receipts, doses, wastes, a destruction, losses and a count.
# For each lot: received units, administered mg, wasted mg, destroyed and lost
# units, and on hand = received - administered - wasted - destroyed - lost
# (expected figures computed here); 'inventory --at' an earlier date; and
# amendments of quantities changing the figures.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=records_lib.sh
. "$HERE/records_lib.sh"

E_NDC=50458-0028-02 # written 50458-028-02 (5-3-2) on the receipt
K_NDC=42023-0113-10 # written 42023-113-10
EXP=$(day 300)      # the expiry receive() records

# expect_lot NDC LOT SUBSTANCE UNIT_MG RECEIVED ADMIN_MG WASTE_MG DESTROYED LOST COUNT DESC:
# the lot's inventory row, every column, with on hand computed here.
expect_lot() {
    local ndc=$1 lot=$2 sub=$3 unit=$4 rcv=$5 adm=$6 wst=$7 dst=$8 lst=$9 cnt=${10} desc=${11}
    local mg=$((rcv * unit - adm - wst - (dst + lst) * unit))
    local want="$ndc $lot $sub $EXP $unit $rcv $adm $wst $dst $lst|$((mg / unit)) + $((mg % unit)) mg|$cnt"
    local got
    got=$(inv_row "$ndc" "$lot" | awk '{
        c = ""; for (i = 15; i <= NF; i++) c = c (c == "" ? "" : " ") $i
        print $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 "|" $11 " " $12 " " $13 " " $14 "|" c }')
    expect_eq "$got" "$want" "$desc"
}

setup_clinic
app "enroll MRN-1001" patient enroll --patient MRN-1001 --rems-patient-id REMS-77001 \
    --on "$(day -5)" --key msmith.key

# --- receipts: the esketamine lot three days ago, the ketamine lot today ----------------
E_CONT=4 E_PER=2 E_UNIT=28
receive 50458-028-02 ESK-A "$E_CONT" "$E_PER" "$E_UNIT" esketamine "$(t $((-3 * 1440)))" \
    "28 mg nasal device"
K_CONT=1 K_PER=5 K_UNIT=500
receive 42023-113-10 KET-B "$K_CONT" "$K_PER" "$K_UNIT" ketamine "$(t 0)" "500 mg/10 mL vial"
K_RCV_SEQ=$SEQ
E_RCV=$((E_CONT * E_PER)) K_RCV=$((K_CONT * K_PER))
E_ADM=0 E_WST=0 E_DST=0 E_LST=0
K_ADM=0 K_WST=0 K_DST=0 K_LST=0

rl inventory
ok "inventory after the receipts"
expect_lines "$OUT" 3 "inventory: header and two lots"
expect_lot "$E_NDC" ESK-A esketamine "$E_UNIT" "$E_RCV" 0 0 0 0 - "ESK-A as received"
expect_lot "$K_NDC" KET-B ketamine "$K_UNIT" "$K_RCV" 0 0 0 0 - "KET-B as received"

# --- session 1: esketamine, three devices (one written in the 5-4-2 form) ---------------
session_open MRN-1001 esketamine intranasal outpatient "$(t 10)"
S1=$S
app "S1 pre BP" vitals --session "$S1" --phase pre --bp 128/82 --at "$(t 12)" --key alee.key
for dev in 1 2 3; do
    ndc=50458-028-02
    [ "$dev" -ne 2 ] || ndc=$E_NDC
    app "S1 device $dev" dose --session "$S1" --ndc "$ndc" --lot ESK-A --mg 28 --device "$dev" \
        --at "$(t $((10 + 5 * dev)))" --key alee.key
    E_ADM=$((E_ADM + 28))
done
app "S1 discharge" discharge --session "$S1" --sedation-resolved --dissociation-resolved \
    --respiration-stable --transport-arranged --at "$(t 150)" --key alee.key
appw 1 "waste of a primed device" waste --ndc 50458-028-02 --lot ESK-A --mg 28 \
    --manner "sprayed into a charcoal pouch" --at "$(t 30)" --key msmith.key --witness-key bob.key
E_WASTE_SEQ=$SEQ
E_WST=$((E_WST + 28))

# --- sessions 2 and 3: IV ketamine, a waste with a witness ------------------------------
session_open MRN-2001 ketamine iv outpatient "$(t 40)" --weight-kg 72
S2=$S
app "S2 pre BP" vitals --session "$S2" --phase pre --bp 124/80 --at "$(t 41)" --key alee.key
app "S2 dose" dose --session "$S2" --ndc 42023-113-10 --lot KET-B --mg 36 --ml 0.72 \
    --concentration 50mg/ml --at "$(t 45)" --key msmith.key
K_DOSE_SEQ=$SEQ
K_ADM=$((K_ADM + 36))
appw 1 "S2 waste" waste --session "$S2" --ndc 42023-113-10 --lot KET-B --mg 464 \
    --manner "emptied into a charcoal pouch" --at "$(t 46)" --key msmith.key --witness-key jroe.key
K_WST=$((K_WST + 464))
session_open MRN-2002 ketamine iv outpatient "$(t 50)" --weight-kg 80
S3=$S
app "S3 pre BP" vitals --session "$S3" --phase pre --bp 118/76 --at "$(t 51)" --key alee.key
app "S3 dose" dose --session "$S3" --ndc 42023-113-10 --lot KET-B --mg 40 --at "$(t 55)" \
    --key msmith.key
K_ADM=$((K_ADM + 40))

rl inventory
ok "inventory after the sessions"
expect_lot "$E_NDC" ESK-A esketamine "$E_UNIT" "$E_RCV" "$E_ADM" "$E_WST" 0 0 - \
    "ESK-A after 3 devices and a waste (both written NDC forms on one lot)"
expect_lot "$K_NDC" KET-B ketamine "$K_UNIT" "$K_RCV" "$K_ADM" "$K_WST" 0 0 - \
    "KET-B after two doses and a waste"

# --- destruction (two witnesses), losses, a count ---------------------------------------
appw 2 "destroy one ESK-A device" stock destroy --ndc 50458-028-02 --lot ESK-A --units 1 \
    --method "reverse distributor" --at "$(t 60)" --key jroe.key --witness-key bob.key \
    --witness-key msmith.key
E_DST=$((E_DST + 1))
appw 2 "destroy one KET-B vial" stock destroy --ndc 42023-113-10 --lot KET-B --units 1 \
    --method "expired vial, reverse distributor" --at "$(t 61)" --key bob.key \
    --witness-key jroe.key --witness-key alee.key
K_DST=$((K_DST + 1))
app "loss of one ESK-A device" stock loss --ndc 50458-028-02 --lot ESK-A --units 1 --kind loss \
    --discovered "$(t 62)" --at "$(t 62)" --key jroe.key
E_LST=$((E_LST + 1))
app "theft of one KET-B vial" stock loss --ndc 42023-113-10 --lot KET-B --units 1 --kind theft \
    --discovered "$(t 63)" --at "$(t 63)" --key jroe.key
K_LST=$((K_LST + 1))
E_ONHAND_MG=$((E_RCV * E_UNIT - E_ADM - E_WST - (E_DST + E_LST) * E_UNIT))
expect_eq "$((E_ONHAND_MG % E_UNIT))" 0 "the scenario leaves whole ESK-A devices"
app "close-of-business count of ESK-A" stock count --ndc 50458-028-02 --lot ESK-A \
    --on-hand "$((E_ONHAND_MG / E_UNIT))" --when close --complete --at "$(t 70)" --key jroe.key
E_COUNT="$((E_ONHAND_MG / E_UNIT)) (seq $SEQ)"

rl inventory
ok "inventory at the end of the day"
expect_lines "$OUT" 3 "inventory: still two lots"
expect_lot "$E_NDC" ESK-A esketamine "$E_UNIT" "$E_RCV" "$E_ADM" "$E_WST" "$E_DST" "$E_LST" \
    "$E_COUNT" "ESK-A: received - administered - wasted - destroyed - lost, and the count"
expect_lot "$K_NDC" KET-B ketamine "$K_UNIT" "$K_RCV" "$K_ADM" "$K_WST" "$K_DST" "$K_LST" - \
    "KET-B: received - administered - wasted - destroyed - lost"
# the figures as literals too, so a wrong formula here cannot hide a wrong one there
expect_match "$(inv_row "$E_NDC" ESK-A)" " 8 +84 +28 +1 +1 +2 \\+ 0 mg +2 \\(seq " \
    "ESK-A literal figures: 8 received, 84 mg, 28 mg, 1, 1, on hand 2 + 0 mg"
expect_match "$(inv_row "$K_NDC" KET-B)" " 5 +76 +464 +1 +1 +1 \\+ 460 mg +-\$" \
    "KET-B literal figures: 5 received, 76 mg, 464 mg, 1, 1, on hand 1 + 460 mg"

# --- inventory --at an earlier date -----------------------------------------------------
INV_AT=$(day -4)
rl inventory --at "$INV_AT"
ok "inventory --at the day before the first receipt"
expect_lines "$OUT" 1 "inventory --at before any receipt: the header only"
INV_AT=$(day -3)
rl inventory --at "$INV_AT"
ok "inventory --at the day of the first receipt"
expect_lines "$OUT" 2 "inventory --at the first receipt's day: one lot"
expect_lot "$E_NDC" ESK-A esketamine "$E_UNIT" "$E_RCV" 0 0 0 0 - "ESK-A as it stood then"
expect_eq "$(inv_row "$K_NDC" KET-B)" "" "KET-B not yet received then"
INV_AT=$(day -1)
expect_lines "$("$RXLEDGER" -l "$L" inventory --at "$INV_AT" </dev/null)" 2 \
    "inventory --at yesterday: still only the earlier lot"
unset INV_AT
refused 2 "inventory --at a bad date" "^rxledger: bad --at '2026-02-30'" inventory --at 2026-02-30

# --- corrections change the figures -----------------------------------------------------
app "correct the S2 dose 36 -> 38 mg" amend "$K_DOSE_SEQ" --reason "pump log shows 38 mg" \
    --set mg=38 --key msmith.key
K_ADM=$((K_ADM - 36 + 38))
expect_lot "$K_NDC" KET-B ketamine "$K_UNIT" "$K_RCV" "$K_ADM" "$K_WST" "$K_DST" "$K_LST" - \
    "KET-B after the dose correction"
expect_match "$(inv_row "$K_NDC" KET-B)" " 78 +464 .* 1 \\+ 458 mg " "KET-B: 78 mg given, 1 + 458 mg on hand"
app "correct it again 38 -> 35 mg (the later correction wins)" amend "$K_DOSE_SEQ" \
    --reason "pump log re-read" --set mg=35 --key msmith.key
K_ADM=$((K_ADM - 38 + 35))
expect_lot "$K_NDC" KET-B ketamine "$K_UNIT" "$K_RCV" "$K_ADM" "$K_WST" "$K_DST" "$K_LST" - \
    "KET-B after the second correction"
app "correct the ESK-A waste 28 -> 20 mg" amend "$E_WASTE_SEQ" --reason "partial spray" \
    --set mg=20 --key msmith.key
E_WST=$((E_WST - 28 + 20))
expect_lot "$E_NDC" ESK-A esketamine "$E_UNIT" "$E_RCV" "$E_ADM" "$E_WST" "$E_DST" "$E_LST" \
    "$E_COUNT" "ESK-A after the waste correction (8 mg of a device back on hand)"
app "correct the KET-B receipt: 2 containers" amend "$K_RCV_SEQ" \
    --reason "second carton on the packing slip" --set containers=2 --key jroe.key
K_RCV=$((2 * K_PER))
expect_lot "$K_NDC" KET-B ketamine "$K_UNIT" "$K_RCV" "$K_ADM" "$K_WST" "$K_DST" "$K_LST" - \
    "KET-B after the receipt correction"
rl show "$K_DOSE_SEQ"
expect_match "$OUT" '^  mg: 36$' "the corrected dose itself still reads 36 mg"

rl verify
ok "verify"
expect_match "$OUT" "^ok: $ENTRIES entries, head $HEX64\$" "verify: ok with exactly $ENTRIES entries"

finish
