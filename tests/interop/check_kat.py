#!/usr/bin/python3
"""Check tests/data/kat-*.hex with an independent CBOR and Ed25519 stack.

Follows docs/format.md only: decode the COSE_Sign1, check the payload is
deterministic CBOR (re-encoding with cbor2's canonical mode gives the same
bytes), rebuild the Sig_structure, verify the Ed25519 signature, recompute
the kid and the RFC 9162 leaf hash. Exit 0 when all agree.
"""
import hashlib
import pathlib
import sys

import cbor2
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey, Ed25519PublicKey)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

DATA = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else
                    pathlib.Path(__file__).resolve().parent.parent / "data")
checks = 0


def hexfile(name):
    return bytes.fromhex("".join((DATA / name).read_text().split()))


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    checks += 1


seed = hexfile("kat-seed.hex")
pub = hexfile("kat-pub.hex")
entry = hexfile("kat-entry.hex")
payload_bytes = hexfile("kat-payload.hex")

key = Ed25519PrivateKey.from_private_bytes(seed)
raw_pub = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
check(raw_pub == pub, "public key derived from the seed")

obj = cbor2.loads(entry)
check(isinstance(obj, cbor2.CBORTag) and obj.tag == 18, "COSE_Sign1 tag 18")
prot, unprot, payload, sig = obj.value
check(unprot == {}, "empty unprotected header")
check(payload == payload_bytes, "payload bytes")
check(prot == hexfile("kat-protected.hex"), "protected header bytes")
hdr = cbor2.loads(prot)
kid = hashlib.sha256(pub).digest()[:16]
check(hdr == {1: -8, 4: kid}, "protected header {alg: EdDSA, kid}")
check(cbor2.dumps(hdr, canonical=True) == prot, "protected header is deterministic")

p = cbor2.loads(payload)
check(cbor2.dumps(p, canonical=True) == payload, "payload is deterministic CBOR")
check(p["v"] == 1 and p["seq"] == 2 and p["type"] == "note", "payload fields")
check(p["prev"] == bytes(range(32)) and p["kid"] == kid, "prev and kid")
check(p["rt"] == 1795381500000 and p["et"] == 1795381440000, "times in ms")
check(p["name"] == "Jane Roe, PharmD" and p["meaning"] == "authored", "manifestation")
check(p["body"] == {"text": "opened controlled-substance safe"}, "body")

tbs = cbor2.dumps(["Signature1", prot, b"", payload])
check(tbs == hexfile("kat-sig-structure.hex"), "Sig_structure bytes")
Ed25519PublicKey.from_public_bytes(pub).verify(sig, tbs)
checks += 1
check(key.sign(tbs) == sig, "Ed25519 is deterministic: same signature")
leaf = hashlib.sha256(b"\x00" + entry).digest()
check(leaf == hexfile("kat-entry-hash.hex"), "entry hash = SHA-256(0x00 || entry)")
check(cbor2.dumps(obj) == entry, "whole entry re-encodes identically")
print(f"{checks} passed, 0 failed")
