#!/usr/bin/env bash
# The rxledger demo: a clinic's ledger made, used, verified, and a tampered
# copy caught. Every command is printed before it runs. `make demo` runs it.
set -euo pipefail
RXLEDGER=${RXLEDGER:-rxledger}
TAMPER=${TAMPER:?the rxl-tamper test tool (built with the project)}
WORK=${1:-./demo-ledger}

rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"
# Scripts give passphrases by variable or file; people type them at the terminal.
export RXLEDGER_PASSPHRASE="demo passphrase, not for real use"
export RXLEDGER_DIR=./clinic

step() { printf '\n== %s\n' "$*"; }
run() {
    printf '$ rxledger'
    printf ' %q' "$@"
    printf '\n'
    "$RXLEDGER" "$@"
}

step "The site key and the ledger (its fingerprint goes on the certification paperwork)"
run key new --out site.key --name "Juniper Clinic"
run init --site-name "Juniper Clinic" --dea BJ6125341 --key site.key

# Event times: a morning a few hours ago (the recorded time is always the clock).
t() { date -u -d "@$(( $(date +%s) - 5 * 3600 + $1 * 60 ))" +%Y-%m-%dT%H:%M:%SZ; }
today=$(date -u +%Y-%m-%d)

step "The site: its REMS setting certification and DEA registration"
run setting certify --rems-id SET-0042 --kind outpatient --from 2026-01-01 --key site.key
run registration --dea BJ6125341 --schedules 3,4,5 --expires 2028-06-30 --key site.key

step "Three staff: their own keys, enrolled by the site key"
run key new --out jroe.key --name "Jane Roe, PharmD"
run key new --out msmith.key --name "Mark Smith, MD"
run key new --out alee.key --name "Ann Lee, RN"
run key enroll --pub jroe.pub --role pharmacist --license "RPH-12345" --from 2026-01-05T00:00:00Z --key site.key
run key enroll --pub msmith.pub --role prescriber --license "MD-55501" --from 2026-01-05T00:00:00Z --key site.key
run key enroll --pub alee.pub --role nurse --license "RN-67890" --from 2026-01-05T00:00:00Z --key site.key
run key list
kid_of() { "$RXLEDGER" key fingerprint "$1" | awk '/^kid/ {print $2}'; }
SMITH=$(kid_of msmith.pub)
LEE=$(kid_of alee.pub)

step "Stock received: SPRAVATO 56 mg kits and ketamine 50 mg/mL vials"
run note --text "opened controlled-substance safe" --key jroe.key --at "$(t 0)"
run stock receive --ndc 50458-028-02 --lot L2611A --expires 2027-10-31 --containers 4 \
    --units-per-container 2 --form "28 mg nasal device" --unit-mg 28 --substance esketamine \
    --supplier "McKesson Specialty" --supplier-address "1 Main St, Memphis TN" \
    --supplier-dea AP5836727 --key jroe.key --at "$(t 5)"
run stock receive --ndc 42023-113-10 --lot K7731 --expires 2027-03-31 --containers 1 \
    --units-per-container 5 --form "500 mg/10 mL vial" --unit-mg 500 --substance ketamine \
    --supplier "McKesson Specialty" --supplier-address "1 Main St, Memphis TN" \
    --supplier-dea AP5836727 --key jroe.key --at "$(t 6)"

step "Patients enrolled in the SPRAVATO REMS (identifiers stay out of the chain)"
run patient enroll --patient MRN-1001 --rems-patient-id REMS-77001 --on 2026-11-01 --key msmith.key
run patient enroll --patient MRN-1002 --rems-patient-id REMS-77002 --on 2026-11-02 --key msmith.key

step "Session 1: esketamine 56 mg (a first session), monitored 2 h 10 min, signed off by the observer"
out=$(run session open --patient MRN-1001 --drug esketamine --route intranasal \
    --setting outpatient --prescriber "$SMITH" --observer "$LEE" --key alee.key --at "$(t 10)")
echo "$out"
S1=${out##* }
run vitals --session "$S1" --phase pre --bp 128/82 --hr 72 --spo2 98 --key alee.key --at "$(t 12)"
run dose --session "$S1" --ndc 50458-028-02 --lot L2611A --mg 28 --device 1 --key alee.key --at "$(t 15)"
run dose --session "$S1" --ndc 50458-028-02 --lot L2611A --mg 28 --device 2 --key alee.key --at "$(t 20)"
run vitals --session "$S1" --phase post40 --bp 138/88 --hr 76 --spo2 97 --key alee.key --at "$(t 56)"
run vitals --session "$S1" --phase discharge --bp 126/80 --hr 70 --spo2 98 --key alee.key --at "$(t 145)"
run discharge --session "$S1" --sedation-resolved --dissociation-resolved --respiration-stable \
    --transport-arranged --key alee.key --at "$(t 150)"
run pmf --session "$S1" --submitted "$today" --key msmith.key

step "Session 2: esketamine 56 mg; discharge after 100 min is refused, then recorded under override"
out=$(run session open --patient MRN-1002 --drug esketamine --route intranasal \
    --setting outpatient --prescriber "$SMITH" --observer "$LEE" --key alee.key --at "$(t 30)")
echo "$out"
S2=${out##* }
run vitals --session "$S2" --phase pre --bp 122/78 --hr 68 --spo2 99 --key alee.key --at "$(t 32)"
run dose --session "$S2" --ndc 50458-028-02 --lot L2611A --mg 28 --device 1 --key alee.key --at "$(t 35)"
run dose --session "$S2" --ndc 50458-028-02 --lot L2611A --mg 28 --device 2 --key alee.key --at "$(t 40)"
run vitals --session "$S2" --phase post40 --bp 130/84 --hr 72 --spo2 98 --key alee.key --at "$(t 76)"
run vitals --session "$S2" --phase discharge --bp 124/80 --hr 70 --spo2 98 --key alee.key --at "$(t 138)"
set +e
run discharge --session "$S2" --sedation-resolved --dissociation-resolved --respiration-stable \
    --transport-arranged --key alee.key --at "$(t 140)"
rc=$?
set -e
[ "$rc" = 1 ] || { echo "demo: a short monitoring period was not refused" >&2; exit 1; }
run discharge --session "$S2" --sedation-resolved --dissociation-resolved --respiration-stable \
    --transport-arranged --override "family emergency; physician assessed and released" \
    --key alee.key --at "$(t 140)"

step "Session 3: IV ketamine 36 mg (0.5 mg/kg over 40 min), the rest of the vial wasted with a witness"
out=$(run session open --patient MRN-2001 --drug ketamine --route iv --setting outpatient \
    --prescriber "$SMITH" --observer "$LEE" --weight-kg 72.5 --key msmith.key --at "$(t 60)")
echo "$out"
S3=${out##* }
run vitals --session "$S3" --phase pre --bp 124/80 --hr 70 --spo2 99 --key alee.key --at "$(t 62)"
run dose --session "$S3" --ndc 42023-113-10 --lot K7731 --mg 36 --ml 0.72 \
    --concentration 50mg/ml --infusion-min 40 --key msmith.key --at "$(t 65)"
run waste --session "$S3" --ndc 42023-113-10 --lot K7731 --mg 464 \
    --manner "drawn into a syringe, emptied into charcoal disposal pouch" \
    --key msmith.key --witness-key jroe.key --at "$(t 66)"
run discharge --session "$S3" --sedation-resolved --dissociation-resolved --respiration-stable \
    --transport-arranged --key alee.key --at "$(t 170)"
run session show "$S1"
run session show "$S3"

step "Close of business: a physical count, the inventory, the log"
run stock count --ndc 50458-028-02 --lot L2611A --on-hand 4 --when close --complete \
    --key jroe.key --at "$(t 240)"
run stock count --ndc 42023-113-10 --lot K7731 --on-hand 4 --when close --complete \
    --key jroe.key --at "$(t 241)"
run note --text "closed controlled-substance safe" --key jroe.key --at "$(t 245)"
run inventory
run log

step "Verification"
run verify

step "The compliance audit: every session judged by the profile in force"
run policy list
set +e
run audit
rc=$?
set -e
# Session 2's short monitoring was recorded under override: the audit still FAILs it.
[ "$rc" = 3 ] || { echo "demo: the audit did not report session 2 (exit $rc)" >&2; exit 1; }
echo "(exit status 3: FAIL findings)"
run audit --rule MON-DURATION --format csv || true

step "The regulator's copy: an export, verified and audited offline with the fingerprint alone"
FPR=$("$RXLEDGER" key fingerprint site.pub | awk '/^fingerprint/ {print $2}')
run export --key site.key --out export.cbor
run verify-export export.cbor --site-key "$FPR"
set +e
run audit --export export.cbor --site-key "$FPR" --rule MON-DURATION
rc=$?
set -e
[ "$rc" = 3 ] || { echo "demo: the audit of the export disagrees with the ledger's (exit $rc)" >&2; exit 1; }
echo "(exit status 3: the same finding, from the file)"
step "A receipt: session 1's dose is in the tree the site signed; later, nothing was rewritten"
run prove "$((S1 + 2))" --out dose-receipt.cbor
"$RXLEDGER" show "$((S1 + 2))" --raw >dose.cbor
run verify-proof dose-receipt.cbor dose.cbor --site-key "$FPR"
OLD=$("$RXLEDGER" checkpoint --list | tail -1 | awk '{print $3}')
run checkpoint --size "$OLD" --out old-checkpoint.cbor
run note --text "end of day" --key alee.key
run checkpoint --key site.key
run consistency --old "$OLD" --out consistency.cbor
run verify-proof consistency.cbor old-checkpoint.cbor --site-key "$FPR"
step "An export altered in transit: one byte flipped"
python3 -c 'import sys; d = bytearray(open(sys.argv[1], "rb").read()); d[len(d) // 2] ^= 1; open(sys.argv[2], "wb").write(d)' export.cbor altered.cbor
set +e
run verify-export altered.cbor --site-key "$FPR"
rc=$?
set -e
[ "$rc" = 3 ] || { echo "demo: the altered export was not caught (exit $rc)" >&2; exit 1; }
echo "(exit status 3: verification finding)"

step "Someone edits a copy of the ledger file directly: one byte of a dose"
cp -r clinic tampered
printf '$ rxl-tamper tampered flip %s payload\n' "$((S1 + 2))"
"$TAMPER" tampered flip "$((S1 + 2))" payload
set +e
run -l tampered verify
rc=$?
set -e
if [ "$rc" != 3 ]; then
    echo "demo: the tampered copy was not caught (exit $rc)" >&2
    exit 1
fi
echo "(exit status 3: verification finding)"

step "A revoked key can sign nothing more"
run key revoke "$LEE" --reason "left the clinic" --key site.key
set +e
run note --text "after leaving" --key alee.key
rc=$?
set -e
[ "$rc" = 1 ] || { echo "demo: a revoked key was accepted" >&2; exit 1; }
run verify
printf '\ndemo complete: ledger in %s/clinic\n' "$WORK"
