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

step "Two people: their own keys, enrolled by the site key"
run key new --out jroe.key --name "Jane Roe, PharmD"
run key new --out alee.key --name "Ann Lee, RN"
run key enroll --pub jroe.pub --role pharmacist --license "RPH-12345" --key site.key
run key enroll --pub alee.pub --role nurse --license "RN-67890" --key site.key
run key list

step "Signed entries"
run note --text "opened controlled-substance safe" --key jroe.key
run note --text "crash cart checked" --key alee.key
run note --text "closed controlled-substance safe" --key jroe.key

step "The record"
run log
run show 3

step "Verification"
run verify

step "Someone edits a copy of the ledger file directly: one byte of entry 4"
cp -r clinic tampered
printf '$ rxl-tamper tampered flip 4 payload\n'
"$TAMPER" tampered flip 4 payload
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
kid=$("$RXLEDGER" key fingerprint alee.pub | awk '/^kid/ {print $2}')
run key revoke "$kid" --reason "left the clinic" --key site.key
set +e
run note --text "after leaving" --key alee.key
rc=$?
set -e
[ "$rc" = 1 ] || { echo "demo: a revoked key was accepted" >&2; exit 1; }
run verify
printf '\ndemo complete: ledger in %s/clinic\n' "$WORK"
