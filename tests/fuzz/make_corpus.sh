#!/usr/bin/env bash
# Rebuilds the seed corpora of tests/fuzz/corpus from a demo ledger made by
# the real tools (cli/demo.sh, then a policy adoption and an amendment):
# every entry as stored, exports, receipts and checkpoints, the shipped policy
# profiles, and batch lines like those of tests/cli/test_batch.sh.
# usage: RXLEDGER=build/cli/rxledger TAMPER=build/tests/tools/rxl-tamper tests/fuzz/make_corpus.sh
set -euo pipefail
RXLEDGER=$(realpath "${RXLEDGER:?the rxledger binary}")
TAMPER=$(realpath "${TAMPER:?the rxl-tamper test tool}")
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
C=$HERE/corpus
W=$(mktemp -d "${TMPDIR:-/tmp}/rxl-corpus.XXXXXX")
trap 'rm -rf "$W"' EXIT

RXLEDGER=$RXLEDGER TAMPER=$TAMPER bash "$ROOT/cli/demo.sh" "$W/demo" >"$W/demo.log"
cd "$W/demo"
export RXLEDGER_DIR=./clinic RXLEDGER_PASSPHRASE="demo passphrase, not for real use"
rx() { "$RXLEDGER" "$@" >/dev/null; }

# a stricter profile adopted, a dose corrected: two more entry types
sed -e 's/^name = .*/name = strict/' -e 's/^min_minutes = .*/min_minutes = 150/' \
    "$ROOT/policy/profiles/spravato-rems.ini" >strict.ini
rx policy adopt strict.ini --effective 2027-01-01 --key site.key
rx amend 28 --reason "typo in the dose" --set mg=35 --key msmith.key
rx checkpoint --key site.key

rm -rf "$C"
mkdir -p "$C/entry" "$C/export" "$C/receipt" "$C/policy" "$C/batch"
hex2bin() { python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.argv[1]))' "$1"; }
FPR=$("$RXLEDGER" key fingerprint site.pub | awk '/^fingerprint/ {print $2}' | tr -d :)
PUB=$(python3 -c '
import sys
from cryptography.hazmat.primitives import serialization as s
pem = open(sys.argv[1], "rb").read()
pem = pem[pem.index(b"-----BEGIN"):]
print(s.load_pem_public_key(pem).public_bytes(s.Encoding.Raw, s.PublicFormat.Raw).hex())' site.pub)
N=$("$RXLEDGER" verify | awk '{print $2}')

# entries: every one of the ledger
for ((i = 0; i < N; i++)); do
    "$RXLEDGER" show "$i" --raw >"$C/entry/seq-$(printf %02d "$i").cbor"
done

# exports: the trusted fingerprint, then the file
export_seed() {
    local out=$1
    shift
    rx export --key site.key --out "$W/x.cbor" "$@"
    { hex2bin "$FPR"; cat "$W/x.cbor"; } >"$C/export/$out"
}
export_seed full.bin
export_seed range-12-17.bin --from-seq 12 --to-seq 17
export_seed ids-9-11.bin --from-seq 9 --to-seq 11 --include-identities
export_seed last.bin --from-seq $((N - 1))

# receipts: mode byte 0, key material, receipt length, receipt, subject
receipt_seed() {
    local out=$1 key=$2 rec=$3 subj=$4
    {
        printf '\0'
        hex2bin "$key"
        python3 -c 'import os, sys; sys.stdout.buffer.write(os.path.getsize(sys.argv[1]).to_bytes(2, "big"))' "$rec"
        cat "$rec"
        [ -z "$subj" ] || cat "$subj"
    } >"$C/receipt/$out"
}
rx prove 13 --out r13.cbor
rx prove 0 --out r0.cbor
rx prove $((N - 1)) --out rlast.cbor
rx consistency --old 36 --out c36.cbor
rx checkpoint --size 36 --out cp36.cbor
receipt_seed inclusion-13.bin "$FPR" r13.cbor "$C/entry/seq-13.cbor"
receipt_seed inclusion-0.bin "$FPR" r0.cbor "$C/entry/seq-00.cbor"
receipt_seed inclusion-last.bin "$FPR" rlast.cbor "$C/entry/seq-$(printf %02d $((N - 1))).cbor"
receipt_seed consistency-36.bin "$FPR" c36.cbor cp36.cbor
receipt_seed consistency-demo.bin "$FPR" consistency.cbor old-checkpoint.cbor
receipt_seed checkpoint-36.bin "$PUB" cp36.cbor ""
# mode 1: the proof functions (tree size, index, old size, three 64-bit values, a path)
python3 - "$C/receipt" <<'EOF'
import hashlib, os, sys
d = sys.argv[1]
h = [hashlib.sha256(bytes([i])).digest() for i in range(6)]
open(os.path.join(d, "proofs-37.bin"), "wb").write(bytes([1, 36, 13, 35]) + (13).to_bytes(8, "big") + (37).to_bytes(8, "big") + (38).to_bytes(8, "big") + b"".join(h))
open(os.path.join(d, "proofs-big.bin"), "wb").write(bytes([3, 63, 62, 31]) + (2**63).to_bytes(8, "big") + (2**64 - 1).to_bytes(8, "big") + (1).to_bytes(8, "big") + b"".join(h[:2]))
EOF

# policy profiles: the shipped ones and the adopted one
cp "$ROOT"/policy/profiles/*.ini "$C/policy/"
cp strict.ini "$C/policy/strict.ini"

# batch lines (one per file)
SMITH=$("$RXLEDGER" key fingerprint msmith.pub | awk '/^kid/ {print $2}')
LEE=$("$RXLEDGER" key fingerprint alee.pub | awk '/^kid/ {print $2}')
i=0
while IFS= read -r line; do
    i=$((i + 1))
    printf '%s\n' "$line" >"$C/batch/line-$(printf %02d "$i").json"
done <<EOF
{"type":"session.open","patient":"MRN-1001","drug":"esketamine","route":"intranasal","setting":"outpatient","prescriber":"$SMITH","observer":"$LEE","at":"2026-11-22T09:10:00Z"}
{"type":"vitals","session":"@1","phase":"pre","bp":"128/82","hr":72,"spo2":98,"at":"2026-11-22T09:12:00Z"}
{"type":"dose","session":"@2","ndc":"50458-028-02","lot":"L2611A","mg":28,"device":1,"override":"vitals on paper, entered later"}
{"type":"discharge","session":"@1","sedation-resolved":true,"dissociation-resolved":true,"respiration-stable":true,"transport-arranged":false}
{"type":"note","text":"fridge checked","at":"2026-11-22T09:00:00Z"}
{"type":"amend","seq":"@5","reason":"typo","set":["mg=56","lot=L2611B"]}
{"type":"stock receive","ndc":"42023-113-10","lot":"K7731","expires":"2027-03-31","containers":1,"units-per-container":5,"form":"500 mg/10 mL vial","unit-mg":500,"substance":"ketamine","supplier":"McKesson Specialty","supplier-address":"1 Main St, Memphis TN","supplier-dea":"AP5836727"}
{"type":"waste","session":"@1","ndc":"42023-113-10","lot":"K7731","mg":464,"manner":"charcoal pouch","witness-key":"jroe.key","witness-passphrase-file":"pass.txt"}
{"type":"patient.enroll","patient":"MRN-2002","rems-patient-id":"REMS-99","on":"2026-11-21"}
{"type":"note","text":"x","key":"alee.key"}
{"type":"dose","mg":2.5}
{"type":"vitals","session":"@3","phase":"pre","hr":70}
{"type":"note","text":"a","text":"b"}
[1,2]
EOF
printf '%s\r\n' '{"type":"note","text":"crlf line"}' >"$C/batch/line-crlf.json"

du -sh "$C"/*
