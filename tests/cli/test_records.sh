#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The clinical and stock record commands end to end: every command's happy path
# and what log, show, session show and inventory then print; the role each
# record type needs; the witnesses; and each validation rule (exit 2, one
# "rxledger: bad --FLAG 'value'" line, the ledger byte-for-byte unchanged).
# Ends with 'verify' and the exact number of entries.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=records_lib.sh
. "$HERE/records_lib.sh"

TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'

# expect_log SEQ TYPE SIGNER MEANING SUMMARY: the log line of SEQ, columns as
# EREs (TYPE and MEANING are matched literally).
expect_log() {
    local line type meaning
    line=$(logline "$1")
    type=$(printf '%s' "$2" | sed 's/\./\\./g')
    meaning=$(printf '%s' "$4" | sed 's/[.()]/\\&/g')
    expect_match "$line" "^ +$1  $TIME  $type +$3 +$meaning +$5" "log line of seq $1 ($2)"
}

setup_clinic
newkey eve "Eve Outsider" # never enrolled
# A witness whose key has its own passphrase, given by --witness-passphrase-file.
RXLEDGER_PASSPHRASE='walt has his own passphrase' rx key new --out walt.key \
    --name "Walt Witness, RN" "${KDF[@]}"
ok "key new walt (own passphrase)"
enroll walt nurse RN-11111
printf 'walt has his own passphrase\n' >walt.pass
printf 'not walts passphrase\n' >wrong.pass
chmod 600 walt.pass wrong.pass

# --- the site: setting certification and DEA registration (setup_clinic) -------
expect_log 6 setting.certify "Juniper Clinic" "certified setting recorded" \
    "rems-id=SET-0042  kind=outpatient  from=$(day -400)\$"
expect_log 7 registration "Juniper Clinic" "registration recorded" \
    "dea=$DEA_OK  schedules=\\[\"3\", \"4\", \"5\"\\]  expires=$(day 700)\$"
app "setting certify with --until" setting certify --rems-id SET-0099 --kind inpatient \
    --from "$(day -10)" --until "$(day 355)" --key site.key
expect_log "$SEQ" setting.certify "Juniper Clinic" "certified setting recorded" \
    "rems-id=SET-0099  kind=inpatient  from=$(day -10)  until=$(day 355)\$"

# --- stock received; NDCs stored normalized, the written form kept --------------
receive 50458-028-02 L2611A 4 2 28 esketamine "$(t 5)" "28 mg nasal device"
E_RCV=$SEQ
expect_log "$E_RCV" stock.receive "Jane Roe, PharmD" "received stock" \
    "ndc=50458-0028-02  lot=L2611A  expires=$(day 300)  substance=esketamine  form=28 mg nasal device"
receive 42023-113-10 K7731 1 5 500 ketamine "$(t 6)" "500 mg/10 mL vial"
receive 0002-7597-01 X4442 1 10 100 ketamine "$(t 7)"
X_RCV=$SEQ
receive 60575-4112-1 X5441 1 10 100 ketamine "$(t 8)"
rl show "$X_RCV"
ok "show of the 4-4-2 receipt"
expect_match "$OUT" '^  ndc: "00002-7597-01"$' "4-4-2 NDC stored as 5-4-2"
expect_match "$OUT" '^  ndc-written: "0002-7597-01"$' "the NDC as written is kept"
expect_match "$OUT" '^  supplier-dea: "AP5836727"$' "receipt keeps the supplier DEA"
expect_match "$OUT" '^  units-per-container: 10$' "receipt keeps units per container"
expect_match "$OUT" "^signature signed by Jane Roe, PharmD on $TIME, meaning: received stock\$" \
    "receipt signature manifestation"
expect_match "$(logline "$SEQ")" 'ndc=60575-4112-01  lot=X5441' "5-4-1 NDC shown as 5-4-2"

# --- patients ------------------------------------------------------------------
app "patient enroll" patient enroll --patient MRN-1001 --rems-patient-id REMS-77001 \
    --on "$(day -1)" --key msmith.key
expect_match "$OUT" "^patient ref $HEX64\$" "patient enroll prints the patient ref"
expect_lines "$OUT" 2 "patient enroll prints two lines"
ENR1001=$SEQ
expect_log "$SEQ" patient.enroll "Mark Smith, MD" "patient REMS enrollment recorded" \
    "patient=MRN-1001  rems-patient-id=REMS-77001  on=$(day -1)\$"
app "patient enroll by the nurse" patient enroll --patient MRN-1002 \
    --rems-patient-id REMS-77002 --on "$(day -2)" --key alee.key
ENR1002=$SEQ

# --- session 1: esketamine 56 mg, monitored, signed off --------------------------
session_open MRN-1001 esketamine intranasal outpatient "$(t 10)"
S1=$S
expect_log "$S1" session.open "Ann Lee, RN" "opened session" \
    "patient=MRN-1001  drug=esketamine  route=intranasal  setting=outpatient  prescriber=${SMITH:0:8}"
app "vitals pre" vitals --session "$S1" --phase pre --bp 128/82 --hr 72 --spo2 98 \
    --note "calm, no complaints" --at "$(t 12)" --key alee.key
V1=$SEQ
expect_log "$V1" vitals "Ann Lee, RN" "recorded vital signs" \
    "phase=pre  bp=128/82  hr=72  spo2=98  note=calm, no complaints\$"
app "dose device 1" dose --session "$S1" --ndc 50458-028-02 --lot L2611A --mg 28 --device 1 \
    --at "$(t 15)" --key alee.key
D1=$SEQ
expect_log "$D1" dose "Ann Lee, RN" "administered" \
    "ndc=50458-0028-02  lot=L2611A  mg=28  device=1\$"
# the same NDC written in its 11-digit form lands on the same lot
app "dose device 2 (NDC written 5-4-2)" dose --session "$S1" --ndc 50458-0028-02 --lot L2611A \
    --mg 28 --device 2 --at "$(t 20)" --key alee.key
D2=$SEQ
app "vitals post40" vitals --session "$S1" --phase post40 --bp 138/88 --hr 76 --spo2 97 \
    --at "$(t 56)" --key alee.key
V2=$SEQ
app "vitals discharge" vitals --session "$S1" --phase discharge --bp 126/80 --hr 70 --spo2 98 \
    --at "$(t 140)" --key alee.key
V3=$SEQ
app "discharge" discharge --session "$S1" --sedation-resolved --dissociation-resolved \
    --respiration-stable --transport-arranged --at "$(t 145)" --key alee.key
DIS1=$SEQ
expect_log "$DIS1" discharge "Ann Lee, RN" "monitoring observer: discharge approved" \
    "sedation-resolved  dissociation-resolved  respiration-stable  transport-arranged\$"
app "pmf" pmf --session "$S1" --submitted "$(day 0)" --key msmith.key
PMF1=$SEQ
expect_log "$PMF1" pmf "Mark Smith, MD" "monitoring form submission recorded" \
    "submitted=$(day 0)\$"

rl show "$D1"
ok "show dose"
expect_match "$OUT" "^type      dose\$" "show: type"
expect_match "$OUT" "^event     $(tms 15)\$" "show: the event time as given by --at"
expect_match "$OUT" "^signer    Ann Lee, RN \\(nurse\\), kid $LEE\$" "show: signer as enrolled"
expect_match "$OUT" "^signature signed by Ann Lee, RN on $TIME, meaning: administered\$" \
    "show: signature manifestation"
expect_match "$OUT" '^  ndc: "50458-0028-02"$' "show: NDC stored normalized"
expect_match "$OUT" '^  ndc-written: "50458-028-02"$' "show: NDC as written"
expect_match "$OUT" "^  session: $S1\$" "show: the session"
expect_match "$OUT" '^  mg: 28$' "show: mg"
rl show "$D2"
expect_match "$OUT" '^  ndc-written: "50458-0028-02"$' "show: 5-4-2 as written is kept too"

rl session show "$S1"
ok "session show S1"
ROWS=$(printf '%s\n' "$OUT" | awk '$1 ~ /^[0-9]+$/ { printf "%s:%s ", $1, $3 }')
expect_eq "$ROWS" "$S1:session.open $V1:vitals $D1:dose $D2:dose $V2:vitals $V3:vitals $DIS1:discharge $PMF1:pmf " \
    "session show lists every step of the session, in order"
expect_match "$OUT" "^ +$D1  $(tms 15)  dose +Ann Lee, RN +ndc=50458-0028-02  lot=L2611A  mg=28  device=1\$" \
    "session show: a step with its event time, signer and record"
expect_match "$OUT" "^session $S1: esketamine intranasal, outpatient, patient MRN-1001; 2 doses, 56 mg in all\$" \
    "session show: the summary"
expect_match "$OUT" "^monitoring: 125 min from the last dose \\($(tms 20)\\), 130 min from the first \\($(tms 15)\\), to discharge at entry $DIS1\$" \
    "session show: monitoring minutes from the last and the first dose"

# --- session 2: IV ketamine, waste with a witness ---------------------------------
session_open MRN-2001 ketamine iv outpatient "$(t 60)" --weight-kg 72.5
S2=$S
rl show "$S2"
expect_match "$OUT" '^  weight-kg: 72500$' "weight stored in grams"
app "vitals pre (S2)" vitals --session "$S2" --phase pre --bp 124/80 --hr 70 --spo2 99 \
    --at "$(t 62)" --key alee.key
app "IV dose with mL and concentration" dose --session "$S2" --ndc 42023-113-10 --lot K7731 \
    --mg 36 --ml 0.72 --concentration 50mg/ml --at "$(t 65)" --key msmith.key
D3=$SEQ
expect_log "$D3" dose "Mark Smith, MD" "administered" \
    "ndc=42023-0113-10  lot=K7731  mg=36  ml=0\\.72  concentration=50mg/ml\$"
rl show "$D3"
expect_match "$OUT" '^  ml: 720$' "mL stored in microlitres"
expect_match "$OUT" '^  concentration: 50000$' "concentration stored in ug/mL"
refused 1 "waste with the wrong witness passphrase" "^rxledger: wrong passphrase for 'walt\\.key'\$" \
    waste --session "$S2" --ndc 42023-113-10 --lot K7731 --mg 464 --manner "charcoal pouch" \
    --key msmith.key --witness-key walt.key --witness-passphrase-file wrong.pass --at "$(t 66)"
appw 1 "waste with a witness" waste --session "$S2" --ndc 42023-113-10 --lot K7731 --mg 464 \
    --manner "drawn into a syringe, emptied into charcoal pouch" --key msmith.key \
    --witness-key walt.key --witness-passphrase-file walt.pass --at "$(t 66)"
W1=$SEQ
expect_log "$W1" waste "Mark Smith, MD" "wasted" \
    "ndc=42023-0113-10  lot=K7731  mg=464  manner=drawn into a syringe, emptied into charcoal pouch\$"
expect_log "$((W1 + 1))" witness "Walt Witness, RN" "witnessed waste" "ref=$W1\$"
rl show "$W1"
ok "show waste"
expect_match "$OUT" "^witnessed by seq $((W1 + 1)): Walt Witness, RN, $TIME \\(witnessed waste\\): ref=$W1\$" \
    "show of a waste: witnessed by seq"
rl show "$((W1 + 1))"
expect_match "$OUT" "^signature signed by Walt Witness, RN on $TIME, meaning: witnessed waste\$" \
    "show of the witness entry: its meaning"
rl session show "$S2"
ok "session show S2 (open)"
expect_match "$OUT" "^ +$W1  $(tms 66)  waste " "session show lists the waste"
expect_match "$OUT" "^ +witnessed by seq $((W1 + 1)): Walt Witness, RN" \
    "session show: the witness under the waste"
expect_match "$OUT" "^ +$((W1 + 1))  $(tms 66)  witness +Walt Witness, RN +ref=$W1\$" \
    "session show lists the witness entry"
expect_match "$OUT" "weight-kg=72\\.5" "session show: the weight"
expect_match "$OUT" "^open: not yet discharged\$" "session show of an open session"
expect_nomatch "$OUT" "^monitoring:" "no monitoring figures before discharge"

# roles on an open session whose sequence is otherwise fine
refused 1 "pharmacist signing a discharge" \
    "^rxledger: cannot append: role 'pharmacist' may not sign 'discharge' entries\$" \
    discharge --session "$S2" --sedation-resolved --at "$(t 130)" --key jroe.key
refused 1 "pharmacist signing vitals" \
    "^rxledger: cannot append: role 'pharmacist' may not sign 'vitals' entries\$" \
    vitals --session "$S2" --phase other --hr 70 --at "$(t 120)" --key jroe.key
refused 1 "admin signing a dose" "^rxledger: cannot append: role 'admin' may not sign 'dose' entries\$" \
    dose --session "$S2" --ndc 42023-113-10 --lot K7731 --mg 10 --at "$(t 70)" --key ada.key
refused 1 "admin signing a waste" "^rxledger: cannot append: role 'admin' may not sign 'waste' entries\$" \
    waste --ndc 42023-113-10 --lot K7731 --mg 10 --manner "pouch" --key ada.key --witness-key bob.key
refused 1 "unenrolled key signing a dose" "^rxledger: " \
    dose --session "$S2" --ndc 42023-113-10 --lot K7731 --mg 10 --at "$(t 70)" --key eve.key

# The sign-off is the session's observer's (Ann Lee), not another clinician's.
refused 1 "discharge S2 by a prescriber who is not its observer" "observer" \
    discharge --session "$S2" --sedation-resolved --dissociation-resolved --respiration-stable \
    --at "$(t 130)" --key msmith.key
app "discharge S2 (ketamine, 65 min)" discharge --session "$S2" --sedation-resolved \
    --dissociation-resolved --respiration-stable --at "$(t 130)" --key alee.key
DIS2=$SEQ
rl session show "$S2"
expect_match "$OUT" "^session $S2: ketamine iv, outpatient, patient MRN-2001; 1 dose, 36 mg in all\$" \
    "session show S2 summary"
expect_match "$OUT" "^monitoring: 65 min from the last dose \\($(tms 65)\\), 65 min from the first \\($(tms 65)\\), to discharge at entry $DIS2\$" \
    "session show S2 monitoring minutes"

# --- stock: count, loss and its reporting, destruction with two witnesses --------
app "stock count" stock count --ndc 50458-028-02 --lot L2611A --on-hand 6 --when close \
    --complete --at "$(t 200)" --key jroe.key
C1=$SEQ
expect_log "$C1" stock.count "Jane Roe, PharmD" "counted stock" \
    "ndc=50458-0028-02  lot=L2611A  on-hand=6  when=close  complete\$"
app "stock count, opening, not complete" stock count --ndc 42023-113-10 --lot K7731 \
    --on-hand 4 --when open --at "$(t 1)" --key bob.key
expect_match "$(logline "$SEQ")" "on-hand=4  when=open\$" "a count without --complete"
app "stock loss" stock loss --ndc 60575-4112-1 --lot X5441 --units 2 --kind theft \
    --discovered "$(t 150)" --key jroe.key
LOSS=$SEQ
expect_log "$LOSS" stock.loss "Jane Roe, PharmD" "reported theft or loss" \
    "ndc=60575-4112-01  lot=X5441  units=2  kind=theft  discovered=$(tms 150)\$"
refused 2 "report-loss naming a dose" "^rxledger: bad --ref: entry $D1 is not a stock loss\$" \
    stock report-loss --ref "$D1" --dea-notified "$(t 160)" --key jroe.key
app "stock report-loss" stock report-loss --ref "$LOSS" --dea-notified "$(t 160)" \
    --form106-filed "$(t 170)" --key jroe.key
expect_log "$SEQ" stock.report-loss "Jane Roe, PharmD" "recorded loss reporting" \
    "ref=$LOSS  dea-notified=$(tms 160)  form106-filed=$(tms 170)\$"
app "stock report-loss by the site key" stock report-loss --ref "$LOSS" --dea-notified "$(t 161)" \
    --key site.key
appw 2 "stock destroy with two witnesses" stock destroy --ndc 0002-7597-01 --lot X4442 --units 1 \
    --method "reverse distributor" --key jroe.key --witness-key bob.key --witness-key msmith.key
DEST=$SEQ
expect_log "$DEST" stock.destroy "Jane Roe, PharmD" "destroyed stock" \
    "ndc=00002-7597-01  lot=X4442  units=1  method=reverse distributor\$"
expect_log "$((DEST + 1))" witness "Bob Ng, PharmD" "witnessed destruction" "ref=$DEST\$"
expect_log "$((DEST + 2))" witness "Mark Smith, MD" "witnessed destruction" "ref=$DEST\$"
rl show "$DEST"
expect_count "$OUT" "^witnessed by seq $((DEST + 1)): Bob Ng, PharmD|^witnessed by seq $((DEST + 2)): Mark Smith, MD" 2 \
    "show of a destruction names both witnesses"

# --- amend -------------------------------------------------------------------------
app "amend the count" amend "$C1" --reason "recount: one device in the fridge" \
    --set on-hand=7 --key jroe.key
AM=$SEQ
expect_log "$AM" amend "Jane Roe, PharmD" "corrected" \
    "ref=$C1  reason=recount: one device in the fridge  set=on-hand: \"7\"\$"
rl show "$C1"
expect_match "$OUT" '^  on-hand: 6$' "the corrected entry keeps its value"
expect_match "$OUT" "^corrected by seq $AM: Jane Roe, PharmD, $TIME \\(corrected\\): ref=$C1  reason=recount: one device in the fridge  set=on-hand: \"7\"\$" \
    "show of a corrected entry names the correction"

# --- inventory -----------------------------------------------------------------------
rl inventory
ok "inventory"
expect_match "$OUT" '^ndc +lot +substance +expires +unit +received +admin mg +waste +destroyed +lost +on hand \(units\) +last count$' \
    "inventory header"
expect_lines "$OUT" 5 "inventory: the header and four lots"
# ndc lot substance expires unit received admin waste destroyed lost on-hand... last-count
expect_eq "$(inv_row 50458-0028-02 L2611A | awk '{ $4 = ""; print }')" \
    "50458-0028-02 L2611A esketamine  28 8 56 0 0 0 6 + 0 mg 7 (seq $C1)" \
    "inventory of L2611A (both written forms, the corrected count)"
expect_eq "$(inv_row 42023-0113-10 K7731 | awk '{ $4 = ""; print }')" \
    "42023-0113-10 K7731 ketamine  500 5 36 464 0 0 4 + 0 mg 4 (seq $((C1 + 1)))" \
    "inventory of K7731"
expect_eq "$(inv_row 00002-7597-01 X4442 | awk '{ print $6, $9, $11, $12, $13, $14 }')" \
    "10 1 9 + 0 mg" "inventory of X4442 (normalized NDC, one destroyed)"
expect_eq "$(inv_row 60575-4112-01 X5441 | awk '{ print $6, $10, $11 }')" "10 2 8" \
    "inventory of X5441 (two lost)"

# --- roles -----------------------------------------------------------------------
RCV_ARGS=(--ndc 50458-028-02 --lot L9 --expires "$(day 300)" --containers 1
    --units-per-container 2 --unit-mg 28 --substance esketamine --form "28 mg device"
    --supplier "McKesson" --supplier-address "1 Main St" --supplier-dea AP5836727)
# rcv FLAG VALUE: RA = RCV_ARGS with --FLAG's value replaced by VALUE, signed by jroe.
rcv() {
    local i
    RA=("${RCV_ARGS[@]}" --key jroe.key)
    for ((i = 0; i < ${#RA[@]}; i++)); do
        [ "${RA[i]}" != "--$1" ] || RA[i + 1]=$2
    done
}
refused 1 "nurse receiving stock" \
    "^rxledger: cannot append: role 'nurse' may not sign 'stock\\.receive' entries\$" \
    stock receive "${RCV_ARGS[@]}" --key alee.key
refused 1 "prescriber counting stock" \
    "^rxledger: cannot append: role 'prescriber' may not sign 'stock\\.count' entries\$" \
    stock count --ndc 50458-028-02 --lot L2611A --on-hand 6 --when close --key msmith.key
refused 1 "nurse recording a loss" \
    "^rxledger: cannot append: role 'nurse' may not sign 'stock\\.loss' entries\$" \
    stock loss --ndc 50458-028-02 --lot L2611A --units 1 --kind loss --discovered "$(t 1)" \
    --key alee.key
refused 1 "nurse recording loss reporting" \
    "^rxledger: cannot append: role 'nurse' may not sign 'stock\\.report-loss' entries\$" \
    stock report-loss --ref "$LOSS" --dea-notified "$(t 160)" --key alee.key
refused 1 "prescriber destroying stock" \
    "^rxledger: cannot append: role 'prescriber' may not sign 'stock\\.destroy' entries\$" \
    stock destroy --ndc 50458-028-02 --lot L2611A --units 1 --method x --key msmith.key \
    --witness-key bob.key --witness-key alee.key
refused 1 "pharmacist recording the registration" \
    "^rxledger: cannot append: role 'pharmacist' may not sign 'registration' entries\$" \
    registration --dea "$DEA_OK" --schedules 3 --expires "$(day 700)" --key jroe.key
refused 1 "prescriber certifying the setting" \
    "^rxledger: cannot append: role 'prescriber' may not sign 'setting\\.certify' entries\$" \
    setting certify --rems-id SET-1 --kind outpatient --from "$(day -1)" --key msmith.key
refused 1 "site key enrolling a patient" \
    "^rxledger: cannot append: role 'site' may not sign 'patient\\.enroll' entries\$" \
    patient enroll --patient MRN-3003 --rems-patient-id REMS-3 --on "$(day -1)" --key site.key
refused 1 "admin opening a session" \
    "^rxledger: cannot append: role 'admin' may not sign 'session\\.open' entries\$" \
    session open --patient MRN-2001 --drug ketamine --route iv --setting outpatient \
    --prescriber "$SMITH" --observer "$LEE" --key ada.key
refused 1 "site key recording a pmf" "^rxledger: cannot append: role 'site' may not sign 'pmf' entries\$" \
    pmf --session "$S1" --submitted "$(day 0)" --key site.key
refused 1 "site key amending" "^rxledger: cannot append: role 'site' may not sign 'amend' entries\$" \
    amend "$D1" --reason "x" --set mg=28 --key site.key
app "admin may record a pmf" pmf --session "$S2" --submitted "$(day 0)" --key ada.key
app "pharmacist may open a session" session open --patient MRN-2001 --drug ketamine --route im \
    --setting inpatient --prescriber "${SMITH:0:8}" --observer "$(printf '%s' "$LEE" | tr a-f A-F)" \
    --at "$(t 100)" --key jroe.key
S3=$SEQ
rl show "$S3"
expect_match "$OUT" "^  prescriber: h'$SMITH'\$" "an 8-digit kid prefix resolves to the enrolled key"
expect_match "$OUT" "^  observer: h'$LEE'\$" "an upper-case kid resolves to the enrolled key"

# --prescriber / --observer must name keys of the right roles
refused 2 "--prescriber naming a nurse" \
    "^rxledger: bad --prescriber: Ann Lee, RN is enrolled as nurse, not prescriber\$" \
    session open --patient MRN-2001 --drug ketamine --route iv --setting outpatient \
    --prescriber "$LEE" --observer "$LEE" --key alee.key
refused 2 "--observer naming a pharmacist" "^rxledger: bad --observer: Jane Roe, PharmD is enrolled as pharmacist" \
    session open --patient MRN-2001 --drug ketamine --route iv --setting outpatient \
    --prescriber "$SMITH" --observer "$JROE" --key alee.key
refused 2 "--observer naming an admin" "^rxledger: bad --observer: Ada Admin is enrolled as admin" \
    session open --patient MRN-2001 --drug ketamine --route iv --setting outpatient \
    --prescriber "$SMITH" --observer "$ADA" --key alee.key

# witnesses: licensed, enrolled, not the signer, not each other
WASTE_ARGS=(--ndc 42023-113-10 --lot K7731 --mg 10 --manner "pouch")
refused 2 "the signer as their own witness" \
    "^rxledger: the witness must be someone other than the signer\$" \
    waste "${WASTE_ARGS[@]}" --key msmith.key --witness-key msmith.key
refused 1 "an admin as witness" "^rxledger: witness Ada Admin is enrolled as admin, not a licensed role\$" \
    waste "${WASTE_ARGS[@]}" --key msmith.key --witness-key ada.key
refused 1 "an unenrolled witness" "^rxledger: witness key eve\\.key is not enrolled\$" \
    waste "${WASTE_ARGS[@]}" --key msmith.key --witness-key eve.key
refused 2 "two witnesses on a waste" "^rxledger: .*at most 1 witness" \
    waste "${WASTE_ARGS[@]}" --key msmith.key --witness-key bob.key --witness-key alee.key
DESTROY_ARGS=(--ndc 0002-7597-01 --lot X4442 --units 1 --method "reverse distributor")
refused 2 "the same witness twice" "^rxledger: the two witnesses must be different people\$" \
    stock destroy "${DESTROY_ARGS[@]}" --key jroe.key --witness-key bob.key --witness-key bob.key
refused 2 "the destroyer as a witness" "^rxledger: the witness must be someone other than the signer\$" \
    stock destroy "${DESTROY_ARGS[@]}" --key jroe.key --witness-key bob.key --witness-key jroe.key
refused 1 "destruction with one witness" \
    "^rxledger: refused: stock destroy needs 2 witnesses \\(--witness-key\\)" \
    stock destroy "${DESTROY_ARGS[@]}" --key jroe.key --witness-key bob.key
refused 1 "destruction with an admin witness" "^rxledger: witness Ada Admin is enrolled as admin" \
    stock destroy "${DESTROY_ARGS[@]}" --key jroe.key --witness-key bob.key --witness-key ada.key

# --- validation: exit 2, one line naming the flag and the value, nothing written --
app "vitals pre (S3)" vitals --session "$S3" --phase pre --bp 120/80 --at "$(t 102)" --key alee.key
# DEA check digit
bad dea "$DEA_BAD" "registration: DEA check digit" registration --dea "$DEA_BAD" --schedules 3 \
    --expires "$(day 700)" --key site.key
rcv supplier-dea AB4523763
bad supplier-dea AB4523763 "receipt: supplier DEA check digit" stock receive "${RA[@]}"
bad dea AP583672 "registration: DEA with 6 digits" registration --dea AP583672 --schedules 3 \
    --expires "$(day 700)" --key site.key
bad schedules 3,7 "registration: unknown schedule" registration --dea "$DEA_OK" --schedules 3,7 \
    --expires "$(day 700)" --key site.key
# NDC
bad ndc 0002759701 "unhyphenated 10-digit NDC" stock count --ndc 0002759701 --lot L2611A \
    --on-hand 6 --when close --key jroe.key
expect_match "$ERR" "ambiguous" "the 10-digit refusal says why"
bad ndc 50458-28-02 "NDC 5-2-2" dose --session "$S3" --ndc 50458-28-02 --lot L2611A --mg 28 \
    --key alee.key
bad ndc 5O458-028-02 "NDC with a letter" dose --session "$S3" --ndc 5O458-028-02 --lot L2611A \
    --mg 28 --key alee.key
# blood pressure, SpO2, heart rate
for bp in 301/80 49/40 120/19 250/201 120/120 110/130 12080 120/ /80 abc/80; do
    bad bp "$bp" "--bp $bp" vitals --session "$S3" --phase other --bp "$bp" --key alee.key
done
for bp in 300/80 50/20 300/200 121/120; do
    app "--bp $bp (at the limits)" vitals --session "$S3" --phase other --bp "$bp" --key alee.key
done
bad spo2 101 "--spo2 101" vitals --session "$S3" --phase other --spo2 101 --key alee.key
bad spo2 -1 "--spo2 -1" vitals --session "$S3" --phase other --spo2 -1 --key alee.key
bad hr 19 "--hr 19" vitals --session "$S3" --phase other --hr 19 --key alee.key
bad hr 251 "--hr 251" vitals --session "$S3" --phase other --hr 251 --key alee.key
app "--spo2 0 --hr 20 (limits)" vitals --session "$S3" --phase other --spo2 0 --hr 20 --key alee.key
app "--spo2 100 --hr 250 (limits)" vitals --session "$S3" --phase other --spo2 100 --hr 250 \
    --key alee.key
# quantities: positive integers
for mg in 0 -5 2.5 1e3 ""; do
    bad mg "$mg" "dose --mg '$mg'" dose --session "$S3" --ndc 42023-113-10 --lot K7731 \
        --mg "$mg" --key msmith.key
done
bad mg 0 "waste --mg 0" waste --ndc 42023-113-10 --lot K7731 --mg 0 --manner pouch \
    --key msmith.key --witness-key bob.key
rcv containers 0
bad containers 0 "receive --containers 0" stock receive "${RA[@]}"
rcv units-per-container 0
bad units-per-container 0 "receive --units-per-container 0" stock receive "${RA[@]}"
rcv unit-mg 0
bad unit-mg 0 "receive --unit-mg 0" stock receive "${RA[@]}"
bad units 0 "loss --units 0" stock loss --ndc 42023-113-10 --lot K7731 --units 0 --kind loss \
    --discovered "$(t 1)" --key jroe.key
bad units 0 "destroy --units 0" stock destroy --ndc 0002-7597-01 --lot X4442 --units 0 \
    --method "reverse distributor" --key jroe.key --witness-key bob.key --witness-key msmith.key
bad on-hand -1 "count --on-hand -1" stock count --ndc 42023-113-10 --lot K7731 --on-hand -1 \
    --when close --key jroe.key
bad weight-kg 0.5 "--weight-kg below 1 kg" session open --patient MRN-2001 --drug ketamine \
    --route iv --setting inpatient --prescriber "$SMITH" --observer "$LEE" --weight-kg 0.5 \
    --key alee.key
bad weight-kg 72.5555 "--weight-kg with 4 decimals" session open --patient MRN-2001 \
    --drug ketamine --route iv --setting inpatient --prescriber "$SMITH" --observer "$LEE" \
    --weight-kg 72.5555 --key alee.key
bad concentration 50mg "--concentration without /ml" dose --session "$S3" --ndc 42023-113-10 \
    --lot K7731 --mg 10 --concentration 50mg --key msmith.key
# dates and times
rcv expires 2027-02-30
bad expires 2027-02-30 "receive --expires 2027-02-30" stock receive "${RA[@]}"
bad expires 2028-13-01 "registration --expires month 13" registration --dea "$DEA_OK" \
    --schedules 3 --expires 2028-13-01 --key site.key
bad from 2026/01/01 "setting --from with slashes" setting certify --rems-id SET-1 \
    --kind outpatient --from 2026/01/01 --key site.key
bad on 2026-11 "patient enroll --on without a day" patient enroll --patient MRN-4004 \
    --rems-patient-id REMS-4 --on 2026-11 --key alee.key
bad submitted 22-11-2026 "pmf --submitted day first" pmf --session "$S1" --submitted 22-11-2026 \
    --key msmith.key
bad at yesterday "--at yesterday" vitals --session "$S3" --phase other --hr 70 --at yesterday \
    --key alee.key
bad at 2026-11-22T25:00:00Z "--at hour 25" vitals --session "$S3" --phase other --hr 70 \
    --at 2026-11-22T25:00:00Z --key alee.key
bad discovered 2026-11-22 "--discovered without a time" stock loss --ndc 42023-113-10 \
    --lot K7731 --units 1 --kind loss --discovered 2026-11-22 --key jroe.key
SOON=$(date -u -d "@$(($(date +%s) + 120))" +%Y-%m-%dT%H:%M:%SZ)
app "--at 2 minutes ahead (within the 5 min tolerance)" vitals --session "$S3" --phase other \
    --hr 70 --at "$SOON" --key alee.key
FUTURE=$(date -u -d "@$(($(date +%s) + 600))" +%Y-%m-%dT%H:%M:%SZ)
before=$(sum "$L/data.mdb")
rl vitals --session "$S3" --phase other --hr 70 --at "$FUTURE" --key alee.key
[ "$RC" -ne 0 ] || fail "--at 10 minutes ahead was accepted"
pass
expect_err_line "--at 10 minutes ahead"
expect_match "$ERR" "future" "--at 10 minutes ahead: the message says why"
expect_eq "$(sum "$L/data.mdb")" "$before" "--at 10 minutes ahead: data.mdb unchanged"
# choices
bad kind mobile "setting --kind mobile" setting certify --rems-id SET-1 --kind mobile \
    --from "$(day -1)" --key site.key
SO=(--patient MRN-2001 --prescriber "$SMITH" --observer "$LEE" --key alee.key)
bad drug fentanyl "--drug fentanyl" session open "${SO[@]}" --drug fentanyl --route iv \
    --setting inpatient
bad route nasal "--route nasal" session open "${SO[@]}" --drug ketamine --route nasal \
    --setting inpatient
bad setting home "--setting home" session open "${SO[@]}" --drug ketamine --route iv \
    --setting home
bad drug Ketamine "--drug Ketamine (case)" session open "${SO[@]}" --drug Ketamine --route iv \
    --setting inpatient
bad phase during "--phase during" vitals --session "$S3" --phase during --hr 70 --key alee.key
rcv substance fentanyl
bad substance fentanyl "--substance fentanyl" stock receive "${RA[@]}"
bad when noon "--when noon" stock count --ndc 42023-113-10 --lot K7731 --on-hand 1 --when noon \
    --key jroe.key
bad kind misplaced "loss --kind misplaced" stock loss --ndc 42023-113-10 --lot K7731 --units 1 \
    --kind misplaced --discovered "$(t 1)" --key jroe.key
# key ids
bad prescriber zzzzzzzz "--prescriber not hex" session open --patient MRN-2001 --drug ketamine \
    --route iv --setting inpatient --prescriber zzzzzzzz --observer "$LEE" --key alee.key
bad prescriber "${SMITH:0:7}" "--prescriber with 7 hex digits" session open --patient MRN-2001 \
    --drug ketamine --route iv --setting inpatient --prescriber "${SMITH:0:7}" --observer "$LEE" \
    --key alee.key
bad observer deadbeefdeadbeef "--observer matching no key" session open --patient MRN-2001 \
    --drug ketamine --route iv --setting inpatient --prescriber "$SMITH" \
    --observer deadbeefdeadbeef --key alee.key
expect_match "$ERR" "no enrolled key" "--observer matching no key says so"
# unknown sessions
refused 2 "--session 999 (no such entry)" "^rxledger: bad --session 999: no session 999" \
    vitals --session 999 --phase pre --bp 120/80 --key alee.key
refused 2 "--session naming a dose" "^rxledger: bad --session $D1: no session $D1" \
    dose --session "$D1" --ndc 50458-028-02 --lot L2611A --mg 28 --key alee.key
refused 2 "pmf for a receipt" "^rxledger: bad --session $E_RCV: " \
    pmf --session "$E_RCV" --submitted "$(day 0)" --key msmith.key
bad session abc "--session abc" vitals --session abc --phase pre --bp 120/80 --key alee.key
# text: control characters (one that keeps the message on one line), empty, too long
bad note "$(printf 'calm\tquiet')" "--note with a tab" vitals --session "$S3" --phase other \
    --note "$(printf 'calm\tquiet')" --key alee.key
expect_match "$ERR" "control character" "the control-character refusal says why"
bad lot "$(printf 'L\001X')" "--lot with \\x01" dose --session "$S3" --ndc 42023-113-10 \
    --lot "$(printf 'L\001X')" --mg 10 --key msmith.key
bad lot "" "empty --lot" dose --session "$S3" --ndc 42023-113-10 --lot "" --mg 10 --key msmith.key
LONG=$(head -c 65 /dev/zero | tr '\0' 'L')
bad lot "$LONG" "--lot of 65 bytes" dose --session "$S3" --ndc 42023-113-10 --lot "$LONG" \
    --mg 10 --key msmith.key
refused 2 "--patient with a space" "^rxledger: bad --patient: " patient enroll --patient "MRN 1" \
    --rems-patient-id REMS-5 --on "$(day -1)" --key alee.key
# usage
refused 2 "dose without --mg" "^rxledger: .*--mg is required" dose --session "$S3" \
    --ndc 42023-113-10 --lot K7731 --key msmith.key
refused 2 "vitals without --key" "^rxledger: .*--key is required" vitals --session "$S3" \
    --phase other --hr 70
refused 2 "an option twice" "^rxledger: .*given twice" vitals --session "$S3" --phase other \
    --hr 70 --hr 71 --key alee.key
refused 2 "vitals has no --override" "^rxledger: .*unknown option '--override'" vitals \
    --session "$S3" --phase other --hr 70 --override x --key alee.key

# --- patient forget (test_privacy.sh has the rest) ------------------------------------
REF1002=$("$RXLEDGER" -l "$L" show "$ENR1002" </dev/null | sed -n "s/^  patient: h'\\([0-9a-f]*\\)'\$/\\1/p")
expect_match "$REF1002" "^$HEX64\$" "the enrollment's patient ref"
rl patient forget MRN-1002
ok "patient forget"
expect_eq "$OUT" "erased patient ref $REF1002" "patient forget names the erased ref"
expect_match "$(logline "$ENR1002")" "patient=erased  rems-patient-id=erased  on=$(day -2)\$" \
    "log after forget: erased"
expect_match "$(logline "$ENR1001")" "patient=MRN-1001  rems-patient-id=REMS-77001" \
    "log after forget: the other patient kept"
refused 1 "forget of an unknown MRN" "^rxledger: no patient 'MRN-1002' is known\$" \
    patient forget MRN-1002

# --- the whole chain ---------------------------------------------------------------
rl verify
ok "verify"
expect_match "$OUT" "^ok: $ENTRIES entries, head $HEX64\$" "verify: ok with exactly $ENTRIES entries"
rl log
expect_lines "$OUT" "$ENTRIES" "log: one line per entry"
expect_match "$(printf '%s\n' "$OUT" | tail -n 1)" "^ +$((ENTRIES - 1))  " "log ends at the last seq"

# --- regressions: defects found while writing these tests, now fixed ---------------
# Fixed: a refused value with a newline or an escape sequence is echoed raw in the
# "bad --FLAG 'value'" message: the message is split over two lines, and
# terminal escapes reach the terminal (the ledger itself is unchanged).
for v in "$(printf 'pouch\nand sink')" "$(printf 'pouch\033[2Jsink')"; do
    refused 2 "--manner with a control character: one stderr line" "^rxledger: bad --manner '" \
        waste --ndc 42023-113-10 --lot K7731 --mg 10 --manner "$v" --key msmith.key \
        --witness-key bob.key
    case "$ERR" in
    *$'\033'* | *$'\n'*) fail "a control character of --manner reached stderr raw" ;;
    esac
    pass
done
# Fixed: --at more than 5 minutes in the future is a validation refusal (exit 2,
# "bad --at '...'"), but the record commands exit 1 with "cannot append: event
# time is more than 5 minutes in the future".
bad at "$FUTURE" "--at 10 minutes ahead is refused as bad --at (exit 2)" vitals \
    --session "$S3" --phase other --hr 70 --at "$FUTURE" --key alee.key

finish
