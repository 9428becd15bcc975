#!/usr/bin/env bash
# Two processes append to one ledger at the same time: no append is lost,
# duplicated or refused, and the chain still verifies.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

N=60
newkey site "Juniper Clinic"
newkey jroe "Jane Roe, PharmD"
newkey nina "Nina Two, RN"
rx_ok "init" -l shared init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll pharmacist" -l shared key enroll --pub jroe.pub --role pharmacist --license RPH-1 \
    --key site.key
rx_ok "enroll nurse" -l shared key enroll --pub nina.pub --role nurse --license RN-2 --key site.key
SETUP=3

# writer TAG KEY: append N notes "TAG i"; log each outcome to TAG.log.
writer() {
    local tag=$1 key=$2 i
    for i in $(seq 1 "$N"); do
        if "$RXLEDGER" -l shared note --text "$tag $i" --key "$key" >>"$tag.out" 2>>"$tag.err" </dev/null; then
            echo "ok $i" >>"$tag.log"
        else
            echo "failed $i exit $?" >>"$tag.log"
        fi
    done
}
writer alpha jroe.key &
PA=$!
writer beta nina.key &
PB=$!
wait "$PA" || fail "writer alpha exited non-zero"
wait "$PB" || fail "writer beta exited non-zero"
pass

for tag in alpha beta; do
    expect_count "$(cat $tag.log)" '^ok ' "$N" "$tag: every append succeeded"
    expect_eq "$(cat $tag.err)" "" "$tag: nothing on stderr"
    expect_count "$(cat $tag.out)" '^appended seq [0-9]+ [0-9a-f]{64}$' "$N" "$tag: one 'appended' line per note"
done

# Every append got its own seq, and together they are exactly SETUP..SETUP+2N-1.
SEQS=$(cat alpha.out beta.out | awk '{print $3}' | sort -n)
expect_eq "$SEQS" "$(seq "$SETUP" $((SETUP + 2 * N - 1)))" "appends got distinct consecutive seqs"

TOTAL=$((SETUP + 2 * N))
rx_ok "verify" -l shared verify
expect_match "$OUT" "^ok: $TOTAL entries, head [0-9a-f]{64}\$" "verify: ok with $TOTAL entries"
# The head is the hash printed by whichever append got the last seq.
LAST=$(cat alpha.out beta.out | awk -v s=$((TOTAL - 1)) '$3 == s {print $4}')
expect_eq "${OUT##* }" "$LAST" "head = hash of the append that got seq $((TOTAL - 1))"

rx_ok "log" -l shared log
LOG=$OUT
expect_lines "$LOG" "$TOTAL" "log shows $TOTAL entries"
for i in $(seq 1 "$N"); do
    a=$(printf '%s\n' "$LOG" | grep -Ec "  Jane Roe, PharmD +authored +alpha $i\$" || true)
    b=$(printf '%s\n' "$LOG" | grep -Ec "  Nina Two, RN +authored +beta $i\$" || true)
    [ "$a" -eq 1 ] || fail "'alpha $i' appears $a times in the log"
    [ "$b" -eq 1 ] || fail "'beta $i' appears $b times in the log"
    pass
    pass
done

finish
