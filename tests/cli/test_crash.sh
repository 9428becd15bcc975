#!/usr/bin/env bash
# Crash safety: appenders killed with SIGKILL at random moments (KILLS, 50 by
# default; `make torture` runs 500). After every kill the chain verifies and
# every append that had reported success is present, byte for byte.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"

newkey site "Crash Clinic"
newkey ph "Pat Pharm"
rx_ok "init" -l "$T/clinic" init --site-name "Crash Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll" -l "$T/clinic" key enroll --pub ph.pub --role pharmacist --license RPH-1 --key site.key
run /usr/bin/python3 "$HERE/crash_drive.py" "$RXLEDGER" "$T/clinic" ph.key "${KILLS:-50}" "${SEED:-$RANDOM}"
[ "$RC" -eq 0 ] || fail "crash harness: $OUT"
pass
expect_match "$OUT" "^${KILLS:-50} kills, [0-9]+ acknowledged appends checked" "all kills survived"
echo "$OUT"
finish
