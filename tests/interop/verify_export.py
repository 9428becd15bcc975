#!/usr/bin/python3
"""Verify an rxledger export file offline, independently of rxledger's code.

usage: verify_export.py FILE FINGERPRINT

FINGERPRINT is the site key's SHA-256 fingerprint, 64 hex digits; any
separators (':', spaces) are ignored. Written from docs/format.md (sections
1-5c), docs/records.md and docs/regulator-guide.md only, without reading
rxledger's C sources, using Python's standard library, cbor2 and cryptography
(Debian: python3-cbor2, python3-cryptography). Run it with /usr/bin/python3.

The checks, in the order of docs/regulator-guide.md section 6: every item
read exactly and deterministic CBOR; the header; the genesis entry's site key
against the fingerprint; each context entry (the entry checks, then its RFC
9162 inclusion path: all lead to one root); each entry of the range (shape,
seq, prev, recorded time, signer enrolled, not revoked, valid, role allowed
for the type, printed name, body fields, policy hash, Ed25519 signature,
enrolments, revocations, amend/witness hashes); the compact range root; the
trailer checkpoint (site key, signature, the SHA-256 of the header in its
export claim, size, root, head); nothing after it.
Items are numbered from 1 (the header) in the messages.

It streams: the file is read one CBOR item at a time and each entry is hashed
as its exact bytes in the file. Memory stays flat in the number of entries:
it keeps the header (with its context entries), the key table, a stack of at
most 64 subtree hashes for the compact range, and the range's entry hashes in
an anonymous temporary file (32 bytes per entry), which is how an `amend` or
`witness` is checked against the entry it names.

Prints "ok: ..." and exits 0 when the export verifies; prints one line
"FAIL: ..." naming the first problem and the item or entry seq, and exits 3.
Exit 2: usage error; exit 1: the file cannot be opened or read.
"""
import hashlib
import os
import re
import stat
import sys
import tempfile

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

MAX_ENTRY = 65536                 # format.md section 1
CHUNK = 1 << 20
ZERO32 = bytes(32)
DAY_MS = 86400000
HEADER_KEYS = {"from", "left", "size", "count", "right", "format", "context",
               "version"}
PAYLOAD_KEYS = {"v", "et", "rt", "kid", "seq", "body", "name", "prev", "type",
                "meaning"}
LICENSED = {"pharmacist", "prescriber", "nurse"}
CLINICAL = LICENSED | {"admin"}
ALL_SIGNERS = CLINICAL | {"site"}


class Fail(Exception):
    """The export does not verify; the message says why."""


def fail(msg):
    raise Fail(msg)


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def node(left, right):
    return sha256(b"\x01", left, right)


def fmt_fpr(b):
    h = b.hex()
    return ":".join(h[i:i + 4] for i in range(0, 64, 4))


# ---------------------------------------------------------------- CBOR items

class Truncated(Exception):
    pass


class Items:
    """Reads a CBOR sequence (RFC 8742) one item at a time, returning each
    item's exact bytes. Only the item being read (and at most CHUNK bytes
    read ahead) is held in memory. For a regular file, string lengths are
    checked against the file size before anything is read, so a forged
    length cannot make it allocate more than the file holds."""

    def __init__(self, f):
        self.f = f
        st = os.fstat(f.fileno())
        self.size = st.st_size if stat.S_ISREG(st.st_mode) else None
        self.buf = bytearray()
        self.base = 0          # file offset of buf[0]
        self.eof = False

    def _have(self, n):
        while len(self.buf) < n:
            if self.eof:
                return False
            chunk = self.f.read(max(CHUNK, n - len(self.buf)))
            if not chunk:
                self.eof = True
                return False
            self.buf += chunk
        return True

    def at_end(self):
        return not self._have(1)

    def offset(self):
        return self.base

    def next(self, limit=None):
        """The next item's bytes. Raises Truncated if the file ends inside
        it, Fail if it uses an encoding deterministic CBOR never does, or is
        longer than limit."""
        off = 0
        remaining = 1          # items still to read, in preorder
        while remaining:
            if not self._have(off + 1):
                raise Truncated()
            ib = self.buf[off]
            major, ai = ib >> 5, ib & 31
            off += 1
            if ai < 24:
                val = ai
            elif ai <= 27:
                n = 1 << (ai - 24)
                if not self._have(off + n):
                    raise Truncated()
                val = int.from_bytes(self.buf[off:off + n], "big")
                off += n
            elif ai == 31:
                fail("an indefinite-length item (not deterministic CBOR)")
            else:
                fail(f"reserved CBOR additional information {ai}")
            remaining -= 1
            if major in (2, 3):
                if self.size is not None and self.base + off + val > self.size:
                    raise Truncated()
                if not self._have(off + val):
                    raise Truncated()
                off += val
            elif major == 4:
                remaining += val
            elif major == 5:
                remaining += 2 * val
            elif major == 6:
                remaining += 1
            elif major == 7 and ai in (25, 26, 27):
                fail("a floating-point value (rxledger uses none)")
            if limit is not None and off > limit:
                fail(f"an item longer than {limit} bytes")
        item = bytes(self.buf[:off])
        del self.buf[:off]
        self.base += off
        return item


def strict(obj, depth=0, tag_ok=False):
    """Only the CBOR types rxledger uses: integers, byte and text strings,
    arrays, maps, true/false/null, and tag 18 where tag_ok."""
    if depth > 64:
        fail("nested too deeply")
    if obj is None or isinstance(obj, (bool, bytes, str)):
        return
    if type(obj) is int:
        if not -(1 << 64) <= obj < (1 << 64):
            fail("an integer out of CBOR's 64-bit range")
        return
    if type(obj) is list:
        for x in obj:
            strict(x, depth + 1)
        return
    if type(obj) is dict:
        for k, v in obj.items():
            strict(k, depth + 1)
            strict(v, depth + 1)
        return
    if isinstance(obj, cbor2.CBORTag) and tag_ok and obj.tag == 18:
        strict(obj.value, depth + 1)
        return
    if isinstance(obj, cbor2.CBORTag):
        fail(f"a CBOR tag {obj.tag} (only the COSE_Sign1 tag 18 is used)")
    fail(f"a CBOR value of a kind rxledger never uses ({type(obj).__name__})")


def decode(raw, tag_ok=False):
    """Decode one deterministic CBOR item from exactly these bytes."""
    try:
        obj = cbor2.loads(raw)
    except Fail:
        raise
    except Exception as e:  # cbor2 raises several kinds on malformed input
        fail(f"not valid CBOR ({e})")
    strict(obj, tag_ok=tag_ok)
    if cbor2.dumps(obj, canonical=True) != raw:
        fail("not deterministic CBOR (re-encoding it gives other bytes)")
    return obj


def is_uint(x):
    return type(x) is int and x >= 0


def is_bstr(x, n=None):
    return type(x) is bytes and (n is None or len(x) == n)


def is_hash(x):
    return is_bstr(x, 32)


def is_text(x, lo=1, hi=None):
    if type(x) is not str:
        return False
    n = len(x.encode("utf-8"))
    return n >= lo and (hi is None or n <= hi)


def no_nul(obj):
    if type(obj) is str:
        return "\x00" not in obj
    if type(obj) is list:
        return all(no_nul(x) for x in obj)
    if type(obj) is dict:
        return all(no_nul(k) and no_nul(v) for k, v in obj.items())
    return True


def depth_of(obj):
    if type(obj) is list:
        return 1 + max((depth_of(x) for x in obj), default=0)
    if type(obj) is dict:
        return 1 + max((depth_of(v) for v in obj.values()), default=0)
    return 0


# ------------------------------------------------------------ record bodies
# Field kinds of docs/records.md and format.md section 4. Each returns None
# when the value is acceptable, or a short description of what it must be.

def k_text(lo=1, hi=None):
    return lambda v: None if is_text(v, lo, hi) else \
        f"text of {lo}..{hi if hi else ''} bytes"


def k_oneof(*vals):
    return lambda v: None if type(v) is str and v in vals else \
        "one of " + "|".join(vals)


def k_int(lo, hi):
    return lambda v: None if type(v) is int and lo <= v <= hi else \
        f"an integer {lo}..{hi}"


def k_time(v):
    return None if is_uint(v) else "a time (ms since 1970, uint)"


def k_date(v):
    return None if is_uint(v) and v % DAY_MS == 0 else \
        "a date (ms at 00:00Z)"


def k_bstr(n, what):
    return lambda v: None if is_bstr(v, n) else what


def k_flag(v):
    return None if v is True else "true (a flag is true or absent)"


def k_seqref(v):
    return None if is_uint(v) else "an entry seq"


def dea_ok(s):
    m = re.fullmatch(r"[ABFGMPRX][A-Z9]([0-9]{7})(-[A-Za-z0-9]{1,10})?", s)
    if not m:
        return False
    d = [int(c) for c in m.group(1)]
    return (d[0] + d[2] + d[4] + 2 * (d[1] + d[3] + d[5])) % 10 == d[6]


def k_dea(v):
    return None if type(v) is str and dea_ok(v) else \
        "a DEA number with a valid check digit"


def k_ndc(v):
    return None if type(v) is str and re.fullmatch(r"\d{5}-\d{4}-\d{2}", v) \
        else "an NDC in the normalized 5-4-2 form"


def k_bp(v):
    if type(v) is list and len(v) == 2 and all(type(x) is int for x in v):
        s, d = v
        if 50 <= s <= 300 and 20 <= d <= 200 and d < s:
            return None
    return "[systolic 50..300, diastolic 20..200], diastolic < systolic"


def k_schedules(v):
    ok = {"2", "2N", "3", "3N", "4", "5"}
    if type(v) is list and v and all(type(x) is str and x in ok for x in v) \
            and len(set(v)) == len(v):
        return None
    return "a list of schedules (2 2N 3 3N 4 5)"


def k_set(v):
    if type(v) is dict and v and all(is_text(k) and is_text(x)
                                     for k, x in v.items()):
        return None
    return "a map of field names to text"


COMMIT = k_bstr(32, "a 32-byte patient commitment")
KID = k_bstr(16, "a 16-byte key id")
HASH = k_bstr(32, "a 32-byte entry hash")
OVERRIDE = (k_text(1, 512), False)
NDC = (k_ndc, True)
SEQREF = {"session", "ref"}      # fields that name an earlier entry by seq

# type -> (roles that may sign it, {field: (kind, required)})
TYPES = {
    "genesis": ({"site"}, {
        "site_name": (k_text(1, 128), True), "dea": (k_dea, True),
        "site_pub": (k_bstr(32, "a 32-byte public key"), True)}),
    "key.enroll": ({"site"}, {
        "pub": (k_bstr(32, "a 32-byte public key"), True),
        "name": (k_text(1, 128), True),
        "role": (k_oneof("pharmacist", "prescriber", "nurse", "admin"), True),
        "license": (k_text(1), False),
        "valid_from": (k_time, True), "valid_until": (k_time, False)}),
    "key.revoke": ({"site"}, {
        "kid": (KID, True), "reason": (k_text(1), True)}),
    "note": (ALL_SIGNERS, {"text": (k_text(1, 4096), True)}),
    "setting.certify": ({"site"}, {
        "rems-id": (k_text(1, 64), True),
        "kind": (k_oneof("outpatient", "inpatient"), True),
        "from": (k_date, True), "until": (k_date, False)}),
    "registration": ({"site"}, {
        "dea": (k_dea, True), "schedules": (k_schedules, True),
        "expires": (k_date, True)}),
    "patient.enroll": (CLINICAL, {
        "patient": (COMMIT, True), "rems-patient-id": (COMMIT, True),
        "on": (k_date, True)}),
    "stock.receive": ({"pharmacist"}, {
        "ndc": NDC, "lot": (k_text(1, 64), True), "expires": (k_date, True),
        "substance": (k_oneof("esketamine", "ketamine"), True),
        "form": (k_text(1, 64), True),
        "unit-mg": (k_int(1, 100000), True),
        "containers": (k_int(1, 100000), True),
        "units-per-container": (k_int(1, 10000), True),
        "supplier": (k_text(1, 128), True),
        "supplier-address": (k_text(1, 512), True),
        "supplier-dea": (k_dea, True)}),
    "session.open": (LICENSED, {
        "patient": (COMMIT, True),
        "drug": (k_oneof("esketamine", "ketamine"), True),
        "route": (k_oneof("intranasal", "iv", "im", "oral"), True),
        "setting": (k_oneof("outpatient", "inpatient"), True),
        "prescriber": (KID, True), "observer": (KID, True),
        "weight-kg": (k_int(1000, 500000), False), "override": OVERRIDE}),
    "vitals": ({"prescriber", "nurse"}, {
        "session": (k_seqref, True),
        "phase": (k_oneof("pre", "post40", "discharge", "other"), True),
        "bp": (k_bp, False), "hr": (k_int(20, 250), False),
        "spo2": (k_int(0, 100), False), "note": (k_text(1, 512), False)}),
    "dose": (LICENSED, {
        "session": (k_seqref, True), "ndc": NDC,
        "lot": (k_text(1, 64), True), "mg": (k_int(1, 100000), True),
        "device": (k_int(1, 10), False), "ml": (k_int(1, 1000000), False),
        "concentration": (k_int(1, 1000000), False),
        "infusion-min": (k_int(1, 1440), False), "override": OVERRIDE}),
    "waste": (LICENSED, {
        "session": (k_seqref, False), "ndc": NDC,
        "lot": (k_text(1, 64), True), "mg": (k_int(1, 100000), True),
        "manner": (k_text(1, 512), True), "override": OVERRIDE}),
    "discharge": ({"prescriber", "nurse"}, {
        "session": (k_seqref, True), "sedation-resolved": (k_flag, False),
        "dissociation-resolved": (k_flag, False),
        "respiration-stable": (k_flag, False),
        "transport-arranged": (k_flag, False), "override": OVERRIDE}),
    "pmf": (CLINICAL, {
        "session": (k_seqref, True), "submitted": (k_date, True)}),
    "stock.count": ({"pharmacist"}, {
        "ndc": NDC, "lot": (k_text(1, 64), True),
        "on-hand": (k_int(0, 10000000), True),
        "when": (k_oneof("open", "close"), True),
        "complete": (k_flag, False)}),
    "stock.loss": ({"pharmacist"}, {
        "ndc": NDC, "lot": (k_text(1, 64), True),
        "units": (k_int(1, 10000000), True),
        "kind": (k_oneof("theft", "loss"), True),
        "discovered": (k_time, True)}),
    "stock.report-loss": ({"site", "pharmacist"}, {
        "ref": (k_seqref, True), "dea-notified": (k_time, True),
        "form106-filed": (k_time, False)}),
    "stock.destroy": ({"pharmacist"}, {
        "ndc": NDC, "lot": (k_text(1, 64), True),
        "units": (k_int(1, 10000000), True),
        "method": (k_text(1, 512), True), "override": OVERRIDE}),
    "policy.adopt": ({"site"}, {
        "name": (k_text(1, 63), True),
        "drug": (k_oneof("esketamine", "ketamine"), True),
        "text": (k_text(1, 4096), True), "sha256": (HASH, True),
        "effective": (k_date, True)}),
    "amend": (CLINICAL, {
        "ref": (k_seqref, True), "ref-hash": (HASH, True),
        "reason": (k_text(1, 512), True), "set": (k_set, False)}),
    "witness": (LICENSED, {
        "ref": (k_seqref, True), "ref-hash": (HASH, True)}),
}


def check_body(typ, body, seq):
    roles, fields = TYPES[typ]
    ndc_fields = {f for f, spec in fields.items() if spec is NDC}
    for key, val in body.items():
        base = key[:-len("-written")] if key.endswith("-written") else None
        if base in ndc_fields:
            if not is_text(val, 1, 64):
                fail(f"body field '{key}' must be the NDC as written (text)")
            continue
        if key not in fields:
            fail(f"body field '{key}' is not a field of a {typ} entry")
        why = fields[key][0](val)
        if why:
            fail(f"body field '{key}' must be {why}")
        if key in SEQREF and val >= seq:
            fail(f"body field '{key}' names seq {val}, not an earlier entry")
    for key, (_, required) in fields.items():
        if required and key not in body:
            fail(f"a {typ} entry without the required body field '{key}'")
    if typ == "key.enroll":
        if body["role"] in LICENSED and "license" not in body:
            fail(f"enrolls a {body['role']} key without a license")
        if "valid_until" in body and body["valid_until"] <= body["valid_from"]:
            fail("enrolls a key whose valid_until is not after valid_from")
    if typ == "policy.adopt" and \
            sha256(body["text"].encode("utf-8")) != body["sha256"]:
        fail("policy.adopt: sha256 is not the SHA-256 of the profile text")


# ------------------------------------------------------------------ entries

class Entry:
    __slots__ = ("raw", "hash", "prot", "payload", "sig", "p")


def parse_entry(raw):
    """Section 1 and 2: decode and check the shape of one entry."""
    if len(raw) > MAX_ENTRY:
        fail(f"the entry is {len(raw)} bytes, more than {MAX_ENTRY}")
    obj = decode(raw, tag_ok=True)
    if not (isinstance(obj, cbor2.CBORTag) and obj.tag == 18):
        fail("not a tagged COSE_Sign1 (tag 18)")
    v = obj.value
    if type(v) is not list or len(v) != 4:
        fail("the COSE_Sign1 is not an array of 4")
    prot, unprot, payload, sig = v
    if not is_bstr(prot) or not is_bstr(payload):
        fail("protected header and payload must be byte strings")
    if unprot != {}:
        fail("the unprotected header is not the empty map")
    if not is_bstr(sig, 64):
        fail("the signature is not 64 bytes")
    hdr = decode(prot)
    if type(hdr) is not dict or set(hdr) != {1, 4} or type(hdr[1]) is not int \
            or hdr[1] != -8 or not is_bstr(hdr[4], 16):
        fail("the protected header is not exactly {1: -8 (EdDSA), 4: kid}")
    p = decode(payload)
    if type(p) is not dict:
        fail("the payload is not a map")
    if set(p) != PAYLOAD_KEYS:
        extra, missing = set(p) - PAYLOAD_KEYS, PAYLOAD_KEYS - set(p)
        fail("payload keys: " + ", ".join(
            [f"unexpected '{k}'" for k in sorted(map(str, extra))] +
            [f"missing '{k}'" for k in sorted(missing)]))
    if type(p["v"]) is not int or p["v"] != 1:
        fail("payload v is not 1")
    for k in ("et", "rt", "seq"):
        if not is_uint(p[k]):
            fail(f"payload {k} is not an unsigned integer")
    if not is_bstr(p["kid"], 16) or p["kid"] != hdr[4]:
        fail("payload kid is not the protected header's kid")
    if type(p["body"]) is not dict or not all(type(k) is str for k in p["body"]):
        fail("payload body is not a map with text keys")
    if depth_of(p["body"]) > 8:
        fail("payload body is nested more than 8 deep")
    if not is_text(p["name"], 1, 128):
        fail("payload name is not text of 1..128 bytes")
    if not is_hash(p["prev"]):
        fail("payload prev is not 32 bytes")
    if type(p["type"]) is not str or not re.fullmatch(r"[a-z0-9.-]{1,32}", p["type"]):
        fail("payload type is not 1..32 of [a-z0-9.-]")
    if not is_text(p["meaning"], 1, 128):
        fail("payload meaning is not text of 1..128 bytes")
    if not no_nul(p):
        fail("a text string contains U+0000")
    e = Entry()
    e.raw, e.prot, e.payload, e.sig, e.p = raw, prot, payload, sig, p
    e.hash = sha256(b"\x00", raw)
    return e


def sig_structure(prot, payload):
    return cbor2.dumps(["Signature1", prot, b"", payload], canonical=True)


def ed25519_ok(pub, sig, msg):
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, msg)
        return True
    except (InvalidSignature, ValueError):
        return False


class HashStore:
    """Entry hashes of the range, 32 bytes each, in a temporary file (the
    last few thousand in memory): memory stays flat however long the range."""

    def __init__(self):
        self.f = tempfile.TemporaryFile()
        self.flushed = 0       # hashes in the file
        self.tail = bytearray()

    def append(self, h):
        self.tail += h
        if len(self.tail) >= CHUNK:
            self.f.seek(0, 2)
            self.f.write(self.tail)
            self.flushed += len(self.tail) // 32
            self.tail = bytearray()

    def get(self, i):
        if i >= self.flushed:
            j = (i - self.flushed) * 32
            return bytes(self.tail[j:j + 32])
        self.f.flush()
        self.f.seek(i * 32)
        return self.f.read(32)


class Verifier:
    def __init__(self, fpr):
        self.fpr = fpr
        self.keys = {}         # kid -> dict(pub, role, name, vf, vu, enrolled, revoked)
        self.site_pub = None
        self.last_rt = None
        self.ctx_hash = {}     # seq -> entry hash of the context entries
        self.range = HashStore()
        self.from_ = 0

    def known_hash(self, seq, upto):
        """The hash of entry seq if the file holds it before seq upto."""
        if seq in self.ctx_hash:
            return self.ctx_hash[seq]
        if self.from_ <= seq < upto:
            return self.range.get(seq - self.from_)
        return None

    def check(self, e, seq, prev, in_range):
        """Section 5 steps 2 to 6 for one entry. prev: the hash its prev must
        be, or None when the previous entry is not in the file."""
        p = e.p
        typ = p["type"]
        if p["seq"] != seq:
            fail(f"payload seq is {p['seq']}, expected {seq}")
        if prev is not None and p["prev"] != prev:
            fail(f"prev is not the entry hash of entry {seq - 1} "
                 "(the chain is broken: an entry is missing, altered or out of order)")
        if self.last_rt is not None and p["rt"] < self.last_rt:
            fail("recorded time (rt) goes backwards")
        if typ not in TYPES:
            fail(f"unknown entry type '{typ}'")
        if seq == 0:
            if typ != "genesis":
                fail("entry 0 is not the genesis entry")
            check_body(typ, p["body"], seq)
            pub = p["body"]["site_pub"]
            got = sha256(pub)
            if got != self.fpr:
                fail(f"the site key in the genesis entry has fingerprint "
                     f"{fmt_fpr(got)}, not the trusted {fmt_fpr(self.fpr)}")
            if p["kid"] != got[:16]:
                fail("the genesis entry is not signed by its own site_pub (kid)")
            if p["name"] != p["body"]["site_name"]:
                fail("the genesis name is not the site_name")
            if not ed25519_ok(pub, e.sig, sig_structure(e.prot, e.payload)):
                fail("the genesis signature does not verify with site_pub")
            self.site_pub = pub
            self.keys[got[:16]] = dict(pub=pub, role="site", name=p["name"],
                                       vf=None, vu=None, enrolled=0, revoked=None)
        else:
            if typ == "genesis":
                fail("a genesis entry after seq 0")
            k = self.keys.get(p["kid"])
            if k is None:
                fail(f"signed by key {p['kid'].hex()}, which no earlier "
                     "key.enroll in the file enrolled")
            if k["revoked"] is not None:
                fail(f"signed by key {p['kid'].hex()}, revoked at seq {k['revoked']}")
            if k["vf"] is not None and p["rt"] < k["vf"]:
                fail(f"signed by key {p['kid'].hex()} before its valid_from")
            if k["vu"] is not None and p["rt"] >= k["vu"]:
                fail(f"signed by key {p['kid'].hex()} after its valid_until")
            if k["role"] not in TYPES[typ][0]:
                fail(f"a {typ} entry signed by a {k['role']} key; allowed: "
                     + ", ".join(sorted(TYPES[typ][0])))
            if p["name"] != k["name"]:
                fail(f"printed name '{p['name']}' is not the signer's enrolled "
                     f"name '{k['name']}'")
            check_body(typ, p["body"], seq)
            if not ed25519_ok(k["pub"], e.sig, sig_structure(e.prot, e.payload)):
                fail("the signature does not verify")
        # step 5: apply
        b = p["body"]
        if typ == "key.enroll":
            kid = sha256(b["pub"])[:16]
            if kid in self.keys:
                fail(f"enrolls key {kid.hex()}, enrolled already at seq "
                     f"{self.keys[kid]['enrolled']}")
            self.keys[kid] = dict(pub=b["pub"], role=b["role"], name=b["name"],
                                  vf=b["valid_from"], vu=b.get("valid_until"),
                                  enrolled=seq, revoked=None)
        elif typ == "key.revoke":
            k = self.keys.get(b["kid"])
            if k is None:
                fail(f"revokes key {b['kid'].hex()}, which is not enrolled")
            if k["role"] == "site":
                fail("revokes the site key (it cannot be revoked)")
            if k["revoked"] is not None:
                fail(f"revokes key {b['kid'].hex()}, revoked already at seq "
                     f"{k['revoked']}")
            k["revoked"] = seq
        elif typ in ("amend", "witness"):
            ref = b["ref"]
            if typ == "witness" and seq - ref > 2:
                fail(f"a witness of seq {ref} more than 2 entries after it")
            h = self.known_hash(ref, seq)
            if h is None:
                if in_range:
                    fail(f"names entry {ref}, which is not in the file")
            elif h != b["ref-hash"]:
                fail(f"ref-hash is not the entry hash of entry {ref}")
        self.last_rt = p["rt"]


# ----------------------------------------------------------- Merkle (9162)

def inclusion_root(index, size, leaf, path):
    """RFC 9162 section 2.1.3.2, up to the final comparison: the root the
    path leads to, or None when the path cannot be a valid proof."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def right_widths(start, size):
    """Widths of the subtrees covering leaves start..size-1, greedily."""
    out = []
    m = start
    while m < size:
        k = 1
        while (m == 0 or m % (k * 2) == 0) and m + k * 2 <= size:
            k *= 2
        out.append(k)
        m += k
    return out


def left_widths(n):
    return [1 << b for b in range(n.bit_length() - 1, -1, -1) if n >> b & 1]


class Stack:
    """The compact range stack of format.md 5c: (width, hash) pairs."""

    def __init__(self):
        self.s = []

    def push(self, width, h):
        self.s.append((width, h))
        while len(self.s) >= 2 and self.s[-1][0] == self.s[-2][0]:
            (w, upper), (_, lower) = self.s.pop(), self.s.pop()
            self.s.append((2 * w, node(lower, upper)))
        if len(self.s) > 64:
            fail("the compact range stack grew beyond 64 subtrees")

    def root(self):
        r = self.s[-1][1]
        for _, h in reversed(self.s[:-1]):
            r = node(h, r)
        return r


# ------------------------------------------------------------------- export

def hfail(msg):
    fail("item 1 (the header): " + msg)


def check_header(h):
    if type(h) is not dict:
        hfail("not a map")
    keys = set(h)
    if not HEADER_KEYS <= keys or not keys <= HEADER_KEYS | {"identities"}:
        extra = sorted(map(str, keys - HEADER_KEYS - {"identities"}))
        missing = sorted(HEADER_KEYS - keys)
        hfail("keys: " + ", ".join(
            [f"unexpected '{k}'" for k in extra] +
            [f"missing '{k}'" for k in missing]))
    if h["format"] != "rxledger-export":
        hfail("format is not \"rxledger-export\"")
    if type(h["version"]) is not int or h["version"] != 1:
        hfail(f"version {h['version']!r} (this verifier knows 1)")
    for k in ("from", "size", "count"):
        if not is_uint(h[k]):
            hfail(f"{k} is not an unsigned integer")
    frm, size, count = h["from"], h["size"], h["count"]
    if count < 1:
        hfail("count is 0 (an export holds at least one entry)")
    if frm + count > size:
        hfail(f"from {frm} + count {count} is beyond size {size}")
    for k in ("left", "right"):
        if type(h[k]) is not list or not all(is_hash(x) for x in h[k]):
            hfail(f"{k} is not a list of 32-byte hashes")
    if len(h["left"]) != bin(frm).count("1"):
        hfail(f"left has {len(h['left'])} hashes; from {frm} needs "
              f"{bin(frm).count('1')}")
    rw = right_widths(frm + count, size)
    if len(h["right"]) != len(rw):
        hfail(f"right has {len(h['right'])} hashes; leaves "
              f"{frm + count}..{size - 1} need {len(rw)}")
    ctx = h["context"]
    if type(ctx) is not list:
        hfail("context is not a list")
    last = -1
    for i, c in enumerate(ctx):
        if type(c) is not list or len(c) != 3 or not is_uint(c[0]) or \
                not is_bstr(c[1]) or type(c[2]) is not list or \
                not all(is_hash(x) for x in c[2]):
            hfail(f"context[{i}] is not [seq, entry bytes, path of hashes]")
        if c[0] <= last:
            hfail(f"context[{i}] seq {c[0]} is not after {last}")
        if c[0] >= frm:
            hfail(f"context[{i}] seq {c[0]} is not before from {frm}")
        last = c[0]
    if frm > 0 and (not ctx or ctx[0][0] != 0):
        hfail("the context does not start with the genesis entry (seq 0)")
    if frm == 0 and ctx:
        hfail("a full export (from 0) with a context")
    if "identities" in h:
        ids = h["identities"]
        if type(ids) is not list:
            hfail("identities is not a list")
        prev = None
        for i, x in enumerate(ids):
            if type(x) is not list or len(x) != 4 or not is_hash(x[0]) or \
                    not is_hash(x[1]) or x[2] not in ("mrn", "rems") or \
                    not is_text(x[3], 1, 64):
                hfail(f"identities[{i}] is not [commitment, salt, "
                      "\"mrn\"|\"rems\", id]")
            if prev is not None and x[0] <= prev:
                hfail(f"identities[{i}] is not sorted by commitment, "
                      "or repeats one")
            if sha256(x[1], x[3].encode("utf-8")) != x[0]:
                hfail(f"identities[{i}]: SHA-256(salt || id) is not "
                      "its commitment")
            prev = x[0]


def check_trailer(raw, v, frm, count, size, root, ctx_root, last_hash,
                  header_hash):
    where = f"item {count + 2} (the trailer)"
    try:
        obj = decode(raw, tag_ok=True)
    except Fail as e:
        fail(f"{where}: {e}")
    if not (isinstance(obj, cbor2.CBORTag) and obj.tag == 18) or \
            type(obj.value) is not list or len(obj.value) != 4:
        fail(f"{where}: not a tagged COSE_Sign1 (tag 18) checkpoint")
    prot, unprot, payload, sig = obj.value
    if not is_bstr(prot) or unprot != {} or not is_hash(payload) or \
            not is_bstr(sig, 64):
        fail(f"{where}: not a checkpoint (protected bstr, {{}}, 32-byte root, "
             "64-byte signature)")
    try:
        hdr = decode(prot)
    except Fail as e:
        fail(f"{where}: protected header: {e}")
    site_kid = sha256(v.site_pub)[:16]
    if type(hdr) is not dict or set(hdr) != {1, 4, 15, 395} or \
            type(hdr[1]) is not int or hdr[1] != -8 or \
            type(hdr[395]) is not int or hdr[395] != 1 or \
            not is_bstr(hdr[4], 16):
        fail(f"{where}: protected header is not exactly "
             "{1: -8, 4: kid, 15: claims, 395: 1}")
    if hdr[4] != site_kid:
        fail(f"{where}: not signed by the site key (kid {hdr[4].hex()})")
    c = hdr[15]
    if type(c) is not dict or set(c) != {"head", "size", "time", "export"} or \
            not is_hash(c["head"]) or not is_uint(c["size"]) or \
            not is_uint(c["time"]) or not is_hash(c["export"]):
        fail(f"{where}: claims are not exactly head (32 bytes), size, time, "
             "export (32 bytes)")
    if not ed25519_ok(v.site_pub, sig, sig_structure(prot, payload)):
        fail(f"{where}: the site key's signature does not verify")
    if c["export"] != header_hash:
        fail(f"{where}: its export claim is not the SHA-256 of the header "
             "(item 1): the header is not the one the site signed")
    if c["size"] != size:
        fail(f"{where}: signs size {c['size']}, the header says {size}")
    if payload != root:
        fail(f"{where}: the signed root is not the root computed from the "
             "entries and the header's left and right hashes")
    if ctx_root is not None and ctx_root != root:
        fail(f"{where}: the signed root is not the root the context paths lead to")
    if frm + count == size and c["head"] != last_hash:
        fail(f"{where}: head is not the last entry's hash")


def looks_like_checkpoint(raw):
    try:
        obj = cbor2.loads(raw)
        return obj.tag == 18 and 395 in cbor2.loads(obj.value[0])
    except Exception:
        return False


def verify(f, fpr):
    items = Items(f)
    v = Verifier(fpr)
    if items.at_end():
        fail("the file is empty")
    try:
        hraw = items.next()
    except Truncated:
        fail("item 1 (the header) is truncated")
    except Fail as e:
        fail(f"item 1 (the header): {e}")
    try:
        h = decode(hraw)
    except Fail as e:
        fail(f"item 1 (the header): {e}")
    check_header(h)
    frm, size, count = h["from"], h["size"], h["count"]
    v.from_ = frm

    # Context: earlier entries, each with its inclusion path.
    ctx_root = None
    for i, (seq, raw, path) in enumerate(h["context"]):
        where = f"context entry seq {seq} (item 1, context[{i}])"
        try:
            e = parse_entry(raw)
            prev = ZERO32 if seq == 0 else v.ctx_hash.get(seq - 1)
            v.check(e, seq, prev, in_range=False)
        except Fail as x:
            fail(f"{where}: {x}")
        except Exception as x:
            fail(f"{where}: malformed ({type(x).__name__}: {x})")
        r = inclusion_root(seq, size, e.hash, path)
        if r is None:
            fail(f"{where}: its inclusion path is not a valid RFC 9162 path "
                 f"for leaf {seq} of {size}")
        if ctx_root is not None and r != ctx_root:
            fail(f"{where}: its inclusion path leads to another root than "
                 "the earlier context entries'")
        ctx_root = r
        v.ctx_hash[seq] = e.hash

    # The range, streamed.
    stack = Stack()
    for w, x in zip(left_widths(frm), h["left"]):
        stack.push(w, x)
    prev = ZERO32 if frm == 0 else v.ctx_hash.get(frm - 1)
    last_hash = None
    for i in range(count):
        seq = frm + i
        where = f"entry seq {seq} (item {i + 2})"
        if items.at_end():
            fail(f"the file ends after {i} of {count} entries "
                 f"(entry seq {seq}, the rest and the trailer are missing)")
        try:
            raw = items.next(limit=MAX_ENTRY)
        except Truncated:
            fail(f"{where} is truncated: the file ends inside it")
        except Fail as x:
            fail(f"{where}: {x}")
        try:
            e = parse_entry(raw)
        except Fail as x:
            if looks_like_checkpoint(raw):
                fail(f"{where}: a checkpoint where the entry should be: the "
                     f"file holds {i} entries, the header says {count}")
            fail(f"{where}: {x}")
        except Exception as x:
            fail(f"{where}: malformed ({type(x).__name__}: {x})")
        try:
            v.check(e, seq, prev, in_range=True)
        except Fail as x:
            fail(f"{where}: {x}")
        except Exception as x:
            fail(f"{where}: malformed ({type(x).__name__}: {x})")
        v.range.append(e.hash)
        stack.push(1, e.hash)
        prev = last_hash = e.hash
    for w, x in zip(right_widths(frm + count, size), h["right"]):
        stack.push(w, x)
    root = stack.root()

    # The trailer, then nothing.
    if items.at_end():
        fail(f"the file ends after the {count} entries: the trailer "
             f"(item {count + 2}) is missing")
    try:
        traw = items.next()
    except Truncated:
        fail(f"item {count + 2} (the trailer) is truncated")
    except Fail as x:
        fail(f"item {count + 2} (the trailer): {x}")
    check_trailer(traw, v, frm, count, size, root, ctx_root, last_hash,
                  sha256(hraw))
    if not items.at_end():
        fail(f"data follows the trailer, from byte {items.offset()} "
             f"(item {count + 3})")
    noun = "entry" if count == 1 else "entries"
    return (f"ok: {count} {noun} (seq {frm}..{frm + count - 1}) of a ledger "
            f"of {size}, signed by site key {fmt_fpr(fpr)}")


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print("usage: verify_export.py FILE FINGERPRINT", file=sys.stderr)
        return 2
    hexd = re.sub(r"[^0-9A-Za-z]", "", argv[2])
    if not re.fullmatch(r"[0-9a-fA-F]{64}", hexd):
        print("verify_export.py: FINGERPRINT must be 64 hex digits "
              "(separators ignored)", file=sys.stderr)
        return 2
    fpr = bytes.fromhex(hexd)
    try:
        f = open(argv[1], "rb")
    except OSError as e:
        print(f"verify_export.py: cannot open {argv[1]}: {e.strerror}",
              file=sys.stderr)
        return 1
    with f:
        try:
            print(verify(f, fpr))
            return 0
        except Fail as e:
            print("FAIL: " + " ".join(str(e).split()))
            return 3
        except OSError as e:
            print(f"verify_export.py: cannot read {argv[1]}: {e}",
                  file=sys.stderr)
            return 1
        except RecursionError:
            print("FAIL: an item nested too deeply")
            return 3
        except Exception as e:  # malformed input must never give a traceback
            print("FAIL: malformed export (" + type(e).__name__ + ": "
                  + " ".join(str(e).split()) + ")")
            return 3


if __name__ == "__main__":
    sys.exit(main(sys.argv))
