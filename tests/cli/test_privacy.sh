#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Patient identifiers stay out of the chain: the entries hold salted
# commitments, the clear MRN and REMS id live in the identity store; the views
# show the MRN; 'patient forget' erases the identifiers (crypto-shredding) and
# the chain still verifies with the same head, the views then say "erased", and
# the identifier bytes are gone from every file of the ledger.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=records_lib.sh
. "$HERE/records_lib.sh"

MRN="MRN-ZEBRA-99121"
REMS="REMS-QUAGGA-5531"
MRN2="MRN-OKAPI-30417"
REMS2="REMS-IBEX-8812"

# hits STRING FILE: lines of the binary FILE holding STRING.
hits() { grep -c -a -F -- "$1" "$2" || true; }
# files_with STRING: the files under $L holding STRING.
files_with() {
    local rc=0
    grep -r -l -a -F -- "$1" "$L" || rc=$?
    [ "$rc" -le 1 ] || fail "grep -r in $L failed"
}

setup_clinic
receive 50458-028-02 L2611A 4 2 28 esketamine "$(t 0)"

# --- enrollment and a session --------------------------------------------------------
app "enroll the zebra patient" patient enroll --patient "$MRN" --rems-patient-id "$REMS" \
    --on "$(day -1)" --key msmith.key
ENR=$SEQ
REF=$(printf '%s\n' "$OUT" | sed -n "s/^patient ref //p")
expect_match "$REF" "^$HEX64\$" "patient enroll prints the patient ref"
expect_ne "$REF" "$(printf '%s' "$MRN" | sha256sum | cut -d' ' -f1)" \
    "the patient ref is not the bare SHA-256 of the MRN (salted)"
app "enroll the okapi patient" patient enroll --patient "$MRN2" --rems-patient-id "$REMS2" \
    --on "$(day -1)" --key alee.key
ENR2=$SEQ
REF2=$(printf '%s\n' "$OUT" | sed -n "s/^patient ref //p")
expect_ne "$REF2" "$REF" "two patients, two refs"

session_open "$MRN" esketamine intranasal outpatient "$(t 10)"
S1=$S
app "S1 pre BP" vitals --session "$S1" --phase pre --bp 128/82 --spo2 98 --at "$(t 12)" \
    --key alee.key
app "S1 device 1" dose --session "$S1" --ndc 50458-028-02 --lot L2611A --mg 28 --device 1 \
    --at "$(t 15)" --key alee.key
app "S1 device 2" dose --session "$S1" --ndc 50458-028-02 --lot L2611A --mg 28 --device 2 \
    --at "$(t 20)" --key alee.key
session_open "$MRN2" esketamine intranasal outpatient "$(t 30)"
S2=$S
session_open "$MRN" ketamine iv inpatient "$(t 40)"
S3=$S

# the same patient, the same ref, in every entry
rl show "$ENR"
ok "show of the enrollment"
expect_match "$OUT" "^  patient: h'$REF'\$" "the enrollment entry holds the commitment"
expect_match "$OUT" "^patient   $MRN\$" "show: the enrollment's MRN from the identity store"
expect_match "$OUT" "^rems-patient-id $REMS\$" "show: the REMS id from the identity store"
rl show "$S1"
expect_match "$OUT" "^  patient: h'$REF'\$" "the session entry holds the same commitment"
rl show "$S3"
expect_match "$OUT" "^  patient: h'$REF'\$" "a second session of the patient: the same commitment"

# --- the clear identifiers: in the identity store, never in the chain -------------------
[ -f "$L/identities/data.mdb" ] || fail "no identity store at $L/identities/data.mdb"
pass
for id in "$MRN" "$REMS" "$MRN2" "$REMS2"; do
    expect_eq "$(hits "$id" "$L/data.mdb")" 0 "$id never appears in the chain's data.mdb"
    [ "$(hits "$id" "$L/identities/data.mdb")" -gt 0 ] || fail "$id is not in the identity store"
    pass
done

rl log
ok "log"
expect_match "$(logline "$ENR")" "patient=$MRN  rems-patient-id=$REMS  on=" "log: the enrollment's identifiers"
expect_match "$(logline "$S1")" "patient=$MRN  drug=esketamine" "log: the session's MRN"
rl session show "$S1"
ok "session show"
expect_match "$OUT" "^session $S1: esketamine intranasal, outpatient, patient $MRN; " \
    "session show: the MRN"

# a refused command leaves no identifier of a patient it saw first
refused 1 "session for a patient never enrolled" "^rxledger: refused: patient is not enrolled" \
    session open --patient MRN-NEVER-55501 --drug esketamine --route intranasal \
    --setting outpatient --prescriber "$SMITH" --observer "$LEE" --at "$(t 50)" --key alee.key
expect_eq "$(files_with MRN-NEVER-55501)" "" "the refused patient left no identifier behind"

expect_eq "$(files_with "$MRN")" "$L/identities/data.mdb" "before forget: the MRN only in the identity store"
expect_eq "$(files_with "$REMS")" "$L/identities/data.mdb" "before forget: the REMS id only in the identity store"

# --- forget -----------------------------------------------------------------------------
rl verify
ok "verify before forget"
HEAD=$(head_of "$L")
expect_match "$HEAD" "^$HEX64\$" "head before forget"
expect_match "$OUT" "^ok: $ENTRIES entries, " "entries before forget"
CHAIN_SUM=$(sum "$L/data.mdb")
rl patient forget "$MRN"
ok "patient forget"
expect_eq "$OUT" "erased patient ref $REF" "forget names the erased ref"
expect_eq "$(sum "$L/data.mdb")" "$CHAIN_SUM" "forget does not touch the chain's file"
rl verify
ok "verify after forget"
expect_eq "$OUT" "ok: $ENTRIES entries, head $HEAD" "verify after forget: same count, same head"

for id in "$MRN" "$REMS"; do
    expect_eq "$(files_with "$id")" "" "$id appears in no file under the ledger directory"
done
for id in "$MRN2" "$REMS2"; do
    [ "$(hits "$id" "$L/identities/data.mdb")" -gt 0 ] || fail "$id was erased with the other patient"
    pass
done

rl log
ok "log after forget"
expect_nomatch "$OUT" "$MRN|$REMS" "log after forget: no trace of the identifiers"
expect_match "$(logline "$ENR")" "patient=erased  rems-patient-id=erased  on=" "log: the enrollment erased"
expect_match "$(logline "$S1")" "patient=erased  drug=esketamine" "log: the session erased"
expect_match "$(logline "$S3")" "patient=erased  drug=ketamine" "log: the second session erased"
expect_match "$(logline "$ENR2")" "patient=$MRN2  rems-patient-id=$REMS2  on=" "log: the other patient kept"
expect_match "$(logline "$S2")" "patient=$MRN2  drug=esketamine" "log: the other session kept"
rl session show "$S1"
ok "session show after forget"
expect_match "$OUT" "^session $S1: esketamine intranasal, outpatient, patient erased; 2 doses, 56 mg in all\$" \
    "session show: patient erased, the record intact"
expect_match "$OUT" "^ +$S1  $(tms 10)  session\\.open +Ann Lee, RN +patient=erased  " \
    "session show: the session.open row erased"
expect_nomatch "$OUT" "$MRN" "session show: no MRN"
rl session show "$S2"
expect_match "$OUT" "^session $S2: .* patient $MRN2; " "session show of the other patient: the MRN"
rl show "$ENR"
ok "show after forget"
expect_match "$OUT" "^patient   erased\$" "show: the MRN erased"
expect_match "$OUT" "^rems-patient-id erased\$" "show: the REMS id erased"
expect_match "$OUT" "^  patient: h'$REF'\$" "show: the commitment is still in the entry"
rl show "$ENR2"
expect_match "$OUT" "^patient   $MRN2\$" "show of the other patient: the MRN"
expect_match "$OUT" "^rems-patient-id $REMS2\$" "show of the other patient: the REMS id"

# the erased patient's open session goes on: the chain needs no identifier
app "discharge of the erased patient's session" discharge --session "$S1" --sedation-resolved \
    --dissociation-resolved --respiration-stable --transport-arranged --at "$(t 140)" \
    --key alee.key
rl session show "$S1"
expect_match "$OUT" "patient erased; 2 doses" "the session still shows erased"
expect_eq "$(files_with "$MRN")" "" "still no trace of the MRN"

# forgetting what is not there
IDS_SUM=$(sum "$L/identities/data.mdb")
refused 1 "forget the same patient again" "^rxledger: no patient '$MRN' is known\$" \
    patient forget "$MRN"
refused 1 "forget an unknown MRN" "^rxledger: no patient 'MRN-NOBODY-1' is known\$" \
    patient forget MRN-NOBODY-1
expect_eq "$(sum "$L/identities/data.mdb")" "$IDS_SUM" "a refused forget leaves the identity store alone"
refused 2 "forget without an MRN" "^rxledger: " patient forget
refused 2 "forget an MRN with a space" "^rxledger: .*bad MRN" patient forget "MRN ZEBRA"

rl verify
ok "verify at the end"
expect_match "$OUT" "^ok: $ENTRIES entries, head $HEX64\$" "verify: ok with exactly $ENTRIES entries"

finish
