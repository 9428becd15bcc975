#!/usr/bin/env bash
# Bad input leaves the ledger byte-for-byte unchanged: each refused command
# exits 1 (error) or 2 (usage), prints exactly one "rxledger: " line on
# stderr and nothing on stdout, and data.mdb keeps its sha256.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

L="$T/clinic"
newkey site "Juniper Clinic"
newkey jroe "Jane Roe, PharmD"
newkey nurse "Ned Nurse, RN"
newkey eve "Eve Outsider" # never enrolled
rx_ok "init" -l "$L" init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
rx_ok "enroll pharmacist" -l "$L" key enroll --pub jroe.pub --role pharmacist --license RPH-1 \
    --key site.key
rx_ok "enroll nurse" -l "$L" key enroll --pub nurse.pub --role nurse --license RN-7 --key site.key
rx_ok "note" -l "$L" note --text "first note" --key nurse.key
NURSE_KID=$(field "$("$RXLEDGER" key fingerprint nurse.pub)" kid)
rx_ok "revoke nurse" -l "$L" key revoke "$NURSE_KID" --reason "left the clinic" --key site.key
rx_ok "verify" -l "$L" verify
expect_match "$OUT" '^ok: 5 entries, ' "set-up ledger has 5 entries"

# refused RC DESC ARGS...: rxledger ARGS exits RC with one stderr line, no
# stdout, and the ledger's data file unchanged.
refused() {
    local want=$1 desc=$2 before
    shift 2
    before=$(sum "$L/data.mdb")
    rx "$@"
    expect_rc "$want" "$desc"
    expect_err_line "$desc"
    expect_eq "$OUT" "" "$desc: nothing on stdout"
    expect_eq "$(sum "$L/data.mdb")" "$before" "$desc: data.mdb unchanged"
}

# --- keys and signers ------------------------------------------------------------
RXLEDGER_PASSPHRASE="not the passphrase" \
    refused 1 "wrong passphrase" -l "$L" note --text "x" --key jroe.key
refused 1 "key never enrolled" -l "$L" note --text "x" --key eve.key
refused 1 "revoked key" -l "$L" note --text "x" --key nurse.key

cp jroe.key loose.key
chmod 644 loose.key
refused 1 "key file mode 0644" -l "$L" note --text "x" --key loose.key
expect_match "$ERR" '0644|readable|insecure|permission' "mode 0644 refusal says why"

head -c 120 jroe.key >corrupt.key
chmod 600 corrupt.key
refused 1 "truncated key file" -l "$L" note --text "x" --key corrupt.key
printf 'rxledger-name: X\n-----BEGIN ENCRYPTED PRIVATE KEY-----\nnot base64 at all!\n-----END ENCRYPTED PRIVATE KEY-----\n' >garbage.key
chmod 600 garbage.key
refused 1 "garbage key file" -l "$L" note --text "x" --key garbage.key
refused 1 "missing key file" -l "$L" note --text "x" --key no-such.key

# --- roles and enrolment ---------------------------------------------------------
refused 1 "pharmacist key enrolling someone" -l "$L" key enroll --pub eve.pub --role nurse \
    --license RN-9 --key jroe.key
refused 1 "pharmacist key revoking someone" -l "$L" key revoke "$NURSE_KID" --reason "x" \
    --key jroe.key
refused 1 "enrolling the same key twice" -l "$L" key enroll --pub jroe.pub --role pharmacist \
    --license RPH-2 --key site.key
refused 2 "licensed role without --license" -l "$L" key enroll --pub eve.pub --role nurse \
    --key site.key
refused 2 "unknown role" -l "$L" key enroll --pub eve.pub --role wizard --license X --key site.key
refused 1 "revoking an unknown kid" -l "$L" key revoke deadbeefdeadbeefdeadbeefdeadbeef \
    --reason "x" --key site.key
refused 2 "revoking with a 7-digit kid prefix" -l "$L" key revoke "${NURSE_KID:0:7}" \
    --reason "x" --key site.key
refused 1 "revoking an already revoked key" -l "$L" key revoke "$NURSE_KID" --reason "x" \
    --key site.key

# --- init --------------------------------------------------------------------------
refused 1 "init on an existing ledger" -l "$L" init --site-name "Other" --dea "$DEA_OK" \
    --key site.key
rx -l "$T/fresh" init --site-name "Juniper Clinic" --dea "$DEA_BAD" --key site.key
expect_rc 2 "init with a bad DEA check digit"
expect_err_line "init with a bad DEA check digit"
[ ! -e "$T/fresh" ] || fail "init with a bad DEA created $T/fresh"
pass
RXLEDGER_PASSPHRASE="not the passphrase" rx -l "$T/fresh2" init --site-name "Juniper Clinic" \
    --dea "$DEA_OK" --key site.key
expect_rc 1 "init with the wrong passphrase"
[ ! -e "$T/fresh2" ] || fail "init with the wrong passphrase created $T/fresh2"
pass

# --- usage errors ----------------------------------------------------------------
refused 2 "note without --key" -l "$L" note --text "x"
refused 2 "note without --text" -l "$L" note --key jroe.key
refused 2 "enroll without --role" -l "$L" key enroll --pub eve.pub --key site.key
refused 2 "revoke without --reason" -l "$L" key revoke "$NURSE_KID" --key site.key
refused 2 "unknown option" -l "$L" note --text "x" --key jroe.key --bogus
refused 2 "unknown command" -l "$L" frobnicate
refused 2 "unknown key subcommand" -l "$L" key frobnicate

# --- text and time checks ----------------------------------------------------------
LONG=$(head -c 4097 /dev/zero | tr '\0' 'a')
refused 2 "--text of 4097 bytes" -l "$L" note --text "$LONG" --key jroe.key
refused 2 "--text with \\x01" -l "$L" note --text "$(printf 'a\001b')" --key jroe.key
refused 2 "--text with ESC" -l "$L" note --text "$(printf 'a\033[2Jb')" --key jroe.key
refused 2 "--text with a newline" -l "$L" note --text "$(printf 'line1\nline2')" --key jroe.key
refused 2 "--text with DEL" -l "$L" note --text "$(printf 'a\177b')" --key jroe.key
refused 2 "--text with invalid UTF-8 (\\xff)" -l "$L" note --text "$(printf 'a\377b')" --key jroe.key
refused 2 "--text with an overlong UTF-8 '/'" -l "$L" note --text "$(printf 'a\300\257b')" --key jroe.key
refused 2 "--text with a UTF-16 surrogate" -l "$L" note --text "$(printf 'a\355\240\200b')" --key jroe.key
refused 2 "empty --text" -l "$L" note --text "" --key jroe.key
refused 2 "--at in the far future" -l "$L" note --text "x" --at 2999-01-01T00:00:00Z --key jroe.key
expect_match "$ERR" "bad --at .*future" "--at in the far future: the message names the flag"
refused 2 "--at garbage" -l "$L" note --text "x" --at garbage --key jroe.key
refused 2 "--at with month 13" -l "$L" note --text "x" --at 2026-13-01T00:00:00Z --key jroe.key

# --- reading ---------------------------------------------------------------------
refused 1 "show of a nonexistent seq" -l "$L" show 999
refused 2 "show of a non-number" -l "$L" show abc
mkdir "$T/empty"
rx -l "$T/empty" log
expect_rc 1 "-l at a directory with no ledger (log)"
expect_err_line "-l at a directory with no ledger (log)"
rx -l "$T/empty" note --text "x" --key jroe.key
expect_rc 1 "-l at a directory with no ledger (note)"
expect_err_line "-l at a directory with no ledger (note)"
expect_eq "$(ls -A "$T/empty")" "" "a directory with no ledger stays empty"
rx -l "$T/nowhere" verify
expect_rc 1 "-l at a missing directory"
[ ! -e "$T/nowhere" ] || fail "verify created $T/nowhere"
pass

# --- an unwritable ledger ----------------------------------------------------------
# As root, permission bits are not enforced, so run that case as 'nobody' on a
# copy owned by nobody (setpriv), or skip it with a reason.
unwritable_case() {
    local dir=$1 key=$2
    shift 2
    local before
    before=$(sum "$dir/data.mdb")
    chmod 500 "$dir/data.mdb" "$dir"
    run "$@" "$RXLEDGER" -l "$dir" note --text "x" --key "$key"
    chmod 700 "$dir"
    chmod 600 "$dir/data.mdb"
    expect_rc 1 "note into an unwritable ledger"
    expect_err_line "note into an unwritable ledger"
    expect_eq "$(sum "$dir/data.mdb")" "$before" "unwritable ledger unchanged"
}
if [ "$(id -u)" -ne 0 ]; then
    cp -r "$L" "$T/ro"
    unwritable_case "$T/ro" jroe.key env
elif command -v setpriv >/dev/null &&
    setpriv --reuid=nobody --regid=nogroup --clear-groups "$RXLEDGER" --version >/dev/null 2>&1; then
    chmod 711 "$T"
    cp -r "$L" "$T/ro"
    cp jroe.key "$T/ro.key"
    chown -R nobody:nogroup "$T/ro" "$T/ro.key"
    unwritable_case "$T/ro" "$T/ro.key" setpriv --reuid=nobody --regid=nogroup --clear-groups env
    chmod 700 "$T"
else
    echo "SKIP: unwritable ledger: running as root and cannot run rxledger as 'nobody'"
fi

# --- the ledger still verifies; controls for the checksum method ---------------------
rx_ok "verify after all refusals" -l "$L" verify
expect_match "$OUT" '^ok: 5 entries, ' "still 5 entries after all refusals"
before=$(sum "$L/data.mdb")
MAX=$(head -c 4096 /dev/zero | tr '\0' 'a')
rx_ok "--text of exactly 4096 bytes is accepted" -l "$L" note --text "$MAX" --key jroe.key
expect_ne "$(sum "$L/data.mdb")" "$before" "an accepted note changes data.mdb"
rx_ok "--text with non-ASCII UTF-8 is accepted" -l "$L" note --text "$(printf 'caf\303\251 \342\202\254 \360\237\222\212')" \
    --key jroe.key
rx_ok "verify at the end" -l "$L" verify
expect_match "$OUT" '^ok: 7 entries, ' "7 entries at the end"

# --- C1 control characters -----------------------------------------------------------
# U+0080..U+009F are control characters (Unicode category Cc); U+009B is CSI,
# the 8-bit escape introducer: refused like C0 and DEL.
refused 2 "--text with C1 control U+009B (CSI)" -l "$L" note --text "$(printf 'a\302\233'"2Jb")" --key jroe.key
refused 2 "--text with C1 control U+0085 (NEL)" -l "$L" note --text "$(printf 'a\302\205b')" --key jroe.key

finish
