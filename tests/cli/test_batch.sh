#!/usr/bin/env bash
# rxledger batch: JSON lines appended in transactions of many entries, each
# line checked exactly as its single command checks it, against the ledger as
# the earlier lines (even of the same transaction) left it; all or nothing per
# transaction; the first bad line reported by number.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"
# shellcheck source=tests/cli/records_lib.sh
. "$HERE/records_lib.sh"

setup_clinic
receive 50458-028-02 L2611A 10 2 28 esketamine "$(t 1)" "nasal spray device"
app "patient enroll" patient enroll --patient MRN-1001 --rems-patient-id REMS-77001 \
    --on "$(day -10)" --key msmith.key
count() { "$RXLEDGER" -l "$L" verify | awk '{print $2}'; }
N0=$(count)

# run_in FILE CMD...: as run (lib.sh), with FILE as standard input.
run_in() {
    local in=$1
    shift
    set +e
    "$@" <"$in" >"$T/out" 2>"$T/err"
    RC=$?
    set -e
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}
# batch LINES... : feed the lines to 'batch --key KEY' (KEY from $BK, group from $BG).
batch() {
    printf '%s\n' "$@" >"$T/in.jsonl"
    run_in "$T/in.jsonl" "$RXLEDGER" -l "$L" batch --key "$BK" --group "${BG:-500}"
}

# ---- a nurse's session from a cabinet feed: lines refer to earlier lines ----
BK=alee.key
BG=3
batch '{"type":"session.open","patient":"MRN-1001","drug":"esketamine","route":"intranasal","setting":"outpatient","prescriber":"'"$SMITH"'","observer":"'"$LEE"'","at":"'"$(t 10)"'"}' \
    '{"type":"vitals","session":"@1","phase":"pre","bp":"128/82","hr":72,"spo2":98,"at":"'"$(t 12)"'"}' \
    '' \
    '{"type":"dose","session":"@1","ndc":"50458-028-02","lot":"L2611A","mg":28,"device":1,"at":"'"$(t 15)"'"}' \
    '{"type":"dose","session":"@1","ndc":"50458-028-02","lot":"L2611A","mg":28,"device":2,"at":"'"$(t 20)"'"}' \
    '{"type":"vitals","session":"@1","phase":"post40","bp":"138/88","hr":76,"spo2":97,"at":"'"$(t 56)"'"}' \
    '{"type":"vitals","session":"@1","phase":"discharge","bp":"126/80","hr":70,"spo2":98,"at":"'"$(t 145)"'"}' \
    '{"type":"discharge","session":"@1","sedation-resolved":true,"dissociation-resolved":true,"respiration-stable":true,"transport-arranged":true,"at":"'"$(t 150)"'"}'
ok "a session in one batch"
expect_eq "$OUT" "appended 7 entries (seq $N0..$((N0 + 6))) from lines 1..8 in 3 transactions" \
    "summary: 7 entries, blank line skipped, 3 transactions of 3 lines"
S=$N0
rl session show "$S"
ok "session show"
expect_match "$OUT" "130 min" "the batch's session is monitored 130 min, like the single commands'"
rl verify
ok "verify after the batch"
N1=$(count)

# ---- each line checked exactly as the single command checks it ----
bad_line() { # DESC JSON SINGLE-COMMAND-ARGS...
    local desc=$1 json=$2
    shift 2
    local before
    before=$(sum "$L/data.mdb")
    batch "$json"
    local brc=$RC berr=$ERR
    rl "$@" --key "$BK"
    expect_eq "$brc" "$RC" "$desc: batch exits as the single command"
    expect_eq "${berr#rxledger: line 1: }" "${ERR#rxledger: }" "$desc: the same message, with its line"
    expect_match "$berr" "^rxledger: line 1: " "$desc: names the line"
    expect_eq "$(sum "$L/data.mdb")" "$before" "$desc: nothing written"
}
bad_line "a bad blood pressure" '{"type":"vitals","session":"'"$S"'","phase":"pre","bp":"300/20"}' \
    vitals --session "$S" --phase pre --bp 300/20
bad_line "an unknown NDC form" '{"type":"dose","session":"'"$S"'","ndc":"5045-028","lot":"L2611A","mg":28,"device":1}' \
    dose --session "$S" --ndc 5045-028 --lot L2611A --mg 28 --device 1
bad_line "a missing required field" '{"type":"dose","session":"'"$S"'","lot":"L2611A","mg":28}' \
    dose --session "$S" --lot L2611A --mg 28
bad_line "a future time" '{"type":"vitals","session":"'"$S"'","phase":"pre","hr":70,"at":"2099-01-01T00:00:00Z"}' \
    vitals --session "$S" --phase pre --hr 70 --at 2099-01-01T00:00:00Z
BK=jroe.key
bad_line "a role that may not sign the type" '{"type":"vitals","session":"'"$S"'","phase":"pre","hr":70}' \
    vitals --session "$S" --phase pre --hr 70
BK=alee.key

# ---- sequencing sees earlier lines of the same transaction ----
before=$(sum "$L/data.mdb")
BG=500
batch '{"type":"session.open","patient":"MRN-1001","drug":"esketamine","route":"intranasal","setting":"outpatient","prescriber":"'"$SMITH"'","observer":"'"$LEE"'"}' \
    '{"type":"dose","session":"@1","ndc":"50458-028-02","lot":"L2611A","mg":28,"device":1}'
expect_rc 1 "a dose before the pre-dose blood pressure of a session opened two lines up"
expect_match "$ERR" "^rxledger: line 2: refused: .*blood pressure" "the refusal names line 2"
expect_eq "$(sum "$L/data.mdb")" "$before" "the whole transaction (the session too) is not appended"
batch '{"type":"session.open","patient":"MRN-1001","drug":"esketamine","route":"intranasal","setting":"outpatient","prescriber":"'"$SMITH"'","observer":"'"$LEE"'"}' \
    '{"type":"dose","session":"@1","ndc":"50458-028-02","lot":"L2611A","mg":28,"device":1,"override":"vitals on paper, entered later"}'
expect_rc 0 "the same with --override carried by the line"
expect_match "$ERR" "^rxledger: line 2: override recorded: no pre-dose blood pressure" \
    "the override is reported with its line, as the single command reports it"
expect_match "$OUT" "appended 2 entries" "both appended"
N2=$(count)

# ---- all or nothing per transaction; the first bad line by number ----
BK=jroe.key
BG=2
batch '{"type":"note","text":"one"}' '{"type":"note","text":"two"}' \
    '{"type":"note","text":"three"}' '{"type":"note","text":""}' '{"type":"note","text":"five"}'
expect_rc 2 "an empty note on line 4"
expect_match "$ERR" "^rxledger: line 4: " "line 4 is named"
expect_match "$OUT" "^appended 2 entries \\(seq $N2\\.\\.$((N2 + 1))\\) from lines 1\\.\\.2 in 1 transaction$" \
    "the first transaction (lines 1-2) is committed"
expect_match "$OUT" "^not appended: lines 3\\.\\.4 " "the second (lines 3-4) and the rest are not"
expect_eq "$(count)" "$((N2 + 2))" "exactly two entries landed"
rl verify
ok "verify after a partial batch"
N3=$(count)

# a patient first seen in a failed transaction leaves no identity behind
BK=msmith.key
BG=500
batch '{"type":"patient.enroll","patient":"MRN-2002","rems-patient-id":"REMS-99","on":"'"$(day -1)"'"}' \
    '{"type":"note","text":"bad","at":"yesterday"}'
expect_rc 2 "a bad time after a new patient"
rl audit --patient MRN-2002
expect_rc 1 "the new patient of the failed transaction is not in the identity store"

# ---- malformed lines ----
BK=jroe.key
for bad in 'not json' '[1,2]' '{"type":"note","text":"a","text":"b"}' '{"text":"no type"}' \
    '{"type":"key.enroll","pub":"x.pub"}' '{"type":"note","text":"x","key":"alee.key"}' \
    '{"type":"vitals","session":"@1","phase":"pre","hr":70}' '{"type":"dose","mg":2.5}' \
    '{"type":"note","text":"x","colour":"red"}'; do
    before=$(sum "$L/data.mdb")
    batch "$bad"
    expect_rc 2 "malformed line $bad"
    expect_err_line "malformed line $bad"
    expect_match "$ERR" "^rxledger: line 1: " "malformed line names line 1"
    expect_eq "$(sum "$L/data.mdb")" "$before" "malformed line $bad writes nothing"
done
head -c 300000 /dev/zero | tr '\0' 'a' >"$T/long.jsonl"
run_in "$T/long.jsonl" "$RXLEDGER" -l "$L" batch --key jroe.key
expect_rc 2 "an overlong line"
run "$RXLEDGER" -l "$L" batch </dev/null
expect_rc 2 "batch without --key"
run "$RXLEDGER" -l "$L" batch --key jroe.key --group 0 </dev/null
expect_rc 2 "a group of 0"
run "$RXLEDGER" -l "$L" batch --key jroe.key </dev/null
ok "an empty input"
expect_eq "$OUT" "appended nothing: no lines" "nothing to append"
expect_eq "$(count)" "$N3" "nothing appended by the refused batches"
# ---- another process appends between two of the batch's transactions ----
N4=$(count)
(
    echo '{"type":"note","text":"batch line 1"}'
    sleep 1.5
    echo '{"type":"note","text":"batch line 2"}'
) | "$RXLEDGER" -l "$L" batch --key alee.key --group 1 >"$T/bout" 2>"$T/berr" &
BPID=$!
sleep 0.7
rl note --text "another process's note" --key jroe.key
ok "a note appended while the batch waits for its second line"
wait "$BPID" || fail "the batch failed: $(cat "$T/berr")"
expect_eq "$(cat "$T/bout")" \
    "appended 2 entries (seq $N4..$((N4 + 2)), with other appends among them) from lines 1..2 in 2 transactions" \
    "the range runs from the batch's first entry to its last and says it is not contiguous"
rl show $((N4 + 1))
expect_match "$OUT" "another process's note" "the entry between is the other process's"

rl verify
ok "verify at the end"
finish
