# Helpers for the clinical and stock record tests (test_records.sh,
# test_sequencing.sh, test_inventory.sh, test_privacy.sh). Sourced after lib.sh.
# shellcheck shell=bash disable=SC2034

HEX64='[0-9a-f]{64}'
L="$T/clinic"

# Event times: a clinic morning five hours ago, fixed once so that minute
# differences are exact. t M: BASE + M minutes (RFC 3339, UTC); day D: the
# UTC date D days from BASE (negative = earlier).
BASE=$(($(date +%s) - 5 * 3600))
t() { date -u -d "@$((BASE + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
day() { date -u -d "@$((BASE + $1 * 86400))" +%Y-%m-%d; }
# tms M: the same instant as shown by rxledger (milliseconds).
tms() { date -u -d "@$((BASE + $1 * 60))" +%Y-%m-%dT%H:%M:%S.000Z; }

# Entries in the ledger so far (genesis = 1); every helper that appends keeps it.
ENTRIES=0

# rl ARGS...: rxledger on this test's ledger; sets RC, OUT, ERR.
rl() { rx -l "$L" "$@"; }

# appended DESC [WITNESSES]: the last command appended exactly one entry, at the
# next seq, plus WITNESSES witness entries right after it; ok() already checked.
# Sets SEQ to the act's seq.
appended() {
    local desc=$1 nwit=${2:-0} i w
    SEQ=$(printf '%s\n' "$OUT" | sed -n "1s/^appended seq \([0-9]*\) [0-9a-f]\{64\}\$/\1/p")
    [ -n "$SEQ" ] || fail "$desc: first stdout line is not 'appended seq N HASH'"
    [ "$SEQ" -eq "$ENTRIES" ] || fail "$desc: appended at seq $SEQ, expected the next seq $ENTRIES"
    pass
    for ((i = 1; i <= nwit; i++)); do
        w=$(printf '%s\n' "$OUT" | sed -n "$((i + 1))s/^witnessed seq \([0-9]*\) [0-9a-f]\{64\}\$/\1/p")
        [ "$w" = "$((SEQ + i))" ] || fail "$desc: line $((i + 1)) is not 'witnessed seq $((SEQ + i)) HASH'"
        pass
    done
    expect_eq "$(printf '%s\n' "$OUT" | grep -c '^witnessed seq ' || true)" "$nwit" \
        "$desc: $nwit witness line(s)"
    ENTRIES=$((ENTRIES + 1 + nwit))
}

# app DESC ARGS...: a record command that must succeed with empty stderr and
# append one entry (no witnesses). Sets SEQ.
app() {
    local desc=$1
    shift
    rl "$@"
    ok "$desc"
    appended "$desc"
}

# appw N DESC ARGS...: as app, with N witness entries.
appw() {
    local n=$1 desc=$2
    shift 2
    rl "$@"
    ok "$desc"
    appended "$desc" "$n"
}

# overridden DESC ERE ARGS...: accepted under --override: exit 0, one entry,
# and exactly one stderr line "rxledger: override recorded: ..." matching ERE.
overridden() {
    local desc=$1 re=$2
    shift 2
    rl "$@"
    [ "$RC" -eq 0 ] || fail "$desc: expected exit 0 under --override, got $RC"
    pass
    expect_lines "$ERR" 1 "$desc: one stderr line"
    expect_match "$ERR" "^rxledger: override recorded: $re" "$desc: the override is reported"
    appended "$desc"
}

# refused RC DESC ERE ARGS...: exit RC, one "rxledger: " line on stderr that
# matches ERE, nothing on stdout, data.mdb byte-for-byte unchanged.
refused() {
    local want=$1 desc=$2 re=$3 before
    shift 3
    before=$(sum "$L/data.mdb")
    rl "$@"
    expect_rc "$want" "$desc"
    expect_err_line "$desc"
    expect_match "$ERR" "$re" "$desc: the message"
    expect_eq "$OUT" "" "$desc: nothing on stdout"
    expect_eq "$(sum "$L/data.mdb")" "$before" "$desc: data.mdb unchanged"
}

# bad FLAG VALUE DESC ARGS...: a validation refusal: exit 2, the one line reads
# "rxledger: bad --FLAG 'VALUE'...", nothing written. ARGS must contain the value.
bad() {
    local flag=$1 value=$2 desc=$3 re
    shift 3
    # the value as rxledger shows it (control characters as \xNN), then as an
    # ERE (escape what regex metacharacters it may hold, the backslash included)
    re=$(printf '%s' "$value" |
        perl -pe 's/([\x00-\x1f\x7f])/sprintf("\\x%02x", ord($1))/ge' |
        sed 's/[][\.*^$+?(){}|\\]/\\&/g')
    refused 2 "$desc" "^rxledger: bad --$flag '$re'" "$@"
}

# logline SEQ: the 'log' line of entry SEQ.
logline() {
    "$RXLEDGER" -l "$L" log </dev/null | awk -v s="$1" '$1 == s { print; exit }'
}

# kid_of FILE.pub: its key id.
kid_of() { field "$("$RXLEDGER" key fingerprint "$1" </dev/null)" kid; }

# enroll NAME ROLE [LICENSE]: enroll NAME.pub with the site key.
enroll() {
    if [ -n "${3:-}" ]; then
        rx_ok "enroll $1" -l "$L" key enroll --pub "$1.pub" --role "$2" --license "$3" --key site.key
    else
        rx_ok "enroll $1" -l "$L" key enroll --pub "$1.pub" --role "$2" --key site.key
    fi
    expect_match "$OUT" "^enrolled [0-9a-f]{32} \\(.*, $2\\) at seq $ENTRIES\$" "enroll $1 output"
    ENTRIES=$((ENTRIES + 1))
}

# setup_clinic: keys, the ledger, the site's setting and registration, and the
# people: jroe and bob pharmacists, msmith prescriber, alee nurse, ada admin.
# Sets SMITH, LEE, JROE, BOB, ADA (kids).
setup_clinic() {
    newkey site "Juniper Clinic"
    newkey jroe "Jane Roe, PharmD"
    newkey bob "Bob Ng, PharmD"
    newkey msmith "Mark Smith, MD"
    newkey alee "Ann Lee, RN"
    newkey ada "Ada Admin"
    rx_ok "init" -l "$L" init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
    ENTRIES=1
    enroll jroe pharmacist RPH-12345
    enroll bob pharmacist RPH-23456
    enroll msmith prescriber MD-55501
    enroll alee nurse RN-67890
    enroll ada admin
    SMITH=$(kid_of msmith.pub)
    LEE=$(kid_of alee.pub)
    JROE=$(kid_of jroe.pub)
    BOB=$(kid_of bob.pub)
    ADA=$(kid_of ada.pub)
    app "setting certify" setting certify --rems-id SET-0042 --kind outpatient \
        --from "$(day -400)" --key site.key
    app "registration" registration --dea "$DEA_OK" --schedules 3,4,5 --expires "$(day 700)" \
        --key site.key
}

# receive NDC LOT CONTAINERS UNITS_PER UNIT_MG SUBSTANCE AT [FORM]: a pharmacist receipt.
receive() {
    app "stock receive $2" stock receive --ndc "$1" --lot "$2" --expires "$(day 300)" \
        --containers "$3" --units-per-container "$4" --unit-mg "$5" --substance "$6" \
        --form "${8:-unit of $5 mg}" --supplier "McKesson Specialty" \
        --supplier-address "1 Main St, Memphis TN" --supplier-dea AP5836727 --key jroe.key \
        --at "$7"
}

# session_open MRN DRUG ROUTE SETTING AT [ARGS...]: by the nurse; sets S.
session_open() {
    local mrn=$1 drug=$2 route=$3 setting=$4 at=$5
    shift 5
    app "session open $mrn" session open --patient "$mrn" --drug "$drug" --route "$route" \
        --setting "$setting" --prescriber "$SMITH" --observer "$LEE" --at "$at" --key alee.key "$@"
    expect_eq "$(printf '%s\n' "$OUT" | tail -n 1)" "session $SEQ" "session open: last line 'session N'"
    S=$SEQ
}

# inv_row NDC LOT: the inventory row of NDC+LOT (INV_AT: optional --at DATE).
inv_row() {
    "$RXLEDGER" -l "$L" inventory ${INV_AT:+--at "$INV_AT"} </dev/null |
        awk -v n="$1" -v l="$2" '$1 == n && $2 == l { print; exit }'
}
