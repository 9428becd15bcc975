#!/usr/bin/env bash
# Environment faults, each met with one clear line and exit 1, no crash and no
# sanitizer report, and nothing changed that was not asked to change:
#  - a read-only ledger (a read-only mount, and files with no write permission):
#    reads work, appends fail;
#  - a reader and a writer killed with SIGKILL: their lock-file slots do not
#    block the next command, and a dead reader's slot does not pin old pages
#    (which would make the file grow with every append);
#  - a ledger from a newer format version;
#  - no ledger, a file where the directory should be, an empty, truncated or
#    random data.mdb, an LMDB file that is not a ledger, a garbage lock file,
#    a truncated identity store.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export LC_ALL=C

L="$T/clinic"
newkey site "Juniper Clinic"
newkey ph "Pat Pharm, PharmD"
rx_ok init -l "$L" init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll ph" -l "$L" key enroll --pub ph.pub --role pharmacist --license RPH-1 --key site.key
rx_ok "patient enroll" -l "$L" patient enroll --patient MRN-1 --rems-patient-id REMS-1 \
    --on 2026-01-01 --key ph.key
rx_ok note -l "$L" note --text "first note" --key ph.key
rx_ok verify -l "$L" verify
HEAD0=$OUT

# state DIR: the file list and the sha256 of every file but LMDB's lock files
# (they hold reader slots: pids and transaction ids, rewritten by any reader).
state() {
    (cd "$1" && find . -print | sort && find . -type f ! -name lock.mdb -print0 | sort -z |
        xargs -0r sha256sum)
}

# one_line DESC RE: the last command exited 1 with one "rxledger: " line matching RE.
one_line() {
    expect_rc 1 "$1"
    expect_err_line "$1"
    expect_match "$ERR" "$2" "$1: the message"
    case "$ERR" in *AddressSanitizer* | *runtime\ error*) fail "$1: a sanitizer report" ;; esac
    pass
}

# ---- a read-only ledger: a read-only bind mount -------------------------------------------
# ro CMD...: run CMD with $L mounted read-only (a mount namespace of its own).
if [ "$(id -u)" = 0 ]; then
    NS=(unshare -m)
else
    NS=(unshare -rm)
fi
ro() {
    run "${NS[@]}" sh -c 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" && shift && exec "$@"' \
        sh "$L" "$@"
}
if "${NS[@]}" sh -c "mount --bind '$L' '$L' && mount -o remount,bind,ro '$L' && ! touch '$L/x'" \
    >/dev/null 2>&1; then
    before=$(state "$L")
    for c in verify log "show 2" "key list" inventory "policy list"; do
        # shellcheck disable=SC2086
        ro "$RXLEDGER" -l "$L" $c
        ok "read-only mount: $c works"
    done
    ro "$RXLEDGER" -l "$L" verify
    expect_eq "$OUT" "$HEAD0" "read-only mount: verify gives the same head"
    ro "$RXLEDGER" -l "$L" show 2
    expect_match "$OUT" '^patient +MRN-1$' "read-only mount: show names the patient (not 'erased')"
    ro "$RXLEDGER" -l "$L" audit
    [ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "read-only mount: audit exited $RC"
    pass
    ro "$RXLEDGER" -l "$L" audit --patient MRN-1
    [ "$RC" = 0 ] || [ "$RC" = 3 ] || fail "read-only mount: audit --patient exited $RC"
    pass
    ro "$RXLEDGER" -l "$L" note --text x --key ph.key
    one_line "read-only mount: note" "Read-only file system"
    ro "$RXLEDGER" -l "$L" patient enroll --patient MRN-2 --rems-patient-id REMS-2 --on 2026-01-01 \
        --key ph.key
    one_line "read-only mount: patient enroll" "Read-only file system"
    ro "$RXLEDGER" -l "$L" checkpoint --key site.key
    one_line "read-only mount: checkpoint" "Read-only file system"
    ro "$RXLEDGER" -l "$L" patient forget MRN-1
    one_line "read-only mount: patient forget" "Read-only file system|read-only"
    ro "$RXLEDGER" -l "$L" export --key site.key --out "$T/x.cbor"
    one_line "read-only mount: export (opens the ledger to write)" "Read-only file system"
    [ ! -e "$T/x.cbor" ] && [ ! -e "$T/x.cbor.tmp" ] || fail "export on a read-only ledger left a file"
    pass
    expect_eq "$(state "$L")" "$before" "read-only mount: the ledger is unchanged"
else
    echo "SKIP: read-only mount: cannot mount here (no root, no user namespaces)"
fi

# ---- a read-only ledger: no write permission (chmod -R a-w) ---------------------------------
# As root permission bits are not enforced: run as 'nobody' (setpriv) on a copy
# it owns, or skip with the reason.
AS=()
R="$T/ro"
if [ "$(id -u)" -ne 0 ]; then
    cp -r "$L" "$R"
    cp ph.key "$T/ro.key"
elif command -v setpriv >/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$RXLEDGER" --version >/dev/null 2>&1; then
    AS=(setpriv --reuid=nobody --regid=nogroup --clear-groups)
    chmod 711 "$T"
    cp -r "$L" "$R"
    cp ph.key "$T/ro.key"
    chown -R nobody:nogroup "$R" "$T/ro.key"
else
    R=
    echo "SKIP: write-protected ledger: running as root and cannot run rxledger as 'nobody'"
fi
if [ -n "$R" ]; then
    find "$R" -exec chmod a-w {} +
    before=$(state "$R")
    for c in verify log "show 2" "key list" inventory audit; do
        # shellcheck disable=SC2086
        run ${AS[@]+"${AS[@]}"} env RXLEDGER_PASSPHRASE="$RXLEDGER_PASSPHRASE" "$RXLEDGER" -l "$R" $c
        [ "$RC" = 0 ] || { [ "$c" = audit ] && [ "$RC" = 3 ]; } || fail "write-protected: $c exited $RC"
        [ -z "$ERR" ] || fail "write-protected: $c printed on stderr"
        pass
    done
    run ${AS[@]+"${AS[@]}"} "$RXLEDGER" -l "$R" show 2
    expect_match "$OUT" '^patient +MRN-1$' "write-protected: show names the patient"
    run ${AS[@]+"${AS[@]}"} env RXLEDGER_PASSPHRASE="$RXLEDGER_PASSPHRASE" "$RXLEDGER" -l "$R" \
        note --text x --key "$T/ro.key"
    one_line "write-protected: note" "Permission denied"
    expect_eq "$(state "$R")" "$before" "write-protected: the ledger is unchanged"
    chmod -R u+w "$R"
    [ ${#AS[@]} = 0 ] || chmod 700 "$T"
fi

# ---- processes killed with SIGKILL -----------------------------------------------------------
# A holder keeps the ledger open all along (a batch waiting for its input), so
# no command is ever the only one with it open: LMDB then never rebuilds its
# lock file, and a dead process's reader slot stays until someone clears it.
for i in $(seq 1 700); do printf '{"type":"note","text":"note %d of the many, padded to be long enough"}\n' "$i"; done >"$T/notes"
"$RXLEDGER" -l "$L" batch --key ph.key --group 500 <"$T/notes" >/dev/null
mkfifo "$T/hold" "$T/pipe"
"$RXLEDGER" -l "$L" batch --key ph.key <"$T/hold" >"$T/holder.out" 2>&1 &
HOLDER=$!
exec 7>"$T/hold" # the holder's input stays open: it waits, the ledger open
sleep 0.3
kill -0 "$HOLDER" || fail "the holder batch exited early: $(cat "$T/holder.out")"
pass

# A reader killed inside its read transaction: 'log' blocked writing into a pipe
# nobody reads (700 lines are more than the pipe holds).
exec 8<>"$T/pipe"
"$RXLEDGER" -l "$L" log >"$T/pipe" &
READER=$!
sleep 1
kill -0 "$READER" 2>/dev/null || fail "the reader did not block in its read transaction"
exec 9>&2 2>/dev/null # not bash's "Killed" notice
kill -9 "$READER"
wait "$READER" || true
exec 2>&9 9>&-
exec 8<&-
if command -v mdb_stat >/dev/null; then
    mdb_stat -r "$L" >"$T/readers" || true # exits 1 without -a, having printed the table
    grep -Eq "^ +$READER " "$T/readers" || fail "the killed reader left no slot (test set-up): $(cat "$T/readers")"
    pass
fi

# The next command opens the ledger, clears the dead slot and appends; many
# appends after it reuse freed pages instead of growing the file.
rx_ok "note after a reader was killed" -l "$L" note --text "after the kill" --key ph.key
if command -v mdb_stat >/dev/null; then
    mdb_stat -r "$L" >"$T/readers" || true # exits 1 without -a, having printed the table
    if grep -Eq "^ +$READER " "$T/readers"; then
        fail "the dead reader's slot is still in the lock file: $(cat "$T/readers")"
    fi
    pass
else
    echo "SKIP: reader table check: no mdb_stat (Debian package lmdb-utils)"
fi
size0=$(stat -c %s "$L/data.mdb")
head -n 300 "$T/notes" >"$T/notes300"
rx -l "$L" batch --key ph.key --group 1 <"$T/notes300"
"$RXLEDGER" -l "$L" batch --key ph.key --group 1 <"$T/notes300" >"$T/out" 2>"$T/err" ||
    fail "300 appends in 300 transactions: $(cat "$T/err")"
size1=$(stat -c %s "$L/data.mdb")
# Pinned pages: every one of 300 commits would add the pages it rewrites (about
# 8 pages of 4 KiB, several MiB in all); reused pages keep growth near the data.
grew=$((size1 - size0))
[ "$grew" -lt $((2 * 1024 * 1024)) ] ||
    fail "data.mdb grew by $grew bytes over 300 small commits: old pages stay pinned"
pass
echo "300 commits after a reader was killed: data.mdb grew by $grew bytes"

# A writer killed (SIGKILL) during a batch of 3000 lines: maybe inside its write
# transaction, holding LMDB's writer lock. The next append and verify work, and
# the killed batch's last transaction is all there or not at all.
for i in $(seq 1 3000); do printf '{"type":"note","text":"killed batch %d"}\n' "$i"; done >"$T/many"
"$RXLEDGER" -l "$L" batch --key ph.key --group 3000 <"$T/many" >/dev/null 2>&1 &
WRITER=$!
sleep 0.5
kill -9 "$WRITER" 2>/dev/null || true
wait "$WRITER" 2>/dev/null || true
rx_ok "note after a writer was killed" -l "$L" note --text "after the writer" --key ph.key
rx_ok "verify after the kills" -l "$L" verify
n=$("$RXLEDGER" -l "$L" log </dev/null | grep -c "killed batch" || true)
[ "$n" = 0 ] || [ "$n" = 3000 ] || fail "a killed batch left $n of its 3000 lines"
pass
exec 7>&-
wait "$HOLDER" || fail "the holder batch failed: $(cat "$T/holder.out")"
pass
rx_ok "verify at the end of the kills" -l "$L" verify

# ---- a ledger from a newer format version ------------------------------------------------------
V=$(sed -n 's/^#define LEDGER_FORMAT_VERSION *\([0-9]*\).*/\1/p' "$RX_SRC/ledger/include/ledger/ledger.h")
[ -n "$V" ] || fail "LEDGER_FORMAT_VERSION not found in ledger.h"
cp -r "$L" "$T/newer"
"$TAMPER" "$T/newer" set-format $((V + 1)) || fail "rxl-tamper set-format"
before=$(state "$T/newer")
for c in verify log "show 1" audit "key list" inventory "note --text x --key ph.key" \
    "checkpoint --key site.key" "patient forget MRN-1"; do
    # shellcheck disable=SC2086
    rx -l "$T/newer" $c
    one_line "format $((V + 1)): $c" "format version $((V + 1)) is newer than this rxledger supports \\($V\\)"
done
expect_eq "$(state "$T/newer")" "$before" "a newer ledger is left as it was"

# ---- not a ledger, and broken data files --------------------------------------------------------
# broken DIR DESC ERE: every command exits 1 with one line matching ERE; DIR unchanged.
broken() {
    local dir=$1 desc=$2 re=$3 before c
    before=$(state "$dir" 2>/dev/null || true)
    for c in verify log "show 1" audit "key list" inventory "session show 1" \
        "note --text x --key ph.key" "patient enroll --patient MRN-5 --rems-patient-id R-5 --on 2026-01-01 --key ph.key" \
        "checkpoint --key site.key" "export --key site.key --out $T/e.cbor"; do
        # shellcheck disable=SC2086
        rx -l "$dir" $c
        one_line "$desc: $c" "$re"
    done
    expect_eq "$(state "$dir" 2>/dev/null || true)" "$before" "$desc: left as it was"
    [ ! -e "$T/e.cbor" ] && [ ! -e "$T/e.cbor.tmp" ] || fail "$desc: export left a file"
    pass
}
mkdir "$T/empty"
broken "$T/empty" "a directory with no ledger" "no ledger in"
: >"$T/afile"
broken "$T/afile" "a file for the ledger directory" "is not a directory"
mkdir "$T/nofile"
: >"$T/nofile/data.mdb"
broken "$T/nofile" "an empty data.mdb" "data.mdb is empty"
mkdir "$T/dirdata" "$T/dirdata/data.mdb"
broken "$T/dirdata" "data.mdb a directory" "not a regular file"
size=$(stat -c %s "$L/data.mdb")
for cut in 100 4096 8192 $((size / 2)) $((size - 4096)); do
    mkdir "$T/cut$cut"
    head -c "$cut" "$L/data.mdb" >"$T/cut$cut/data.mdb"
    broken "$T/cut$cut" "data.mdb cut to $cut of $size bytes" "truncated|not an LMDB file|Invalid argument"
done
mkdir "$T/random"
head -c 65536 /dev/urandom >"$T/random/data.mdb"
broken "$T/random" "data.mdb of random bytes" "not an LMDB file"
mkdir "$T/zeros"
head -c 65536 /dev/zero >"$T/zeros/data.mdb"
broken "$T/zeros" "data.mdb of zeros" "not an LMDB file"
if command -v mdb_load >/dev/null; then
    mkdir "$T/foreign"
    printf 'VERSION=3\nformat=print\ntype=btree\nmapsize=1048576\nHEADER=END\n somekey\n somevalue\nDATA=END\n' |
        mdb_load -f /dev/stdin "$T/foreign"
    rm -f "$T/foreign/lock.mdb"
    # LMDB makes a lock file beside any LMDB file it opens: the one change allowed
    touch "$T/foreign/lock.mdb"
    broken "$T/foreign" "an LMDB file that is not a ledger" "is not an rxledger ledger"
else
    echo "SKIP: a foreign LMDB file: no mdb_load (Debian package lmdb-utils)"
fi

# A lock file of garbage, with no process holding the ledger: LMDB rebuilds it.
cp -r "$L" "$T/lockjunk"
head -c 8192 /dev/urandom >"$T/lockjunk/lock.mdb"
rx_ok "verify with a garbage lock file" -l "$T/lockjunk" verify
rx_ok "note with a garbage lock file" -l "$T/lockjunk" note --text x --key ph.key

# A truncated identity store: no crash; show says so instead of "erased";
# commands that need it fail with one line.
cp -r "$L" "$T/idcut"
isz=$(stat -c %s "$T/idcut/identities/data.mdb")
head -c $((isz / 2)) "$L/identities/data.mdb" >"$T/idcut/identities/data.mdb"
rm -f "$T/idcut/identities/lock.mdb"
rx -l "$T/idcut" show 2
expect_rc 0 "show with a truncated identity store"
expect_match "$OUT" '^patient +.*unreadable' "show: the patient's identity store is unreadable, not 'erased'"
rx -l "$T/idcut" patient enroll --patient MRN-5 --rems-patient-id R-5 --on 2026-01-01 --key ph.key
one_line "patient enroll with a truncated identity store" "identity store.*truncated"
rx -l "$T/idcut" audit --patient MRN-1
expect_rc 1 "audit --patient with a truncated identity store"
expect_err_line "audit --patient with a truncated identity store"
rx -l "$T/idcut" patient forget MRN-1
one_line "patient forget with a truncated identity store" "truncated|no patient"

rx_ok "the ledger still verifies" -l "$L" verify
finish
