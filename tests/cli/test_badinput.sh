#!/usr/bin/env bash
# The bad-input matrix: every command and subcommand that 'rxledger --help'
# lists, every option its --help lists, each given malformed values made by a
# generator from the option's kind (missing value, empty, 100 KB, wrong type,
# out of range, injection-looking text, control characters, invalid UTF-8),
# plus unknown options, extra arguments and each required option left out.
#
# Every refused case must: exit 1 or 2, print exactly one line on stderr that
# starts with "rxledger: " and holds no raw control character, print nothing
# on stdout (batch documents a "not appended" line there), leave every file of
# the ledger directory byte-for-byte as it was (the identity store included)
# and leave no file behind in the working directory (--out and friends).
#
# Each command's variants are built on a baseline command line that is first
# shown to succeed on a copy of the ledger, so every refusal is the bad value's.
# Free-text fields are the exception to "refuse": injection-looking text is
# legal there, so it is appended (on a copy) and must come back byte for byte
# from 'show --raw', and escaped by 'show'.
#
# Cost. Each option gets its value left out, empty and 100 KB, every
# kind-specific variant, and one injection-looking, one control-character and
# one invalid-UTF-8 string (rotating, so each string meets every kind of
# option): about 2,300 cases. The sanitizer build spends ~40 ms CPU starting each
# process and LeakSanitizer ~45 ms more at its exit, so there (found by asking
# the binary for ASan's help) each option gets one rotating string of the three
# sets and one rotating kind-specific variant (about 1,200 cases, every option
# still left out, empty and 100 KB), and LeakSanitizer checks every eighth case
# (every sixth in the full matrix).
# BADINPUT_FULL=1 runs the full matrix in any build; BADINPUT_ALL=1 gives every
# option every string and every variant; BADINPUT_LEAKEVERY=1 checks leaks in
# every case.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C

# Relative paths like ../../etc/passwd must land inside the test's directory.
mkdir -p "$T/w/a/b"
cd "$T/w/a/b"
W=$PWD
L="$T/clinic"
BASE=$(($(date +%s) - 5 * 3600))
t() { date -u -d "@$((BASE + $1 * 60))" +%Y-%m-%dT%H:%M:%SZ; }
day() { date -u -d "@$((BASE + $1 * 86400))" +%Y-%m-%d; }
TODAY=$(date -u +%Y-%m-%d)
TOMORROW=$(date -u -d tomorrow +%Y-%m-%d)

# --- the ledger the matrix runs against ----------------------------------------------
newkey site "Juniper Clinic"
newkey ph "Pat Pharm, PharmD"
newkey ph2 "Bo Pharm, PharmD"
newkey dr "Dee Doc, MD"
newkey rn "Ann Lee, RN"
newkey ad "Ada Admin"
newkey nu "Neu Person, RN" # made, never enrolled: key enroll's baseline
rx_ok init -l "$L" init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll ph" -l "$L" key enroll --pub ph.pub --role pharmacist --license RPH-1 --key site.key
rx_ok "enroll ph2" -l "$L" key enroll --pub ph2.pub --role pharmacist --license RPH-2 --key site.key
rx_ok "enroll dr" -l "$L" key enroll --pub dr.pub --role prescriber --license MD-1 --key site.key
rx_ok "enroll rn" -l "$L" key enroll --pub rn.pub --role nurse --license RN-1 --key site.key
rx_ok "enroll ad" -l "$L" key enroll --pub ad.pub --role admin --key site.key
kid_of() { field "$("$RXLEDGER" key fingerprint "$1" </dev/null)" kid; }
DR=$(kid_of dr.pub)
RN=$(kid_of rn.pub)
PH=$(kid_of ph.pub)
AD=$(kid_of ad.pub)
FPR=$(field "$("$RXLEDGER" key fingerprint site.pub </dev/null)" fingerprint)
NDC=50458-028-02
rx_ok certify -l "$L" setting certify --rems-id SET-1 --kind outpatient --from "$(day -30)" --key site.key
rx_ok registration -l "$L" registration --dea "$DEA_OK" --schedules 3,4,5 --expires "$(day 300)" \
    --key site.key
rx_ok "patient enroll" -l "$L" patient enroll --patient MRN-1 --rems-patient-id REMS-1 \
    --on "$(day -10)" --key ph.key
rx_ok "patient enroll 9" -l "$L" patient enroll --patient MRN-9 --rems-patient-id REMS-9 \
    --on "$(day -10)" --key ph.key
rx_ok receive -l "$L" stock receive --ndc $NDC --lot L1 --expires "$(day 300)" --substance esketamine \
    --form "28 mg nasal device" --unit-mg 28 --containers 4 --units-per-container 2 \
    --supplier "McKesson" --supplier-address "1 Main St" --supplier-dea AP5836727 --key ph.key
rx_ok "session open" -l "$L" session open --patient MRN-1 --drug esketamine --route intranasal \
    --setting outpatient --prescriber "$DR" --observer "$RN" --at "$(t 0)" --key rn.key
S=$(printf '%s\n' "$OUT" | sed -n 's/^session \([0-9]*\)$/\1/p')
rx_ok "vitals pre" -l "$L" vitals --session "$S" --phase pre --bp 128/82 --hr 72 --spo2 98 \
    --at "$(t 1)" --key rn.key
rx_ok dose -l "$L" dose --session "$S" --ndc $NDC --lot L1 --mg 28 --device 1 --at "$(t 5)" \
    --key rn.key
DOSE=$(printf '%s\n' "$OUT" | sed -n 's/^appended seq \([0-9]*\) .*/\1/p')
rx_ok loss -l "$L" stock loss --ndc $NDC --lot L1 --units 1 --kind loss --discovered "$(t 60)" \
    --key ph.key
LOSS=$(printf '%s\n' "$OUT" | sed -n 's/^appended seq \([0-9]*\) .*/\1/p')
rx_ok checkpoint -l "$L" checkpoint --key site.key --out cp.cbor
SIZE=$(printf '%s\n' "$OUT" | sed -n 's/^checkpoint size \([0-9]*\) .*/\1/p')
rx_ok prove -l "$L" prove 1 --out r1.cbor
"$RXLEDGER" -l "$L" show 1 --raw >e1.cbor </dev/null
rx_ok export -l "$L" export --key site.key --out x.cbor
"$RXLEDGER" policy show spravato-rems >p.ini </dev/null
python3 -c 'import random, sys; r = random.Random(7); sys.stdout.buffer.write(bytes(r.randrange(256) for _ in range(3000)))' >random.bin
: >empty.bin
printf 'not the passphrase\n' >wrongpass.txt
printf '%s\n' "$RXLEDGER_PASSPHRASE" >pass.txt
mkdir adir
rx_ok verify -l "$L" verify
expect_match "$OUT" "^ok: $SIZE entries, " "the matrix's ledger verifies"

# --- the matrix: command | baseline | options ------------------------------------------
# A baseline is shell words (eval'd); "@NAME=value" is a positional argument.
# Options are NAME=KIND; a "!" after the name marks a required one. A baseline
# that starts with -l names its own ledger directory, else "-l $L" goes first.
# Kinds: see variants() below.
MATRIX=$(
    cat <<EOF
init|-l $T/newledger init --site-name 'New Clinic' --dea $DEA_OK --key site.key|--site-name!=text:128 --dea!=dea --key!=keyfile --passphrase-file=passfile -l=newdir
key new|key new --out new.key --name 'New Person' --pub newpub.pub --kdf-cost 10|--out!=outfile --name!=text:128 --pub=outfile --kdf-cost=uint:10:20 --passphrase-file=newpassfile
key pub|key pub @FILE=ph.key --passphrase-file pass.txt|@FILE=infile --passphrase-file=passfile
key fingerprint|key fingerprint @FILE=ph.key --passphrase-file pass.txt|@FILE=infile --passphrase-file=passfile
key enroll|key enroll --pub nu.pub --role nurse --license RN-9 --name 'Neu Person' --from $(t 0) --until 2099-01-01T00:00:00Z --key site.key|--pub!=infile --role!=choice:pharmacist|prescriber|nurse|admin --license=text:64 --name=text:128 --from=time --until=time --key!=keyfile --passphrase-file=passfile
key list|key list|
key revoke|key revoke @KID=$AD --reason 'left the clinic' --key site.key|@KID=kidprefix --reason!=text:512 --key!=keyfile --passphrase-file=passfile
note|note --text 'fridge checked' --at $(t 100) --key ph.key|--text!=text:4096 --at=evtime --key!=keyfile --passphrase-file=passfile
batch|batch --key ph.key --group 10|--key!=keyfile --passphrase-file=passfile --group=uint:1:500
log|log --from 1 --limit 3|--from=uint:0:18446744073709551614 --limit=uint:1:18446744073709551615
show|show @SEQ=1|@SEQ=seq --raw=flag
verify|verify --no-signatures|--no-signatures=flag
setting certify|setting certify --rems-id SET-2 --kind inpatient --from $(day -1) --until $(day 300) --at $(t 100) --key site.key|--rems-id!=text:64 --kind!=choice:outpatient|inpatient --from!=date --until=date --at=evtime --key!=keyfile --passphrase-file=passfile
registration|registration --dea $DEA_OK --schedules 2,3,4 --expires $(day 300) --at $(t 100) --key site.key|--dea!=dea --schedules!=schedules --expires!=date --at=evtime --key!=keyfile --passphrase-file=passfile
patient enroll|patient enroll --patient MRN-2 --rems-patient-id REMS-2 --on $(day -1) --at $(t 100) --key ph.key|--patient!=mrnnew --rems-patient-id!=mrnnew --on!=date --at=evtime --key!=keyfile --passphrase-file=passfile
patient forget|patient forget @MRN=MRN-9|@MRN=mrn
stock receive|stock receive --ndc $NDC --lot L2 --expires $(day 300) --substance esketamine --form '28 mg device' --unit-mg 28 --containers 2 --units-per-container 2 --supplier 'McKesson' --supplier-address '1 Main St' --supplier-dea AP5836727 --at $(t 100) --key ph.key|--ndc!=ndc --lot!=text:64 --expires!=date --substance!=choice:esketamine|ketamine --form!=text:64 --unit-mg!=uint:1:100000 --containers!=uint:1:100000 --units-per-container!=uint:1:10000 --supplier!=text:128 --supplier-address!=text:512 --supplier-dea!=dea --at=evtime --key!=keyfile --passphrase-file=passfile
stock count|stock count --ndc $NDC --lot L1 --on-hand 7 --when close --complete --at $(t 100) --key ph.key|--ndc!=ndc --lot!=text:64 --on-hand!=uint:0:10000000 --when!=choice:open|close --complete=flag --at=evtime --key!=keyfile --passphrase-file=passfile
stock loss|stock loss --ndc $NDC --lot L1 --units 1 --kind theft --discovered $(t 90) --at $(t 100) --key ph.key|--ndc!=ndc --lot!=text:64 --units!=uint:1:10000000 --kind!=choice:theft|loss --discovered!=evtime --at=evtime --key!=keyfile --passphrase-file=passfile
stock report-loss|stock report-loss --ref $LOSS --dea-notified $(t 95) --form106-filed $(t 99) --at $(t 100) --key ph.key|--ref!=seq --dea-notified!=evtime --form106-filed=evtime --at=evtime --key!=keyfile --passphrase-file=passfile
stock destroy|stock destroy --ndc $NDC --lot L1 --units 1 --method 'incinerated' --at $(t 100) --key ph.key --witness-key dr.key --witness-key rn.key|--ndc!=ndc --lot!=text:64 --units!=uint:1:10000000 --method!=text:512 --override=override --at=evtime --key!=keyfile --passphrase-file=passfile --witness-key=keyfile --witness-passphrase-file=passfile
session open|session open --patient MRN-1 --drug esketamine --route intranasal --setting outpatient --prescriber $DR --observer $RN --weight-kg 70.5 --at $(t 100) --key rn.key|--patient!=mrn --drug!=choice:esketamine|ketamine --route!=choice:intranasal|iv|im|oral --setting!=choice:outpatient|inpatient --prescriber!=kid --observer!=kid --weight-kg=milli:1000:500000 --override=override --at=evtime --key!=keyfile --passphrase-file=passfile
session show|session show @S=$S|@S=seq
vitals|vitals --session $S --phase post40 --bp 120/80 --hr 70 --spo2 98 --note 'calm' --at $(t 45) --key rn.key|--session!=seq --phase!=choice:pre|post40|discharge|other --bp=bp --hr=uint:20:250 --spo2=uint:0:100 --note=text:512 --at=evtime --key!=keyfile --passphrase-file=passfile
dose|dose --session $S --ndc $NDC --lot L1 --mg 28 --device 2 --ml 0.1 --concentration 280mg/ml --infusion-min 1 --at $(t 10) --key rn.key|--session!=seq --ndc!=ndc --lot!=text:64 --mg!=uint:1:100000 --device=uint:1:10 --ml=milli:1:1000000 --concentration=conc --infusion-min=uint:1:1440 --override=override --at=evtime --key!=keyfile --passphrase-file=passfile
waste|waste --session $S --ndc $NDC --lot L1 --mg 28 --manner 'sink and charcoal' --at $(t 20) --key rn.key --witness-key ph.key|--session=seq --ndc!=ndc --lot!=text:64 --mg!=uint:1:100000 --manner!=text:512 --override=override --at=evtime --key!=keyfile --passphrase-file=passfile --witness-key=keyfile --witness-passphrase-file=passfile
discharge|discharge --session $S --sedation-resolved --dissociation-resolved --respiration-stable --transport-arranged --key rn.key|--session!=seq --sedation-resolved=flag --dissociation-resolved=flag --respiration-stable=flag --transport-arranged=flag --override=override --at=evtime --key!=keyfile --passphrase-file=passfile
pmf|pmf --session $S --submitted $TODAY --at $(t 100) --key ph.key|--session!=seq --submitted!=date --at=evtime --key!=keyfile --passphrase-file=passfile
amend|amend @SEQ=$DOSE --reason 'typo' --set mg=28 --at $(t 100) --key rn.key|@SEQ=seq --reason!=text:512 --set=set --at=evtime --key!=keyfile --passphrase-file=passfile
inventory|inventory --at $TODAY|--at=date
checkpoint|checkpoint --key site.key --out cp2.cbor|--key=keyfile --passphrase-file=passfile --out=outfile --list=flag --size=uint:1:18446744073709551614
prove|prove @SEQ=2 --size $SIZE --out r2.cbor|@SEQ=seq --size=uint:1:18446744073709551614 --out!=outfile
consistency|consistency --old 2 --new $SIZE --out c2.cbor|--old!=uint:1:18446744073709551614 --new=uint:1:18446744073709551614 --out!=outfile
verify-proof|verify-proof @RECEIPT=r1.cbor @SUBJECT=e1.cbor --site-key $FPR|@RECEIPT=infile @SUBJECT=infile --site-key!=fpr
export|export --key site.key --out x2.cbor --from-seq 1 --to-seq 3 --include-identities|--key!=keyfile --passphrase-file=passfile --out!=outfile --from-seq=uint:0:18446744073709551614 --to-seq=uint:0:18446744073709551614 --since=bound --until=bound --include-identities=flag
verify-export|verify-export @FILE=x.cbor --site-key $FPR|@FILE=infile --site-key!=fpr
audit|audit --from $(day -30) --to $TODAY --patient MRN-1 --rule MON-DURATION --format json --policy p.ini --now now|--from=date --to=date --patient=mrn --rule=rule --format=choice:text|json|csv --policy=infile --now=time --export=infile --site-key=fpr
policy check|policy check @FILE=p.ini|@FILE=infile
policy show|policy show @NAME=spravato-rems|@NAME=name
policy list|policy list|
policy adopt|policy adopt @FILE=p.ini --effective $TOMORROW --key site.key|@FILE=infile --effective!=date --key!=keyfile --passphrase-file=passfile
EOF
)

# --- every command and option of --help is in the matrix ---------------------------------
declare -A ROW_BASE ROW_OPTS
CMDS=()
while IFS='|' read -r name base opts; do
    [ -n "$name" ] || continue
    CMDS+=("$name")
    ROW_BASE[$name]=$base
    ROW_OPTS[$name]=$opts # choice lists come as a,b (awk joined the fields)
done < <(printf '%s\n' "$MATRIX" |
    awk -F'|' '{ n = $1; b = $2; o = $3; for (i = 4; i <= NF; i++) o = o "|" $i; gsub(/\|/, ",", o); print n "|" b "|" o }')

# options_in_help TEXT [SUB]: the long options the help text offers (for key and
# policy, those of the lines that describe SUB).
options_in_help() {
    local text=$1 sub=${2:-}
    if [ -n "$sub" ]; then
        printf '%s\n' "$text" | awk -v s="$sub" '
            /^  [a-z]/ { on = ($1 == s) }
            on && (/^  [a-z]/ || /^ +\[/) { print }' | { grep -o -- '--[a-z0-9-]*' || true; } | sort -u
    else
        printf '%s\n' "$text" | awk '
            /^usage:/ { u = 1 } u && /^$/ { u = 0 } u || /^  --/ { print }' |
            { grep -o -- '--[a-z0-9-]*' || true; } | sort -u
    fi
}

HELP=$("$RXLEDGER" --help)
TOP=$(printf '%s\n' "$HELP" | awk '/^commands:/ { c = 1; next } c && /^  [a-z]/ { print $1 } c && /^$/ { c = 0 }')
LISTED=()
for c in $TOP; do
    sub_help=$("$RXLEDGER" "$c" --help)
    subs=$(printf '%s\n' "$sub_help" | sed -n 's/^subcommands: //p')
    if [ "$c" = key ] || [ "$c" = policy ]; then
        subs=$(printf '%s\n' "$sub_help" | awk '/^  [a-z]+( |$)/ { print $1 }')
    fi
    if [ -z "$subs" ]; then
        LISTED+=("$c")
    else
        for s in $subs; do LISTED+=("$c $s"); done
    fi
done
for c in "${LISTED[@]}"; do
    [ -n "${ROW_BASE[$c]+x}" ] || fail "'rxledger --help' lists '$c', which the bad-input matrix does not cover"
    pass
done
expect_eq "${#LISTED[@]}" "${#CMDS[@]}" "the matrix has exactly the commands --help lists"
for c in "${CMDS[@]}"; do
    # shellcheck disable=SC2086
    h=$("$RXLEDGER" $c --help)
    case "$c" in
    "key "* | "policy "*) offered=$(options_in_help "$h" "${c#* }") ;;
    *) offered=$(options_in_help "$h") ;;
    esac
    for o in $offered; do
        [ "$o" = --help ] && continue
        case " ${ROW_OPTS[$c]} " in
        *" $o="* | *" $o!="*) pass ;;
        *) fail "'rxledger $c --help' offers $o, which the bad-input matrix does not cover" ;;
        esac
    done
done
echo "matrix covers ${#CMDS[@]} commands (all that --help lists) and every option their --help offers"

# --- the values -------------------------------------------------------------------------------
CUR=
BIG=$(head -c 102400 /dev/zero | tr '\0' A) # 100 KB: over every limit, under the kernel's 128 KB
INJ=("'; DROP TABLE entries; --" '$(rm -rf /)' '../../etc/passwd' '%s%n%s%n%x' '`id`' '%00' '\0')
CTL=($'line1\nline2' $'a\rb' $'\e[2J\e[H' $'a\x01b' $'\xc2\x9b2J' $'tab\there' $'a\x7fb' $'\x9b2J')
UTF=($'\xff\xfe' $'a\xc0\xafb' $'a\xed\xa0\x80b' $'\xe2\x82')
ALLSTR=${BADINPUT_ALL:-0}
ROT=0
QUICK=0
ASAN_HELP=$(ASAN_OPTIONS=help=1 "$RXLEDGER" --version 2>&1 || true)
if [ "${BADINPUT_FULL:-0}" != 1 ] && [ "$ALLSTR" != 1 ] && [[ $ASAN_HELP == *AddressSanitizer* ]]; then
    QUICK=1
fi

# variants KIND: fills VAL[] and LBL[] with the malformed values of an option of
# that KIND; LEGAL[] marks (1) the ones that are legal for it (free text).
variants() {
    local kind=$1 lo hi
    VAL=() LBL=() LEGAL=()
    add() { VAL+=("$1"); LBL+=("$2"); LEGAL+=("${3:-0}"); }
    add "" "empty"
    add "$BIG" "100 KB"
    local rot0=$ROT
    # Legal values: injection-looking text is free text; any bytes but '/' and
    # NUL make a file name, so an output file or a new directory may be called so.
    local legal_inj=0 legal_str=0
    case "$kind" in text:*) legal_inj=1 ;; outfile | newdir) legal_inj=1 legal_str=1 ;; esac
    local i n
    if [ "$ALLSTR" = 1 ]; then
        for i in "${!INJ[@]}"; do add "${INJ[$i]}" "injection $i" "$legal_inj"; done
        for i in "${!CTL[@]}"; do add "${CTL[$i]}" "control $i" "$legal_str"; done
        for i in "${!UTF[@]}"; do add "${UTF[$i]}" "bad UTF-8 $i" "$legal_str"; done
    else
        n=$ROT
        add "${INJ[$((n % ${#INJ[@]}))]}" "injection $((n % ${#INJ[@]}))" "$legal_inj"
        add "${CTL[$((n % ${#CTL[@]}))]}" "control $((n % ${#CTL[@]}))" "$legal_str"
        add "${UTF[$((n % ${#UTF[@]}))]}" "bad UTF-8 $((n % ${#UTF[@]}))" "$legal_str"
        ROT=$((ROT + 1))
    fi
    case "$kind" in
    text:*)
        lo=${kind#text:}
        add "$(head -c $((lo + 1)) /dev/zero | tr '\0' x)" "$((lo + 1)) bytes (max $lo)"
        add " " "a space alone" 1 # legal: text is free
        ;;
    uint:*)
        lo=$(cut -d: -f2 <<<"$kind")
        hi=$(cut -d: -f3 <<<"$kind")
        add "12abc" "digits then letters"
        add "-1" "negative"
        add "1.5" "a decimal"
        add "0x10" "hex"
        add "+5" "a plus sign" # strtoull would take it; the parsers must not
        add "18446744073709551616" "2^64"
        [ "$lo" -gt 0 ] && add "$((lo - 1))" "below the minimum $lo"
        [ "${#hi}" -lt 19 ] && add "$((hi + 1))" "above the maximum $hi"
        [ "$hi" = 18446744073709551614 ] && add "18446744073709551615" "above the maximum $hi"
        ;;
    milli:*)
        lo=$(cut -d: -f2 <<<"$kind")
        hi=$(cut -d: -f3 <<<"$kind")
        add "abc" "letters"
        add "-1" "negative"
        add "1.2345" "four decimals"
        add "1." "a trailing point"
        add ".5" "a leading point"
        add "1,5" "a decimal comma"
        add "18446744073709551616" "2^64"
        add "0" "zero (below the minimum)"
        add "$(((hi / 1000) + 1))" "above the maximum"
        ;;
    conc)
        add "abc" "letters"
        add "50" "no unit"
        add "50mg/l" "a wrong unit"
        add "-50mg/ml" "negative"
        add "0mg/ml" "zero"
        add "99999999999mg/ml" "out of range"
        add "18446744073709551616mg/ml" "2^64"
        ;;
    seq)
        add "abc" "letters"
        add "-1" "negative"
        add "1.5" "a decimal"
        add "18446744073709551616" "2^64"
        add "18446744073709551615" "2^64-1 (no such entry)"
        add "99999" "no such entry"
        ;;
    time | evtime)
        add "2026-13-01T00:00:00Z" "month 13"
        add "2026-02-30T00:00:00Z" "30 February"
        add "2026-01-01T25:00:00Z" "hour 25"
        add "2026-01-01T00:00:00" "no zone"
        add "1969-12-31T23:59:59Z" "before 1970"
        [ "$kind" = evtime ] && add "2999-01-01T00:00:00Z" "far in the future"
        ;;
    date)
        add "2026-13-01" "month 13"
        add "2026-02-30" "30 February"
        add "20260101" "no hyphens"
        add "2026-01-01T00:00:00Z" "a time, not a date"
        add "9999-99-99" "all nines"
        ;;
    bound) # export --since/--until: a date or a time
        add "2026-13-01" "month 13"
        add "garbage" "not a time"
        add "2026-01-01T25:00:00Z" "hour 25"
        ;;
    choice:*)
        lo=${kind#choice:}
        lo=${lo%%,*}
        add "wizard" "not one of the choices"
        add "${lo^^}" "upper case"
        add "$lo " "a trailing space"
        add "${lo:0:2}" "a prefix"
        ;;
    ndc)
        add "5045802802" "unhyphenated 10 digits (ambiguous)"
        add "50458-028-0" "too short"
        add "50458-0028-002" "too long"
        add "ABCDE-028-02" "letters"
        add "50458--028-02" "double hyphen"
        ;;
    dea)
        add "$DEA_BAD" "bad check digit"
        add "BJ612534" "too short"
        add "bj6125341" "lower case"
        add "1J6125341" "digit first"
        add "BJ61253410" "too long"
        ;;
    bp)
        add "128" "no diastolic"
        add "128/" "empty diastolic"
        add "80/120" "diastolic above systolic"
        add "400/80" "out of range"
        add "abc/def" "letters"
        add "128/82/1" "three numbers"
        add "-1/80" "negative"
        ;;
    schedules)
        add "1" "schedule 1"
        add "6" "schedule 6"
        add "3,3" "repeated"
        add "3,,4" "an empty item"
        add "III" "roman"
        ;;
    kid)
        add "zzzzzzzz" "not hex"
        add "${DR:0:7}" "7 hex digits"
        add "${DR}0" "33 hex digits"
        add "00000000000000000000000000000000" "no such key"
        add "$PH" "a pharmacist (wrong role)"
        ;;
    kidprefix)
        add "zzzzzzzz" "not hex"
        add "${AD:0:7}" "7 hex digits"
        add "${AD}0" "33 hex digits"
        add "00000000" "no such key"
        ;;
    mrn | mrnnew)
        add "MRN 1" "a space"
        add "MRN-é" "non-ASCII"
        add "$(head -c 65 /dev/zero | tr '\0' 9)" "65 characters"
        add "MRN-9999" "no such patient"
        if [ "$kind" = mrnnew ]; then
            # a new patient's id: any 1..64 printable ASCII characters but space
            for i in "${!VAL[@]}"; do
                [[ ${VAL[$i]} =~ ^[!-~]{1,64}$ ]] && LEGAL[$i]=1
            done
        fi
        ;;
    keyfile)
        add "no-such.key" "a missing file"
        add "adir" "a directory"
        add "ph.pub" "a public key file"
        if [ $((ROT % 2)) = 0 ]; then add "random.bin" "random bytes"; else add "empty.bin" "an empty file"; fi
        # init: any key may be the site's; batch: no line here for it to sign
        [ "$CUR" = init ] || [ "$CUR" = batch ] || add "nu.key" "a key not enrolled"
        ;;
    passfile | newpassfile) # key new: any passphrase of 8 bytes or more makes the new key
        add "no-such.txt" "a missing file"
        add "adir" "a directory"
        if [ "$kind" = passfile ]; then
            add "wrongpass.txt" "the wrong passphrase"
        fi
        ;;
    infile)
        add "no-such.file" "a missing file"
        add "adir" "a directory"
        # A file that verify-proof, verify-export or audit --export reads and
        # finds is no receipt or export: exit 3, documented as a finding.
        local found=0
        case "$CUR" in verify-proof | verify-export | audit) found=3 ;; esac
        add "random.bin" "random bytes" $found
        add "empty.bin" "an empty file" $found
        ;;
    outfile)
        add "adir" "an existing directory"
        add "adir/" "a trailing slash"
        add "no/such/dir/f" "a missing directory"
        ;;
    newdir)
        add "random.bin" "a file, not a directory"
        add "no/such/dir" "a missing parent"
        ;;
    fpr)
        add "abc" "not a fingerprint"
        add "${FPR:0:78}" "one digit short"
        add "${FPR//:/}0" "too long"
        add "zz${FPR:2}" "not hex"
        ;;
    rule)
        add "NOPE" "no such rule"
        add "mon-duration" "lower case"
        ;;
    name)
        add "no-such-profile" "no such profile"
        ;;
    set)
        add "mg" "no ="
        add "=28" "no field"
        add "mg=abc" "a bad value"
        add "nosuchfield=1" "no such field"
        add "mg=28=1" "two ="
        add "patient=MRN-1" "an uncorrectable field"
        ;;
    override) ;;
    flag) VAL=() LBL=() LEGAL=() ;;
    *) fail "no variants for kind '$kind'" ;;
    esac
    if [ "$QUICK" = 1 ] && [ "${#VAL[@]}" -gt 2 ]; then
        # keep empty, 100 KB, one of the three rotating strings (2..4) and one
        # kind-specific variant (5..), each chosen by the option's turn
        local keep=(0 1 $((2 + rot0 % 3))) nspec=$((${#VAL[@]} - 5)) v=() l=() g=() k
        [ "$nspec" -gt 0 ] && keep+=($((5 + rot0 % nspec)))
        for k in "${keep[@]}"; do v+=("${VAL[$k]}") l+=("${LBL[$k]}") g+=("${LEGAL[$k]}"); done
        VAL=("${v[@]}") LBL=("${l[@]}") LEGAL=("${g[@]}")
    fi
    return 0
}

# --- running one case ---------------------------------------------------------------------------
CASES=0 ACCEPTED=0 LEAKN=0
shopt -s nullglob dotglob
# The ledger as bytes: every file under it but LMDB's lock files (lock.mdb):
# LMDB writes each reader's pid and transaction into a slot there, so even a
# read-only command changes its bytes; it holds no data (LMDB rebuilds it when
# no process has the ledger open). The file list is part of the state.
# Hashing every file after every case would cost a process per case, so each
# case compares the file list and modification times (a write moves the
# mtime), and every command's row of cases ends with the sha256 of every file.
DATA=()
ledger_files() {
    local files=("$L"/* "$L"/identities/*) f
    LIST="${files[*]}"
    DATA=()
    for f in "${files[@]}"; do
        case "$f" in */lock.mdb | */identities) ;; *) DATA+=("$f") ;; esac
    done
}
ledger_state() {
    ledger_files
    STATE="$LIST|$(sha256sum "${DATA[@]}")"
    local f
    for f in "${DATA[@]}"; do touch -r "$f" "$T/mtime.${f//\//_}"; done
}
# ledger_same: the same files, none modified since ledger_state.
ledger_same() {
    ledger_files
    [ "$LIST" = "${STATE%%|*}" ] || return 1
    local f
    for f in "${DATA[@]}"; do
        [ ! "$f" -nt "$T/mtime.${f//\//_}" ] && [ ! "$f" -ot "$T/mtime.${f//\//_}" ] || return 1
    done
}
cwd_state() {
    local f=("$W"/*)
    CWD="${f[*]}"
}
ledger_state
STATE0=$STATE
cwd_state
CWD0=$CWD

# check_bytes DESC: every file of the ledger holds the bytes it held at the start.
check_bytes() {
    ledger_state
    [ "$STATE" = "$STATE0" ] || fail "$1: the ledger directory's bytes changed"
    pass
}

# UTF-8, byte by byte (LC_ALL=C): ASCII, or a lead byte and its continuation bytes
UTF8_RE=$'^([\x01-\x7f]|[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf][\x80-\xbf]|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf][\x80-\xbf]|[\xf1-\xf3][\x80-\xbf][\x80-\xbf][\x80-\xbf]|\xf4[\x80-\x8f][\x80-\xbf][\x80-\xbf])*$'
LEAKEVERY=${BADINPUT_LEAKEVERY:-$((QUICK ? 8 : 6))}
LOG="$T/badinput.log"
: >"$LOG"

# refuse DESC ARGV...: run rxledger; it must refuse as the header says.
refuse() {
    local desc=$1 raw
    shift
    CASES=$((CASES + 1))
    local asan=${ASAN_OPTIONS:-}
    if [ "${BADINPUT_LEAKS:-0}" != 1 ] && [ $((CASES % LEAKEVERY)) -ne 0 ]; then
        asan="${asan:+$asan:}detect_leaks=0"
    else
        LEAKN=$((LEAKN + 1))
    fi
    set +e
    ASAN_OPTIONS=$asan "$RXLEDGER" "$@" >"$T/out" 2>"$T/err" <"${STDIN:-/dev/null}"
    RC=$?
    set -e
    OUT=
    IFS= read -r -d '' OUT <"$T/out" || true
    raw=
    IFS= read -r -d '' raw <"$T/err" || true
    ERR=${raw%$'\n'}
    printf '%s\t%s\t%s\n' "$RC" "$desc" "${ERR:0:300}" >>"$LOG"
    case "$RC:${ALLOW3:-0}" in 1:* | 2:* | 3:1) ;; *) fail "$desc: expected exit 1 or 2, got $RC" ;; esac
    [ "$raw" = "$ERR"$'\n' ] || fail "$desc: stderr is not one line ending in a newline"
    case "$ERR" in "rxledger: "*) ;; *) fail "$desc: stderr does not start with 'rxledger: '" ;; esac
    case "$ERR" in *[[:cntrl:]]*) fail "$desc: a raw control character on stderr" ;; esac
    # and no byte that is not UTF-8 (a lone 0x9b is CSI to an 8-bit terminal)
    [[ $ERR =~ $UTF8_RE ]] || fail "$desc: stderr is not valid UTF-8"
    if [ "${ALLOW_STDOUT:-0}" != 1 ] && [ -n "$OUT" ]; then
        fail "$desc: something on stdout"
    fi
    ledger_same || fail "$desc: the ledger directory changed"
    cwd_state
    [ "$CWD" = "$CWD0" ] || fail "$desc: a file was left behind: '$CWD' (was '$CWD0')"
    [ ! -e "$T/newledger" ] || fail "$desc: init left $T/newledger behind"
    pass
}

# argv_of NAME: the baseline of row NAME as ARGV[] (with -l $L first unless it has
# its own), positional slots kept as POS_NAME[] -> index.
declare -A POS
argv_of() {
    local words w i=0
    eval "words=(${ROW_BASE[$1]})"
    ARGV=()
    POS=()
    [ "${words[0]}" = -l ] || ARGV=(-l "$L")
    for w in "${words[@]}"; do
        if [[ $w == @*=* ]]; then
            POS[${w%%=*}]=${#ARGV[@]}
            w=${w#*=}
        fi
        ARGV+=("$w")
    done
}

# with_value NAME OPT VALUE: ARGV with OPT's value replaced (or OPT VALUE added).
with_value() {
    local opt=$2 val=$3 i found=0
    argv_of "$1"
    if [[ $opt == @* ]]; then
        ARGV[${POS[$opt]}]=$val
        return
    fi
    for i in "${!ARGV[@]}"; do
        if [ "${ARGV[$i]}" = "$opt" ]; then
            ARGV[$((i + 1))]=$val
            found=1
            break
        fi
    done
    [ $found = 1 ] || ARGV+=("$opt" "$val")
}

# without NAME OPT: ARGV without OPT and its value (a positional: left out).
without() {
    local opt=$2 kind=$3 i out=()
    argv_of "$1"
    if [[ $opt == @* ]]; then
        unset "ARGV[${POS[$opt]}]"
        ARGV=("${ARGV[@]}")
        return
    fi
    for ((i = 0; i < ${#ARGV[@]}; i++)); do
        if [ "${ARGV[$i]}" = "$opt" ]; then
            [ "$kind" = flag ] || i=$((i + 1))
            continue
        fi
        out+=("${ARGV[$i]}")
    done
    ARGV=("${out[@]}")
}

# --- every baseline succeeds (on a copy), so each refusal below is the variant's ---------------
SCRATCH="$T/scratch"
fresh_copy() {
    rm -rf "$SCRATCH"
    cp -a "$L" "$SCRATCH"
}
# run_on_copy ARGV...: ARGV with the ledger replaced by a fresh copy; new files
# in the working directory removed afterwards.
run_on_copy() {
    local a=("$@") i
    fresh_copy
    for i in "${!a[@]}"; do [ "${a[$i]}" = "$L" ] && a[$i]=$SCRATCH; done
    rx "${a[@]}"
    local f
    for f in "$W"/*; do
        case " $CWD0 " in *" $f "*) ;; *) rm -rf "$f" ;; esac
    done
    rm -rf "$T/newledger"
}
for c in "${CMDS[@]}"; do
    argv_of "$c"
    STDIN=/dev/null run_on_copy "${ARGV[@]}"
    case "$c:$RC" in
    audit:3) ;; # FAIL findings in the fixture: still a run that worked
    *:0) ;;
    *) fail "baseline of '$c' does not succeed: rxledger ${ARGV[*]}" ;;
    esac
    pass
done
echo "all ${#CMDS[@]} baselines succeed on a copy of the ledger"
[ -z "${BADINPUT_TIMES:-}" ] || times

# --- the matrix -----------------------------------------------------------------------------------
LEGAL_TEXT=() # "command|option" of free text: injection-looking values are accepted there
for c in "${CMDS[@]}"; do
    CUR=$c
    ALLOW_STDOUT=0
    [ "$c" = batch ] && ALLOW_STDOUT=1 # documented: "not appended: lines ..." on stdout
    export ALLOW_STDOUT
    for spec in ${ROW_OPTS[$c]}; do
        opt=${spec%%=*}
        kind=${spec#*=}
        req=0
        [[ $opt == *! ]] && req=1 && opt=${opt%!}
        if [ "$opt" = -l ]; then # init's directory: a global option
            variants "$kind"
            for i in "${!VAL[@]}"; do
                [ "${LEGAL[$i]}" = 0 ] || continue # a legal directory name
                argv_of "$c"
                ARGV[1]=${VAL[$i]}
                refuse "$c: -l ${LBL[$i]}" "${ARGV[@]}"
            done
            continue
        fi
        # option given without its value (last, so getopt cannot take the next word)
        if [[ $opt != @* ]] && [ "$kind" != flag ]; then
            without "$c" "$opt" "$kind"
            refuse "$c: $opt without its value" "${ARGV[@]}" "$opt"
        fi
        # a flag given a value
        if [ "$kind" = flag ]; then
            without "$c" "$opt" flag
            refuse "$c: $opt=yes" "${ARGV[@]}" "$opt=yes"
        fi
        # a required option (or positional) left out
        if [ $req = 1 ] || [[ $opt == @* ]]; then
            without "$c" "$opt" "$kind"
            refuse "$c: $opt left out" "${ARGV[@]}"
        fi
        [[ $kind == text:* ]] && LEGAL_TEXT+=("$c|$opt|${kind#text:}")
        variants "$kind"
        for i in "${!VAL[@]}"; do
            if [ "${LEGAL[$i]}" = 1 ]; then
                ACCEPTED=$((ACCEPTED + 1))
                continue # legal free text: checked by the acceptance part below
            fi
            ALLOW3=0
            [ "${LEGAL[$i]}" = 3 ] && ALLOW3=1
            with_value "$c" "$opt" "${VAL[$i]}"
            refuse "$c: $opt ${LBL[$i]}" "${ARGV[@]}"
            ALLOW3=0
        done
    done
    # an unknown option and an extra positional argument
    argv_of "$c"
    refuse "$c: an unknown option" "${ARGV[@]}" --no-such-option
    [ "$QUICK" = 1 ] || refuse "$c: an unknown option with a value" "${ARGV[@]}" --no-such-option=1
    refuse "$c: an extra argument" "${ARGV[@]}" extra-argument
    check_bytes "the cases of '$c'"
    [ -z "${BADINPUT_TIMES:-}" ] || { echo "$c: $CASES cases"; times; }
done
unset ALLOW_STDOUT

# --- the global options and the command word itself ---------------------------------------------
refuse "no command at all"
refuse "an unknown command" -l "$L" no-such-command
refuse "an unknown command, injection-looking" -l "$L" '$(rm -rf /)'
refuse "an unknown command, control characters" -l "$L" $'\e[2Jnote'
refuse "an unknown command, bad UTF-8" -l "$L" $'\xff\xfe'
refuse "a command in upper case" -l "$L" VERIFY
refuse "-l without its value" -l
refuse "an unknown global option" --no-such-option verify
for grp in key policy setting patient stock session; do
    refuse "$grp: no subcommand" -l "$L" "$grp"
    refuse "$grp: an unknown subcommand" -l "$L" "$grp" no-such-sub
    refuse "$grp: a subcommand with bad UTF-8" -l "$L" "$grp" $'\xc0\xaf'
done
LCMDS=(verify log "key list" inventory audit "show 1" note)
[ "$QUICK" = 0 ] || LCMDS=(verify "show 1" note)
for c in "${LCMDS[@]}"; do
    # shellcheck disable=SC2086
    refuse "$c: -l ''" -l "" $c
    # shellcheck disable=SC2086
    refuse "$c: -l at a missing directory" -l "$T/no-such-dir" $c
    # shellcheck disable=SC2086
    refuse "$c: -l at a file" -l "$W/random.bin" $c
    # shellcheck disable=SC2086
    refuse "$c: -l 100 KB" -l "$BIG" $c
    # shellcheck disable=SC2086
    refuse "$c: -l with bad UTF-8" -l $'\xff\xfe' $c
done

# --- batch: malformed lines on standard input -----------------------------------------------------
ALLOW_STDOUT=1
bl() { # bl DESC LINE...: the lines as batch's input
    local desc=$1
    shift
    printf '%s\n' "$@" >"$T/lines"
    STDIN="$T/lines" refuse "batch: $desc" -l "$L" batch --key ph.key
}
bl "not JSON" 'not json'
bl "a JSON array" '["note"]'
bl "no type" '{"text":"x"}'
bl "an unknown type" '{"type":"wizardry"}'
bl "a type that cannot be batched" '{"type":"genesis"}'
bl "a value that is an object" '{"type":"note","text":{"a":1}}'
bl "a decimal number" '{"type":"vitals","session":1.5,"phase":"pre"}'
bl "a key named in a line" '{"type":"note","text":"x","key":"ph.key"}'
bl "a forward @ reference" '{"type":"vitals","session":"@9","phase":"pre"}'
bl "text with ESC" '{"type":"note","text":"a\u001b[2Jb"}'
bl "text with a lone surrogate" '{"type":"note","text":"a\ud800b"}'
bl "raw invalid UTF-8" $'{"type":"note","text":"a\xffb"}'
bl "a duplicate key" '{"type":"note","text":"a","text":"b"}'
bl "an injection-looking type" '{"type":"$(rm -rf /)"}'
bl "an unknown field" '{"type":"note","text":"x","bogus":1}'
bl "a good line then a bad one" '{"type":"note","text":"ok"}' '{"type":"note","text":""}'
check_bytes "batch's malformed lines"
# A transaction refused after a line made a new patient: the batch erases that
# patient again (patient forget's rewrite of the identity store), so the store's
# bytes change though nothing in it does. The chain's data.mdb must not change,
# and the patient must be unknown.
chain0=$(sha256sum <"$L/data.mdb")
printf '%s\n' "{\"type\":\"patient.enroll\",\"patient\":\"MRN-77\",\"rems-patient-id\":\"REMS-77\",\"on\":\"$(day -1)\"}" \
    '{"type":"note","text":""}' >"$T/lines"
"$RXLEDGER" -l "$L" batch --key ph.key <"$T/lines" >"$T/out" 2>"$T/err" && fail "batch: a new patient then a bad line was accepted"
expect_eq "$(sha256sum <"$L/data.mdb")" "$chain0" "batch: a new patient then a bad line: data.mdb unchanged"
rx -l "$L" audit --patient MRN-77
expect_rc 1 "batch: the new patient of a refused transaction is unknown"
expect_match "$ERR" "no such patient" "batch: MRN-77 is not known"
ledger_state
STATE0=$STATE
head -c 300000 /dev/zero | tr '\0' a >"$T/big"
printf '{"type":"note","text":"%s"}\n' "$(cat "$T/big")" >"$T/lines"
STDIN="$T/lines" refuse "batch: a line over 256 KB" -l "$L" batch --key ph.key
unset ALLOW_STDOUT

# --- free text: injection-looking values are legal, stored verbatim, shown escaped ----------------
INJALL="'; DROP TABLE x;--\$(rm -rf /)\`id\`../../etc/passwd%s%n"
for lt in "${LEGAL_TEXT[@]}"; do
    IFS='|' read -r c opt max <<<"$lt"
    case "$c" in key\ new | init) continue ;; esac # no entry to show: covered by key enroll and note
    v=$INJALL
    [ "${#v}" -le "$max" ] || v=${v:0:$max}
    with_value "$c" "$opt" "$v"
    run_on_copy "${ARGV[@]}"
    [ "$RC" -eq 0 ] || fail "$c $opt: legal free text '$v' refused: $ERR"
    seq=$(printf '%s\n' "$OUT" | sed -n '1s/^\(appended seq\|enrolled [0-9a-f]* (.*) at seq\|revoked [0-9a-f]* at seq\) \([0-9]*\).*/\2/p')
    [ -n "$seq" ] || fail "$c $opt: no seq in '$OUT'"
    # the copy run_on_copy made is still there: read the entry back from it
    "$RXLEDGER" -l "$SCRATCH" show "$seq" --raw >"$T/raw" </dev/null
    grep -aqF -- "$v" "$T/raw" || fail "$c $opt: '$v' not stored byte for byte"
    shown=$("$RXLEDGER" -l "$SCRATCH" show "$seq" </dev/null)
    grep -qF -- "\"$v\"" <<<"$shown" || fail "$c $opt: show does not print '$v' as stored"
    pass
done
echo "free text: ${#LEGAL_TEXT[@]} fields accept injection-looking text and store it verbatim"

# Control characters that a planted entry may hold never reach the terminal raw:
# forge a note with ESC, CR and a newline (rxl-tamper signs it, bypassing the
# input checks) and read it back through show and log.
fresh_copy
"$TAMPER" "$SCRATCH" forge ph.key $'evil\e[2J\rline\nnext\xc2\x9b' >/dev/null 2>&1 ||
    fail "rxl-tamper forge"
for view in "show $SIZE" "log"; do
    # shellcheck disable=SC2086
    out=$("$RXLEDGER" -l "$SCRATCH" $view </dev/null 2>&1 || true)
    case "$out" in *$'\e'* | *$'\r'* | *$'\xc2\x9b'*) fail "$view prints a planted control character raw" ;; esac
    pass
done

ledger_state
[ "$STATE" = "$STATE0" ] || fail "the ledger changed over the matrix"
rx_ok "verify at the end" -l "$L" verify
expect_match "$OUT" "^ok: $SIZE entries, " "still $SIZE entries"
[ "$QUICK" = 0 ] || echo "sanitizer build: the quick matrix (BADINPUT_FULL=1 for the full one)"
echo "bad-input matrix: $CASES refused cases ($LEAKN with LeakSanitizer), $ACCEPTED legal free-text values set aside, ${#LEGAL_TEXT[@]} accepted and read back"
finish
