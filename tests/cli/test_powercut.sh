#!/usr/bin/env bash
# Power cuts (docs/reliability.md): a clinic's appends run through the
# fault-injecting layer tests/powercut/pc_shim.so (LD_PRELOAD), which journals
# every write, fsync and rename of the ledger's files; pc_replay.py rebuilds
# the disk a power cut at CUTS random moments would have left (synced data,
# plus any mix of the unsynced writes, torn per write, 4 KiB page or 512-byte
# sector). On each disk the ledger must verify, hold every append
# acknowledged before the cut byte for byte, and take a new append.
#
# Environment: CUTS (12; `make torture` 500), PC_STEPS (operations: 24;
# torture 250), PC_PER_CUT (disks per cut, 2), SEED, PC_SHIM (default: beside
# RXLEDGER's build tree), PC_KEEP=DIR keeps the journal and failing disks there.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/cli/lib.sh
. "$HERE/lib.sh"

DRIVE="$HERE/../powercut/pc_drive.py"
REPLAY="$HERE/../powercut/pc_replay.py"
SHIM=${PC_SHIM:-$(dirname "$RXLEDGER")/../tests/powercut/pc_shim.so}
[ -f "$SHIM" ] || fail "no pc_shim at '$SHIM' (build the pc_shim target or set PC_SHIM)"
pass
# A sanitizer build checks that its runtime comes first: preload it before the shim.
ASAN=$(ldd "$RXLEDGER" | awk '/libasan\.so/ { print $3; exit }')
export PC_PRELOAD="${ASAN:+$ASAN }$SHIM"
CUTS=${CUTS:-12}
STEPS=${PC_STEPS:-24}
PER_CUT=${PC_PER_CUT:-2}
SEED=${SEED:-$RANDOM}
WORK=${PC_KEEP:-$T/pc}

# 1. The shim sees what LMDB does: an append is data pages written, an
# fdatasync, then the meta page written through the O_DSYNC descriptor.
newkey site "Shim Clinic"
: >"$T/j.pcj"
shimmed() {
    LD_PRELOAD="$PC_PRELOAD" PC_JOURNAL="$T/j.pcj" PC_ROOT="$T/shim" "$RXLEDGER" "$@"
}
run shimmed -l "$T/shim" init --site-name "Shim Clinic" --dea "$DEA_OK" --key site.key
ok "init through the shim"
run shimmed -l "$T/shim" note --text "journaled" --key site.key
ok "note through the shim"
run /usr/bin/python3 "$REPLAY" dump "$T/j.pcj"
ok "journal dump"
J=$OUT
expect_match "$J" " CREATE .* $T/shim/data.mdb\$" "journal: data.mdb created"
expect_nomatch "$J" "lock\.mdb" "journal: lock.mdb left out"
expect_match "$J" " WRITE .* len [0-9]+ +\$" "journal: page writes"
expect_match "$J" " SYNC " "journal: fdatasync"
expect_match "$J" " WRITE .* len 120 +dsync" "journal: meta page through O_DSYNC"
# the note's own records: pages, then fdatasync, then the meta page, last
NOTE=$(printf '%s\n' "$J" | awk -v p="$(printf '%s\n' "$J" | awk 'END { print $4 }')" '$4 == p { print $2 }' | tr '\n' ' ')
expect_match "$NOTE" "^(WRITE )+SYNC WRITE \$" "journal: the note is writes, one sync, one meta write"

# 2. The harness finds a durability bug when there is one: with fsync and
# fdatasync made no-ops (PC_FAULT=nosync) the cut disks must fail.
run env PC_FAULT=nosync /usr/bin/python3 "$DRIVE" "$RXLEDGER" "$T/nosync" 6 6 1 "$SEED"
expect_rc 1 "without fsync the harness reports failures"
expect_match "$OUT" "^FAIL: cut [0-9]+ of [0-9]+" "a failing cut is named"
expect_match "$OUT" "rebuild: .*pc_replay.py image " "with the command that rebuilds its disk"

# 3. The power cuts.
run /usr/bin/python3 "$DRIVE" "$RXLEDGER" "$WORK" "$STEPS" "$CUTS" "$PER_CUT" "$SEED"
[ "$RC" -eq 0 ] || fail "power cuts (SEED=$SEED; PC_KEEP=DIR to keep the disks): $OUT"
pass
expect_match "$OUT" "^$CUTS cut points, $((CUTS * PER_CUT)) images .* [0-9]+ acknowledged appends checked" \
    "every cut survived"
echo "$OUT (SEED=$SEED)"
finish
