#!/usr/bin/env bash
# Four writers at once, each appending CONC_N mixed entries (50; 1,000 in
# `make torture`), every append its own process, with different enrolled keys:
# notes, stock receipts and counts, batches, whole esketamine sessions,
# patient enrollments and amendments; readers loop verify, audit, log and
# show meanwhile. No reader ever sees a broken or half-written chain, every
# acknowledged entry is there exactly once, and the audit finds nothing.
# See tests/cli/conc_drive.py; docs/reliability.md has the figures.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"

N=${CONC_N:-50}
L="$T/clinic"
export CONC_BASE=$(($(date +%s) - 5 * 3600)) # the sessions' event times: 5 hours ago
day() { date -u -d "@$((CONC_BASE + $1 * 86400))" +%Y-%m-%d; }

newkey site "Four Writers Clinic"
for k in jroe bob alee msmith; do
    newkey "$k" "Writer $k"
done
rx_ok "init" -l "$L" init --site-name "Four Writers Clinic" --dea "$DEA_OK" --key site.key
rx_ok "setting" -l "$L" setting certify --rems-id SET-0004 --kind outpatient --from "$(day -400)" \
    --key site.key
rx_ok "registration" -l "$L" registration --dea "$DEA_OK" --schedules 3,4,5 --expires "$(day 700)" \
    --key site.key
for kr in jroe:pharmacist bob:pharmacist alee:nurse msmith:prescriber; do
    rx_ok "enroll ${kr%%:*}" -l "$L" key enroll --pub "${kr%%:*}.pub" --role "${kr##*:}" \
        --license "LIC-${kr%%:*}" --from "$(day -30)T00:00:00Z" --key site.key
done
# the lot the sessions draw from, counted once in a complete inventory
rx_ok "stock receive" -l "$L" stock receive --ndc 50458-028-02 --lot SETUP1 --expires "$(day 300)" \
    --containers 1000 --units-per-container 2 --form "28 mg nasal device" --unit-mg 28 \
    --substance esketamine --supplier "McKesson Specialty" --supplier-address "1 Main St, Memphis TN" \
    --supplier-dea AP5836727 --key jroe.key --at "$(date -u -d "@$CONC_BASE" +%Y-%m-%dT%H:%M:%SZ)"
rx_ok "inventory" -l "$L" stock count --ndc 50458-028-02 --lot SETUP1 --on-hand 2000 --when open \
    --complete --key jroe.key --at "$(date -u -d "@$((CONC_BASE + 60))" +%Y-%m-%dT%H:%M:%SZ)"
rx_ok "audit of the setup" -l "$L" audit

run /usr/bin/python3 "$HERE/conc_drive.py" "$RXLEDGER" "$L" "$N"
[ "$RC" -eq 0 ] || fail "four writers: $OUT"
pass
expect_match "$OUT" "^4 writers x $N appends .*: $((4 * N)) entries \\+ 9 setup, each acknowledged once; [0-9]+ reader runs" \
    "every append once, every reader run clean"
echo "$OUT"
finish
