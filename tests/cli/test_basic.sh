#!/usr/bin/env bash
# End-to-end happy path: make keys, create a ledger, enroll a pharmacist, append
# notes (with -l, with RXLEDGER_DIR, with --passphrase-file), then read it back
# with log, show, key list and verify.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HEX64='[0-9a-f]{64}'
TIME='[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?Z'

# --- keys and init -----------------------------------------------------------
rx key new --out site.key --name "Juniper Clinic" "${KDF[@]}"
ok "key new site"
expect_match "$OUT" '^wrote site.key and site.pub$' "key new says what it wrote"
SITE_FP=$(field "$OUT" fingerprint)
SITE_KID=$(field "$OUT" kid)
[ -f site.key ] && [ -f site.pub ] || fail "key new did not write site.key and site.pub"
pass

rx_ok "key fingerprint site.pub" key fingerprint site.pub
expect_eq "$(field "$OUT" fingerprint)" "$SITE_FP" "fingerprint of site.pub = the one key new printed"
expect_eq "$(field "$OUT" kid)" "$SITE_KID" "kid of site.pub = the one key new printed"

rx_ok "init" -l ./clinic init --site-name "Juniper Clinic" --dea "$DEA_OK" --key site.key
expect_match "$OUT" "^initialised \./clinic: genesis $HEX64\$" "init prints the genesis hash"
expect_match "$OUT" "^site key fingerprint $SITE_FP\$" "init prints the site key fingerprint"
GENESIS=$(printf '%s\n' "$OUT" | sed -n 's/^initialised .*: genesis //p')

newkey jroe "Jane Roe, PharmD"
rx key fingerprint jroe.pub
JROE_KID=$(field "$OUT" kid)
expect_match "$JROE_KID" '^[0-9a-f]{32}$' "kid is 32 hex digits"

rx_ok "enroll" -l ./clinic key enroll --pub jroe.pub --role pharmacist --license "RPH-12345" \
    --key site.key
expect_eq "$OUT" "enrolled $JROE_KID (Jane Roe, PharmD, pharmacist) at seq 1" "enroll output"

# --- appends, three ways of naming the ledger and the passphrase ----------------
rx_ok "note with -l" -l ./clinic note --text "opened controlled-substance safe" --key jroe.key
expect_match "$OUT" "^appended seq 2 $HEX64\$" "note prints seq and hash"
H2=${OUT##* }

RXLEDGER_DIR="$T/clinic" rx_ok "note with RXLEDGER_DIR" note --text "counted 4 vials" --key jroe.key
expect_match "$OUT" "^appended seq 3 $HEX64\$" "RXLEDGER_DIR note appended as seq 3"
H3=${OUT##* }

printf '%s\n' "$RXLEDGER_PASSPHRASE" >pass.txt
chmod 600 pass.txt
run env -u RXLEDGER_PASSPHRASE "$RXLEDGER" -l ./clinic note --text "closed safe" --key jroe.key \
    --passphrase-file pass.txt
ok "note with --passphrase-file and no RXLEDGER_PASSPHRASE"
expect_match "$OUT" "^appended seq 4 $HEX64\$" "--passphrase-file note appended as seq 4"
H4=${OUT##* }

# Control: with no passphrase source at all the same command must fail, so the
# success above really came from the file.
run env -u RXLEDGER_PASSPHRASE "$RXLEDGER" -l ./clinic note --text "no pass" --key jroe.key
expect_rc 1 "note with no passphrase source"

# --- verify ------------------------------------------------------------------------
rx_ok "verify" -l ./clinic verify
expect_eq "$OUT" "ok: 5 entries, head $H4" "verify counts 5 entries and its head is the last append's hash"

RXLEDGER_DIR="$T/clinic" rx_ok "verify with RXLEDGER_DIR" verify
expect_eq "$OUT" "ok: 5 entries, head $H4" "verify via RXLEDGER_DIR"

RXLEDGER_DIR="$T/no-such-ledger" rx_ok "-l wins over RXLEDGER_DIR" -l ./clinic verify
expect_eq "$OUT" "ok: 5 entries, head $H4" "verify with -l and a bogus RXLEDGER_DIR"

rx verify
expect_rc 2 "verify with neither -l nor RXLEDGER_DIR"

# --- log -------------------------------------------------------------------------
rx_ok "log" -l ./clinic log
expect_lines "$OUT" 5 "log shows one line per entry"
expect_match "$OUT" "^ +0  $TIME  genesis +Juniper Clinic +established ledger +site \"Juniper Clinic\", DEA $DEA_OK\$" \
    "log line for the genesis"
expect_match "$OUT" "^ +1  $TIME  key\.enroll +Juniper Clinic +enrolled key +Jane Roe, PharmD as pharmacist\$" \
    "log line for the enrolment"
expect_match "$OUT" "^ +2  $TIME  note +Jane Roe, PharmD +authored +opened controlled-substance safe\$" \
    "log line for note 2"
expect_match "$OUT" "^ +3  $TIME  note +Jane Roe, PharmD +authored +counted 4 vials\$" "log line for note 3"
expect_match "$OUT" "^ +4  $TIME  note +Jane Roe, PharmD +authored +closed safe\$" "log line for note 4"

rx_ok "log --from 3 --limit 1" -l ./clinic log --from 3 --limit 1
expect_lines "$OUT" 1 "log --limit 1 shows one line"
expect_match "$OUT" "^ +3  .*counted 4 vials\$" "log --from 3 starts at seq 3"

# --- show ------------------------------------------------------------------------
rx_ok "show 2" -l ./clinic show 2
expect_match "$OUT" '^seq +2$' "show: seq"
expect_match "$OUT" '^type +note$' "show: type"
expect_match "$OUT" "^hash +$H2\$" "show: hash = the one note printed"
expect_match "$OUT" "^signer +Jane Roe, PharmD \(pharmacist\), kid $JROE_KID\$" "show: signer as enrolled"
expect_match "$OUT" "^signature +signed by Jane Roe, PharmD on $TIME, meaning: authored\$" \
    "show: signature manifestation (printed name, time, meaning)"
expect_match "$OUT" '^  text: "opened controlled-substance safe"$' "show: the note text"

rx_ok "show 3" -l ./clinic show 3
expect_match "$OUT" "^prev +$H2\$" "show 3: prev is the hash of entry 2"
expect_match "$OUT" "^hash +$H3\$" "show 3: hash = the one note printed"

rx_ok "show 0" -l ./clinic show 0
expect_match "$OUT" "^hash +$GENESIS\$" "show 0: hash = the genesis hash init printed"
expect_match "$OUT" '^prev +0{64}$' "show 0: prev is all zeros"
expect_match "$OUT" "^signature +signed by Juniper Clinic on $TIME, meaning: established ledger\$" \
    "show 0: site signature manifestation"
expect_match "$OUT" "^  dea: \"$DEA_OK\"\$" "show 0: DEA number"

set +e
"$RXLEDGER" -l ./clinic show 2 --raw >e.cbor 2>raw.err
RC=$?
set -e
ERR=$(cat raw.err)
ok "show 2 --raw"
expect_eq "$(head -c 2 e.cbor | od -An -tx1 | tr -d ' \n')" "d284" "--raw starts with a tagged COSE_Sign1 (d2 84)"
expect_eq "$(grep -c 'opened controlled-substance safe' e.cbor)" 1 "--raw carries the note text"
# The raw bytes are exactly what is stored: putting them back changes nothing.
cp -r clinic rawcopy
run "$TAMPER" rawcopy put 2 e.cbor
expect_rc 0 "rxl-tamper put the raw bytes back"
rx_ok "verify after putting the raw bytes back" -l rawcopy verify
expect_eq "$OUT" "ok: 5 entries, head $H4" "raw bytes round-trip"

# --- key list, key pub --------------------------------------------------------------
rx_ok "key list" -l ./clinic key list
expect_lines "$OUT" 3 "key list: header and two keys"
expect_match "$OUT" "^$SITE_KID +site +$TIME +active .* Juniper Clinic\$" "key list: site key"
expect_match "$OUT" "^$JROE_KID +pharmacist +$TIME +active .*RPH-12345 +Jane Roe, PharmD\$" \
    "key list: pharmacist with role and license"

rx_ok "key pub site.key" key pub site.key
printf '%s\n' "$OUT" >re.pub
PUB_FROM_KEY=$OUT
expect_match "$OUT" '^-----BEGIN PUBLIC KEY-----$' "key pub prints a public key PEM"
rx_ok "key pub site.pub" key pub site.pub
expect_eq "$OUT" "$PUB_FROM_KEY" "key pub of .key and .pub agree"
rx_ok "key fingerprint of key pub output" key fingerprint re.pub
expect_eq "$(field "$OUT" fingerprint)" "$SITE_FP" "key pub output re-read gives the same fingerprint"

finish
