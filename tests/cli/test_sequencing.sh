#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The entry-time sequencing checks: each out-of-order step is refused (exit 1,
# the ledger unchanged) and accepted under --override REASON, the reason then
# part of the entry; a discharged session takes no more steps, override or
# not; and amendments: a new entry naming the original, whose bytes never change.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$HERE/lib.sh"
# shellcheck source=records_lib.sh
. "$HERE/records_lib.sh"

TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z'
HINT='\(give --override REASON to record it anyway\)$'

setup_clinic
receive 50458-028-02 L2611A 4 2 28 esketamine "$(t 0)"
receive 42023-113-10 K7731 1 5 500 ketamine "$(t 1)"
app "enroll MRN-1001" patient enroll --patient MRN-1001 --rems-patient-id REMS-77001 \
    --on "$(day -1)" --key msmith.key
app "enroll MRN-1003 today" patient enroll --patient MRN-1003 --rems-patient-id REMS-77003 \
    --on "$(day 0)" --key msmith.key
app "enroll MRN-1004 in two days" patient enroll --patient MRN-1004 \
    --rems-patient-id REMS-77004 --on "$(day 2)" --key msmith.key

OPEN=(--drug esketamine --route intranasal --prescriber "$SMITH" --observer "$LEE" --key alee.key)

# --- PAT-ENROLL: outpatient esketamine needs the REMS enrollment first ------------
refused 1 "esketamine outpatient, patient never enrolled" \
    "^rxledger: refused: patient is not enrolled in the SPRAVATO REMS $HINT" \
    session open --patient MRN-2002 --setting outpatient "${OPEN[@]}" --at "$(t 10)"
refused 1 "esketamine outpatient before the enrollment date" \
    "^rxledger: refused: patient's REMS enrollment \\($(day 2)\\) is after the session date $HINT" \
    session open --patient MRN-1004 --setting outpatient "${OPEN[@]}" --at "$(t 10)"
overridden "esketamine outpatient, not enrolled, under --override" \
    "patient is not enrolled in the SPRAVATO REMS\$" \
    session open --patient MRN-2002 --setting outpatient "${OPEN[@]}" --at "$(t 10)" \
    --override "REMS enrollment confirmed by phone; form to follow"
expect_eq "$(printf '%s\n' "$OUT" | tail -n 1)" "session $SEQ" "the overridden session is opened"
rl show "$SEQ"
ok "show of the overridden session"
expect_match "$OUT" '^  override: "REMS enrollment confirmed by phone; form to follow"$' \
    "the override reason is part of the session.open entry"
overridden "esketamine outpatient before enrollment, under --override" \
    "patient's REMS enrollment \\($(day 2)\\) is after the session date\$" \
    session open --patient MRN-1004 --setting outpatient "${OPEN[@]}" --at "$(t 10)" \
    --override "enrolled early, paperwork dated tomorrow"
rl show "$SEQ"
expect_match "$OUT" '^  override: "enrolled early, paperwork dated tomorrow"$' \
    "the second override reason is recorded"
session_open MRN-1003 esketamine intranasal outpatient "$(t 10)"
expect_eq "$ERR" "" "enrolled on the session date: no override needed"
session_open MRN-2003 esketamine intranasal inpatient "$(t 10)"
expect_eq "$ERR" "" "inpatient esketamine: enrollment not required"
session_open MRN-2004 ketamine iv outpatient "$(t 10)"
expect_eq "$ERR" "" "ketamine: no REMS enrollment"

# --- dose before a pre-dose blood pressure -----------------------------------------------
session_open MRN-1001 esketamine intranasal outpatient "$(t 20)"
S1=$S
DOSE=(--ndc 50458-028-02 --lot L2611A --mg 28 --key alee.key)
refused 1 "dose with no vitals at all" \
    "^rxledger: refused: no pre-dose blood pressure recorded for session $S1 $HINT" \
    dose --session "$S1" "${DOSE[@]}" --device 1 --at "$(t 25)"
app "pre vitals without a BP" vitals --session "$S1" --phase pre --hr 70 --spo2 98 \
    --at "$(t 21)" --key alee.key
refused 1 "dose after pre vitals that have no BP" \
    "^rxledger: refused: no pre-dose blood pressure recorded for session $S1 " \
    dose --session "$S1" "${DOSE[@]}" --device 1 --at "$(t 25)"
app "a BP of another phase" vitals --session "$S1" --phase other --bp 120/80 --at "$(t 22)" \
    --key alee.key
refused 1 "dose after a BP that is not the pre-dose one" \
    "^rxledger: refused: no pre-dose blood pressure recorded for session $S1 " \
    dose --session "$S1" "${DOSE[@]}" --device 1 --at "$(t 25)"
app "pre-dose BP" vitals --session "$S1" --phase pre --bp 128/82 --at "$(t 24)" --key alee.key
refused 1 "dose timed before the pre-dose BP" \
    "^rxledger: refused: no pre-dose blood pressure recorded for session $S1 " \
    dose --session "$S1" "${DOSE[@]}" --device 1 --at "$(t 23)"
app "dose after the pre-dose BP" dose --session "$S1" "${DOSE[@]}" --device 1 --at "$(t 25)"
D1=$SEQ
app "second device" dose --session "$S1" "${DOSE[@]}" --device 2 --at "$(t 30)"
D2=$SEQ
# another session: the dose under --override
S2_MRN=MRN-1003
session_open "$S2_MRN" esketamine intranasal outpatient "$(t 40)"
S2=$S
overridden "dose without a pre-dose BP, under --override" \
    "no pre-dose blood pressure recorded for session $S2\$" \
    dose --session "$S2" "${DOSE[@]}" --device 1 --at "$(t 45)" \
    --override "cuff broken; manual BP 124/80 charted on paper"
D3=$SEQ
rl show "$D3"
expect_match "$OUT" '^  override: "cuff broken; manual BP 124/80 charted on paper"$' \
    "the dose override reason is part of the dose entry"
expect_match "$(logline "$D3")" "override=cuff broken" "log shows the override"

# --- discharge before the minimum monitoring time -----------------------------------------
# esketamine (spravato-rems): 120 min after the last device (D2 at t 30)
refused 1 "esketamine discharge 119 min after the last device" \
    "^rxledger: refused: monitoring 119 min, below 120 min \\(profile spravato-rems\\) measured from the last dose at $(tms 30) $HINT" \
    discharge --session "$S1" --sedation-resolved --at "$(t 149)" --key alee.key
refused 1 "esketamine discharge timed before the last device" \
    "^rxledger: refused: monitoring 0 min, below 120 min " \
    discharge --session "$S1" --sedation-resolved --at "$(t 28)" --key alee.key
refused 1 "esketamine discharge 120 min after the first device, 115 after the last" \
    "^rxledger: refused: monitoring 115 min, below 120 min " \
    discharge --session "$S1" --sedation-resolved --at "$(t 145)" --key alee.key
app "esketamine discharge 120 min after the last device" discharge --session "$S1" \
    --sedation-resolved --dissociation-resolved --respiration-stable --transport-arranged \
    --at "$(t 150)" --key alee.key
DIS1=$SEQ
rl show "$DIS1"
expect_nomatch "$OUT" "override" "a discharge in time has no override"
overridden "esketamine discharge at 100 min, under --override" \
    "monitoring 100 min, below 120 min \\(profile spravato-rems\\) measured from the last dose at $(tms 45)\$" \
    discharge --session "$S2" --sedation-resolved --dissociation-resolved --respiration-stable \
    --transport-arranged --override "family emergency; physician assessed and released" \
    --at "$(t 145)" --key msmith.key
DIS2=$SEQ
rl show "$DIS2"
expect_match "$OUT" '^  override: "family emergency; physician assessed and released"$' \
    "the discharge override reason is part of the discharge entry"
rl session show "$S2"
expect_match "$OUT" "^monitoring: 100 min from the last dose \\($(tms 45)\\), 100 min from the first \\($(tms 45)\\), to discharge at entry $DIS2\$" \
    "session show reports the short monitoring of the overridden discharge"
# ketamine (ketamine-iv): 60 min after the last dose
session_open MRN-2005 ketamine iv outpatient "$(t 60)" --weight-kg 80
SK=$S
app "ketamine pre BP" vitals --session "$SK" --phase pre --bp 124/80 --at "$(t 61)" --key alee.key
app "ketamine dose" dose --session "$SK" --ndc 42023-113-10 --lot K7731 --mg 40 \
    --at "$(t 65)" --key msmith.key
refused 1 "ketamine discharge 59 min after the dose" \
    "^rxledger: refused: monitoring 59 min, below 60 min \\(profile ketamine-iv\\) measured from the last dose at $(tms 65) $HINT" \
    discharge --session "$SK" --sedation-resolved --at "$(t 124)" --key alee.key
app "ketamine discharge 60 min after the dose" discharge --session "$SK" --sedation-resolved \
    --at "$(t 125)" --key alee.key
# no dose at all: measured from the session's start
session_open MRN-2006 ketamine iv outpatient "$(t 70)"
SN=$S
refused 1 "discharge of a session with no dose, 30 min after its start" \
    "^rxledger: refused: monitoring 30 min, below 60 min \\(profile ketamine-iv\\) measured from the session's start at $(tms 70) " \
    discharge --session "$SN" --at "$(t 100)" --key alee.key

# --- waste without a witness -----------------------------------------------------------
refused 1 "waste without a witness" \
    "^rxledger: refused: waste needs 1 witness \\(--witness-key\\) $HINT" \
    waste --session "$SN" --ndc 42023-113-10 --lot K7731 --mg 460 --manner "charcoal pouch" \
    --at "$(t 90)" --key msmith.key
refused 1 "waste without a session or a witness" "^rxledger: refused: waste needs 1 witness " \
    waste --ndc 42023-113-10 --lot K7731 --mg 460 --manner "charcoal pouch" --key msmith.key
overridden "waste without a witness, under --override" "waste needs 1 witness \\(--witness-key\\)\$" \
    waste --session "$SN" --ndc 42023-113-10 --lot K7731 --mg 460 --manner "charcoal pouch" \
    --override "night shift, no second licensed person on site" --at "$(t 90)" --key msmith.key
W=$SEQ
rl show "$W"
expect_match "$OUT" '^  override: "night shift, no second licensed person on site"$' \
    "the waste override reason is part of the waste entry"
expect_nomatch "$OUT" "^witnessed by" "the overridden waste has no witness"
appw 1 "waste with a witness needs no override" waste --session "$SN" --ndc 42023-113-10 \
    --lot K7731 --mg 10 --manner "charcoal pouch" --at "$(t 91)" --key msmith.key \
    --witness-key bob.key

# --- a discharged session takes no more steps, not even under --override -------------------
CLOSED="^rxledger: refused: session $S1 was discharged at entry $DIS1\$"
refused 1 "vitals on a discharged session" "$CLOSED" \
    vitals --session "$S1" --phase other --bp 120/80 --at "$(t 160)" --key alee.key
refused 1 "dose on a discharged session" "$CLOSED" \
    dose --session "$S1" "${DOSE[@]}" --at "$(t 160)"
refused 1 "dose on a discharged session, with --override" "$CLOSED" \
    dose --session "$S1" "${DOSE[@]}" --at "$(t 160)" --override "forgot to record it"
refused 1 "waste on a discharged session" "$CLOSED" \
    waste --session "$S1" --ndc 50458-028-02 --lot L2611A --mg 28 --manner pouch \
    --key alee.key --witness-key msmith.key
refused 1 "waste on a discharged session, with --override" "$CLOSED" \
    waste --session "$S1" --ndc 50458-028-02 --lot L2611A --mg 28 --manner pouch \
    --key alee.key --witness-key msmith.key --override "late entry"
refused 1 "second discharge" "$CLOSED" \
    discharge --session "$S1" --sedation-resolved --at "$(t 200)" --key alee.key
refused 1 "second discharge, with --override" "$CLOSED" \
    discharge --session "$S1" --sedation-resolved --at "$(t 200)" --override "again" \
    --key msmith.key
app "pmf of a discharged session" pmf --session "$S1" --submitted "$(day 0)" --key msmith.key
PMF1=$SEQ

# --- amendments -----------------------------------------------------------------------
# raw_sum SEQ: sha256 of the entry's stored bytes (show --raw).
raw_sum() {
    "$RXLEDGER" -l "$L" show "$1" --raw </dev/null >"$T/raw" 2>"$T/err" ||
        fail "show $1 --raw failed"
    [ ! -s "$T/err" ] || fail "show $1 --raw wrote to stderr"
    [ -s "$T/raw" ] || fail "show $1 --raw wrote nothing"
    sum "$T/raw"
}
RAW_BEFORE=$(raw_sum "$D1")
expect_match "$RAW_BEFORE" "^$HEX64\$" "show --raw of the dose gives its bytes"
HASH_D1=$("$RXLEDGER" -l "$L" show "$D1" </dev/null | awk '$1 == "hash" { print $2 }')
expect_match "$HASH_D1" "^$HEX64\$" "the dose's hash"
app "amend the dose" amend "$D1" --reason "two devices given together; charted as one" \
    --set mg=56 --key alee.key
AM=$SEQ
expect_ne "$AM" "$D1" "the correction is a new entry"
rl show "$D1"
ok "show of the corrected dose"
expect_match "$OUT" '^  mg: 28$' "the original still shows its value"
expect_match "$OUT" "^hash      $HASH_D1\$" "the original keeps its hash"
expect_match "$OUT" "^corrected by seq $AM: Ann Lee, RN, $TIME \\(corrected\\): ref=$D1  reason=two devices given together; charted as one  set=mg: \"56\"\$" \
    "show of the original: corrected by seq N, with the reason and the new value"
expect_eq "$(raw_sum "$D1")" "$RAW_BEFORE" "the original entry's bytes are unchanged"
rl show "$AM"
ok "show of the amendment"
expect_match "$OUT" '^type      amend$' "the amendment's type"
expect_match "$OUT" "^  ref: $D1\$" "the amendment names the seq it corrects"
expect_match "$OUT" "^  ref-hash: h'$HASH_D1'\$" "the amendment names the hash it corrects"
expect_match "$OUT" '^  reason: "two devices given together; charted as one"$' "the amendment's reason"
expect_match "$OUT" "^signature signed by Ann Lee, RN on $TIME, meaning: corrected\$" \
    "the amendment's signature manifestation"
rl session show "$S1"
ok "session show after the amendment"
expect_match "$OUT" "^ +$D1  $(tms 25)  dose +Ann Lee, RN +ndc=50458-0028-02  lot=L2611A  mg=28  device=1\$" \
    "session show: the original dose as recorded"
expect_match "$OUT" "^ +corrected by seq $AM: Ann Lee, RN, .*reason=two devices given together" \
    "session show: the correction under the dose"
AFTER=$(printf '%s\n' "$OUT" | grep -A1 -E "^ +$D1  " | tail -n 1)
expect_match "$AFTER" "corrected by seq $AM" "the correction follows the corrected row"
app "a second correction of the same dose" amend "$D1" --reason "pharmacy reconciliation" \
    --set mg=28 --key msmith.key
AM2=$SEQ
rl show "$D1"
expect_count "$OUT" "^corrected by seq ($AM|$AM2): " 2 "show lists both corrections"
expect_eq "$(raw_sum "$D1")" "$RAW_BEFORE" "the original's bytes survive a second correction"
app "amend a pmf" amend "$PMF1" --reason "submitted a day later" --set "submitted=$(day 1)" \
    --key msmith.key
refused 2 "amend of a nonexistent entry" "^rxledger: bad SEQ: " \
    amend 9999 --reason "x" --set mg=1 --key alee.key
refused 2 "amend with an empty reason" "^rxledger: bad --reason '': must not be empty" \
    amend "$D1" --reason "" --set mg=1 --key alee.key
refused 2 "amend without --reason" "^rxledger: .*--reason is required" \
    amend "$D1" --set mg=1 --key alee.key
refused 2 "amend setting one field twice" "^rxledger: bad --set 'mg=2': sets 'mg' twice" \
    amend "$D1" --reason "x" --set mg=1 --set mg=2 --key alee.key
refused 2 "amend --set without =" "^rxledger: bad --set 'mg': must be FIELD=VALUE" \
    amend "$D1" --reason "x" --set mg --key alee.key

rl verify
ok "verify"
expect_match "$OUT" "^ok: $ENTRIES entries, head $HEX64\$" "verify: ok with exactly $ENTRIES entries"

# --- regressions: defects found while writing these tests, now fixed ---------------
# Fixed: 'amend --set' does not validate the value against the corrected field:
# a dose's mg can be "corrected" to text (or to 0, below the mg >= 1 rule, or
# a field the entry does not have), and the inventory then silently ignores it.
refused 2 "amend --set mg=lots on a dose is refused as a bad value" "^rxledger: bad --set 'mg=lots'" \
    amend "$D2" --reason "typo" --set mg=lots --key alee.key
# Fixed: session show's totals ignore corrections (the inventory applies them):
# after the only dose of S2 is corrected from 28 to 56 mg, the summary still
# says "28 mg in all".
app "amend the dose of S2 to 56 mg" amend "$D3" --reason "both devices given" --set mg=56 \
    --key alee.key
rl session show "$S2"
expect_match "$OUT" "^session $S2: esketamine intranasal, outpatient, patient $S2_MRN; 1 dose, 56 mg in all\$" \
    "session show totals apply the correction"

finish
