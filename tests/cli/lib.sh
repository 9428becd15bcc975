# Shared helpers for the end-to-end tests in tests/cli (sourced, not run).
# shellcheck shell=bash disable=SC2034,SC2015
#
# Environment (set by ctest, see tests/CMakeLists.txt):
#   RXLEDGER  path to the rxledger binary
#   TAMPER    path to the rxl-tamper tool
#   RX_SRC    repository root
#
# Every check counts one assertion; the first failed check prints what was
# expected and what happened, then exits 1.

: "${RXLEDGER:?set RXLEDGER to the rxledger binary}"
: "${TAMPER:?set TAMPER to the rxl-tamper tool}"

PASS=0
T=$(mktemp -d "${TMPDIR:-/tmp}/rxl-e2e.XXXXXX")
trap 'chmod -R u+rwx "$T" 2>/dev/null; rm -rf "$T"' EXIT
cd "$T"

# Every test uses this passphrase and cheap key derivation (sanitizer builds are slow).
export RXLEDGER_PASSPHRASE='correct horse battery staple'
unset RXLEDGER_DIR
KDF=(--kdf-cost 10)

# Valid DEA registration numbers (check digit ok) and one with a bad check digit.
DEA_OK=BJ6125341
DEA_BAD=AB4523763

fail() {
    echo "FAIL: $*" >&2
    if [ -s "$T/err" ]; then
        echo "--- stderr of the last command:" >&2
        head -c 2000 "$T/err" >&2
    fi
    if [ -s "$T/out" ]; then
        echo "--- stdout of the last command:" >&2
        head -c 2000 "$T/out" >&2
    fi
    echo "$PASS passed, 1 failed"
    exit 1
}

pass() { PASS=$((PASS + 1)); }

finish() { echo "$PASS passed, 0 failed"; }

# run CMD...: run a command without stopping on failure; sets RC, OUT, ERR.
run() {
    set +e
    "$@" >"$T/out" 2>"$T/err" </dev/null
    RC=$?
    set -e
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
}

# rx ARGS...: run rxledger; sets RC, OUT, ERR.
rx() { run "$RXLEDGER" "$@"; }

# ok DESC: the last command succeeded with nothing on stderr (a sanitizer report
# or a warning would show up there).
ok() {
    [ "$RC" -eq 0 ] || fail "$1: expected exit 0, got $RC"
    [ -z "$ERR" ] || fail "$1: expected empty stderr"
    pass
}

# rx_ok DESC ARGS...: run rxledger and require success.
rx_ok() {
    local desc=$1
    shift
    rx "$@"
    ok "$desc"
}

# expect_rc N DESC
expect_rc() {
    [ "$RC" -eq "$1" ] || fail "$2: expected exit $1, got $RC"
    pass
}

# expect_err_line DESC: stderr is exactly one line starting with "rxledger: ".
expect_err_line() {
    local n
    n=$(printf '%s\n' "$ERR" | wc -l)
    [ -n "$ERR" ] && [ "$n" -eq 1 ] || fail "$1: expected exactly one line on stderr, got $n"
    case "$ERR" in
    "rxledger: "*) ;;
    *) fail "$1: stderr does not start with 'rxledger: '" ;;
    esac
    pass
}

# expect_eq GOT WANT DESC
expect_eq() {
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
    pass
}

# expect_ne A B DESC
expect_ne() {
    [ "$1" != "$2" ] || fail "$3: both are '$1'"
    pass
}

# expect_match TEXT ERE DESC: some line of TEXT matches the extended regex.
expect_match() {
    grep -Eq -- "$2" <<<"$1" || fail "$3: no line matches /$2/"
    pass
}

# expect_nomatch TEXT ERE DESC
expect_nomatch() {
    if grep -Eq -- "$2" <<<"$1"; then
        fail "$3: a line matches /$2/"
    fi
    pass
}

# expect_count TEXT ERE N DESC: exactly N lines of TEXT match.
expect_count() {
    local n
    n=$(printf '%s\n' "$1" | grep -Ec -- "$2" || true)
    [ "$n" -eq "$3" ] || fail "$4: expected $3 lines matching /$2/, got $n"
    pass
}

# expect_lines TEXT N DESC: TEXT has exactly N lines.
expect_lines() {
    local n=0
    [ -z "$1" ] || n=$(printf '%s\n' "$1" | wc -l)
    [ "$n" -eq "$2" ] || fail "$3: expected $2 lines, got $n"
    pass
}

# sum FILE: its sha256.
sum() { sha256sum "$1" | cut -d' ' -f1; }

# field OUTPUT KEY: the value after "KEY " on the line that starts with KEY
# (the "kid"/"fingerprint" lines of 'key new' and 'key fingerprint').
field() { printf '%s\n' "$1" | awk -v k="$2" '$1 == k { print $2; exit }'; }

# newkey FILE NAME: make FILE.key/FILE.pub, print nothing.
newkey() {
    rx key new --out "$1.key" --name "$2" "${KDF[@]}"
    ok "key new $1"
}

# head_of DIR: the head hash printed by 'verify'.
head_of() {
    "$RXLEDGER" -l "$1" verify </dev/null | sed -n 's/^ok: [0-9]* entries, head \([0-9a-f]\{64\}\)$/\1/p'
}
