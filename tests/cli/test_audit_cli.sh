#!/usr/bin/env bash
# rxledger audit and policy from the command line: formats, filters, exit
# codes, profile checks and adoption, and a broken chain reported first.
set -euo pipefail
: "${RXLEDGER:?}" "${TAMPER:?}"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
export RXLEDGER_PASSPHRASE="audit cli passphrase"
pass=0
ok() { pass=$((pass + 1)); }
fail() { echo "FAIL: $*"; echo "$pass passed, 1 failed"; exit 1; }
rx() { "$RXLEDGER" "$@"; }
kid() { rx key fingerprint "$1" | awk '/^kid/ {print $2}'; }
t() { date -u -d "@$(( $(date +%s) - 6 * 3600 + $1 * 60 ))" +%Y-%m-%dT%H:%M:%SZ; }

for k in site:"Audit Clinic" ph:"Pat Pharm, PharmD" dr:"Dr Dee, MD" rn:"Rae Nurse, RN"; do
    rx key new --out "${k%%:*}.key" --name "${k#*:}" --kdf-cost 10 >/dev/null
done
export RXLEDGER_DIR=./clinic
rx init --site-name "Audit Clinic" --dea BJ6125341 --key site.key >/dev/null
rx key enroll --pub ph.pub --role pharmacist --license RPH-1 --key site.key >/dev/null
rx key enroll --pub dr.pub --role prescriber --license MD-1 --key site.key >/dev/null
rx key enroll --pub rn.pub --role nurse --license RN-1 --key site.key >/dev/null
rx setting certify --rems-id SET-9 --kind outpatient --from 2026-01-01 --key site.key >/dev/null
rx registration --dea BJ6125341 --schedules 3,4,5 --expires 2028-12-31 --key site.key >/dev/null
rx stock receive --ndc 42023-113-10 --lot K1 --expires 2028-01-31 --containers 1 \
    --units-per-container 5 --form "500 mg vial" --unit-mg 500 --substance ketamine \
    --supplier S --supplier-address A --supplier-dea AP5836727 --key ph.key --at "$(t 0)" >/dev/null
S=$(rx session open --patient MRN-7 --drug ketamine --route iv --setting outpatient \
    --prescriber "$(kid dr.pub)" --observer "$(kid rn.pub)" --weight-kg 72 --key rn.key \
    --at "$(t 5)" | awk '/^session/ {print $2}')
rx vitals --session "$S" --phase pre --bp 120/80 --spo2 98 --key rn.key --at "$(t 6)" >/dev/null
rx dose --session "$S" --ndc 42023-113-10 --lot K1 --mg 36 --infusion-min 40 --key dr.key \
    --at "$(t 10)" >/dev/null
# discharged 30 min after the dose: refused, then recorded under override
rx discharge --session "$S" --sedation-resolved --dissociation-resolved --respiration-stable \
    --transport-arranged --override "patient insisted; assessed stable" --key rn.key \
    --at "$(t 40)" >/dev/null 2>&1

# --- formats and exit codes ---------------------------------------------------------
set +e
out=$(rx audit 2>err); rc=$?
set -e
[ "$rc" = 3 ] || fail "audit with a FAIL exits 3 (got $rc): $(cat err)"; ok
grep -q "^session $S: ketamine outpatient" <<<"$out" || fail "text groups by session: $out"; ok
grep -q "FLAG OVERRIDE .*patient insisted" <<<"$out" || fail "the override is listed with its reason"; ok
grep -q "^summary: .* sessions audited" <<<"$out" || fail "summary line"; ok
grep -Eq "^OVERRIDE +0 +1$" <<<"$out" || fail "summary table counts per rule"; ok

set +e
rx audit --format json > audit.json; rc=$?
set -e
[ "$rc" = 3 ] || fail "json audit exits 3"; ok
/usr/bin/python3 - "$S" <<'PY' || fail "json document"
import json, sys
d = json.load(open("audit.json"))
s = int(sys.argv[1])
assert set(d) == {"summary", "rules", "findings"}, d.keys()
assert d["summary"]["sessions"] >= 1 and d["summary"]["fail"] >= 1
ov = [f for f in d["findings"] if f["rule"] == "OVERRIDE"]
assert len(ov) == 1 and ov[0]["session"] == s and ov[0]["severity"] == "FLAG", ov
assert isinstance(ov[0]["evidence"], list) and ov[0]["evidence"][0] > s
assert d["rules"]["OVERRIDE"]["FLAG"] == 1
PY
ok

set +e
rx audit --format csv > audit.csv; rc=$?
set -e
[ "$rc" = 3 ] || fail "csv audit exits 3"; ok
head -1 audit.csv | grep -qx "rule,severity,session,ndc,lot,evidence,when,message" || fail "csv header"; ok
grep -q "^OVERRIDE,FLAG,$S,," audit.csv || fail "csv row of the override: $(cat audit.csv)"; ok

# only FLAGs: exit 0
out=$(rx audit --rule OVERRIDE) || fail "a FLAG-only audit exits 0"; ok
grep -q "OVERRIDE" <<<"$out" || fail "--rule keeps that rule"; ok
[ "$(echo "$out" | grep -c '^  F')" = 1 ] || fail "--rule keeps only that rule"; ok

# filters and bad options
out=$(rx audit --rule OVERRIDE --to 2020-01-01) || fail "window before everything"; ok
grep -q "OVERRIDE" <<<"$out" && fail "--to excludes later findings"; ok
set +e
rx audit --rule NOPE 2>err; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "bad --rule 'NOPE'" err || fail "unknown rule is a usage error"; ok
set +e
rx audit --format xml 2>err; rc=$?
set -e
[ "$rc" = 2 ] || fail "bad format exit 2"; ok
set +e
rx audit --patient MRN-NOBODY 2>err; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "no such patient" err || fail "unknown patient: $(cat err)"; ok
out=$(rx audit --patient MRN-7 --rule OVERRIDE) || fail "patient filter"; ok
grep -q OVERRIDE <<<"$out" || fail "the patient's override is kept"; ok

# --- policy check / show / adopt / what-if ------------------------------------------
rx policy show ketamine-iv > k.ini
grep -q "^min_minutes = 60" k.ini || fail "policy show prints the shipped text"; ok
out=$(rx policy check k.ini) || fail "shipped profile checks"; ok
grep -q "^ok: ketamine-iv (ketamine)" <<<"$out" || fail "check output: $out"; ok
sed 's/^min_minutes = 60/min_minutes = 1/; s/^name = ketamine-iv/name = lenient-iv/' k.ini > lenient.ini
printf '[dose]\nfoo = 1\n' >> k.ini
set +e
rx policy check k.ini 2>err; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "k.ini:.*foo: unknown key" err || fail "unknown key named with file and line: $(cat err)"; ok
# what-if: with 1 minute of monitoring the 30-minute discharge passes
out=$(rx audit --policy lenient.ini --rule MON-DURATION) || fail "what-if audit passes"; ok
grep -q "MON-DURATION" <<<"$out" && fail "what-if profile applied"; ok
today=$(date -u +%Y-%m-%d)
sum=$(sha256sum clinic/data.mdb)
set +e
rx policy adopt k.ini --effective "$today" --key site.key 2>err; rc=$?
set -e
[ "$rc" = 1 ] && [ "$(sha256sum clinic/data.mdb)" = "$sum" ] || fail "a bad profile is not adopted"; ok
set +e
rx policy adopt lenient.ini --effective "$today" --key ph.key 2>err; rc=$?
set -e
[ "$rc" = 1 ] && grep -q "may not sign 'policy.adopt'" err || fail "only the site key adopts: $(cat err)"; ok
set +e
rx policy adopt lenient.ini --effective 2020-01-01 --key site.key 2>err; rc=$?
set -e
[ "$rc" = 2 ] && grep -q "retroactively" err || fail "no retroactive adoption: $(cat err)"; ok
out=$(rx policy adopt lenient.ini --effective "$today" --key site.key) || fail "adopt"; ok
grep -q "^adopted lenient-iv (ketamine) effective $today at seq [0-9]*, sha256 [0-9a-f]\{64\}$" <<<"$out" || fail "adopt output: $out"; ok
[ "$(sha256sum < lenient.ini | cut -c1-64)" = "${out##* }" ] || fail "the recorded hash is the file's SHA-256"; ok
rx policy list | grep -q "^adopted  lenient-iv" || fail "policy list shows the adoption"; ok
rx policy show lenient-iv | cmp -s - lenient.ini || fail "policy show prints the adopted text"; ok
# a session after the change, discharged as quickly: judged by the new profile
S2=$(rx session open --patient MRN-8 --drug ketamine --route iv --setting outpatient \
    --prescriber "$(kid dr.pub)" --observer "$(kid rn.pub)" --weight-kg 72 --key rn.key \
    | awk '/^session/ {print $2}')
ago() { date -u -d "@$(( $(date +%s) - $1 ))" +%Y-%m-%dT%H:%M:%SZ; }
rx vitals --session "$S2" --phase pre --bp 120/80 --spo2 98 --key rn.key --at "$(ago 180)" >/dev/null
two_min_ago=$(ago 120)
# (no --infusion-min: monitoring then counts from the dose itself)
rx dose --session "$S2" --ndc 42023-113-10 --lot K1 --mg 36 --key dr.key \
    --at "$two_min_ago" >/dev/null
set +e
out=$(rx audit --rule MON-DURATION --format csv); rc=$?
set -e
[ "$rc" = 3 ] || fail "the session before the change still FAILs"; ok
grep -q "^MON-DURATION,FAIL,$S," <<<"$out" || fail "session $S judged by the shipped profile: $out"; ok
rx discharge --session "$S2" --sedation-resolved --dissociation-resolved --respiration-stable \
    --transport-arranged --key rn.key >/dev/null 2>&1 || fail "discharge allowed by the adopted profile"; ok
set +e
out=$(rx audit --rule MON-DURATION --format csv); rc=$?
set -e
grep -q "^MON-DURATION,FAIL,$S2," <<<"$out" && fail "session $S2 judged by the adopted profile: $out"; ok
rx verify >/dev/null || fail "verify after adoption"; ok

# --- a broken chain is the first finding -------------------------------------------
cp -r clinic broken
"$TAMPER" broken flip 3 sig
set +e
out=$(rx -l broken audit 2>/dev/null); rc=$?
set -e
[ "$rc" = 3 ] || fail "broken chain audit exits 3"; ok
grep -q "FAIL CHAIN .*entry 3: .*not trusted" <<<"$out" || fail "CHAIN finding: $out"; ok
grep -q "^summary: 3 entries read" <<<"$out" || fail "nothing after the break was read: $out"; ok
echo "$pass passed, 0 failed"
