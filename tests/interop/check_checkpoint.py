#!/usr/bin/python3
"""Check a checkpoint with an independent stack, from docs/format.md only.

usage: check_checkpoint.py CHECKPOINT.cbor SITE.pub FINGERPRINT ENTRY0.cbor ...
The entries are the chain's first entries, as stored (rxledger show N --raw).
Checks: the site key matches the trusted fingerprint; the COSE_Sign1 is signed
by it over the Sig_structure whose payload is the root; the protected header
is deterministic CBOR with alg, kid, the claims (head, size, time) and the
RFC 9942 vds; size, root (RFC 9162 MTH over the entry hashes, computed here)
and head agree with the entries. Prints 'N passed, 0 failed' and exits 0, or names the failure.
"""
import hashlib
import sys

import cbor2
from cryptography.hazmat.primitives.serialization import (Encoding, PublicFormat,
                                                          load_pem_public_key)

checks = 0


def check(cond, what):
    global checks
    if not cond:
        print(f"FAIL: {what}")
        sys.exit(1)
    checks += 1


def mth(leaves):
    """RFC 9162 section 2.1.1, written from the RFC."""
    n = len(leaves)
    if n == 1:
        return leaves[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(leaves[:k]) + mth(leaves[k:])).digest()


cp_bytes = open(sys.argv[1], "rb").read()
pem = open(sys.argv[2], "rb").read()
pem = pem[pem.index(b"-----BEGIN"):]
pub_key = load_pem_public_key(pem)
pub = pub_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
fpr = "".join(c for c in sys.argv[3] if c in "0123456789abcdefABCDEF").lower()
check(hashlib.sha256(pub).hexdigest() == fpr, "site key matches the trusted fingerprint")
entries = [open(p, "rb").read() for p in sys.argv[4:]]

obj = cbor2.loads(cp_bytes)
check(isinstance(obj, cbor2.CBORTag) and obj.tag == 18, "a tagged COSE_Sign1")
prot, unprot, payload, sig = obj.value
check(unprot == {}, "empty unprotected header")
kid = hashlib.sha256(pub).digest()[:16]
h = cbor2.loads(prot)
check(cbor2.dumps(h, canonical=True) == prot, "protected header is deterministic CBOR")
check(set(h) == {1, 4, 15, 395} and h[1] == -8 and h[4] == kid and h[395] == 1,
      "protected header: EdDSA, the site key's kid, claims, vds RFC9162_SHA256")
claims = h[15]
check(set(claims) == {"head", "size", "time"}, "claims: head, size, time")
check(isinstance(payload, bytes) and len(payload) == 32, "payload is the 32-byte root")
pub_key.verify(sig, cbor2.dumps(["Signature1", prot, b"", payload]))
checks += 1
check(claims["size"] == len(entries), "size is the number of entries given")
leaves = [hashlib.sha256(b"\x00" + e).digest() for e in entries]
check(payload == mth(leaves), "root is the RFC 9162 root of the entries")
check(claims["head"] == leaves[-1], "head is the last entry's hash")
genesis = cbor2.loads(cbor2.loads(entries[0]).value[2])
check(genesis["body"]["site_pub"] == pub, "the genesis entry carries the same site key")
print(f"{checks} passed, 0 failed")
