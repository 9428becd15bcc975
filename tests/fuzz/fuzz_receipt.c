/* libFuzzer harness: receipts, checkpoints and the Merkle proof functions.
 * The first byte picks the mode.
 *  even: a receipt check as `rxledger verify-proof` runs it. Then 32 bytes of
 *        trusted key material (the site key fingerprint for the receipt; the
 *        raw site public key for a checkpoint given in the receipt's place),
 *        a 2-byte big-endian length, the receipt, and the subject (the entry,
 *        or the earlier checkpoint) to the end.
 *  odd:  the RFC 9162 proof functions: a tree of 1..64 leaves, index and old
 *        size chosen by the next three bytes; every proof made must verify,
 *        every root must match a plain recursive MTH, an altered path must
 *        fail; then the verifiers with raw 64-bit sizes and indexes (3 x 8
 *        bytes) and the rest of the input as a path.
 * Corpus: tests/fuzz/corpus/receipt (receipts and checkpoints of a demo ledger). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "ledger_int.h"

#define LEAVES_MAX 64

static uint8_t leaves[LEAVES_MAX][LEDGER_HASH_BYTES];

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

/* ---- receipts and checkpoints ---- */

static void receipt(const uint8_t *data, size_t size)
{
    char why[LEDGER_ERRMSG_MAX];
    ledger_receipt_info info;
    ledger_checkpoint cp;
    ledger__sth sth;
    const uint8_t *key, *rec, *subj;
    size_t rlen, slen;
    if (size < 1 + KEYS_FPR_BYTES + 2)
        return;
    key = data + 1;
    rlen = (size_t)data[1 + KEYS_FPR_BYTES] << 8 | data[2 + KEYS_FPR_BYTES];
    rec = data + 3 + KEYS_FPR_BYTES;
    size -= 3 + KEYS_FPR_BYTES;
    if (rlen > size)
        rlen = size;
    subj = rec + rlen;
    slen = size - rlen;

    if (ledger_receipt_verify(rec, rlen, subj, slen, key, &info, why, sizeof(why)) == 0) {
        FUZZ_CHECK(info.kind == LEDGER_RECEIPT_INCLUSION ||
                   info.kind == LEDGER_RECEIPT_CONSISTENCY);
        FUZZ_CHECK(info.cp.size >= 1);
        if (info.kind == LEDGER_RECEIPT_INCLUSION)
            FUZZ_CHECK(info.index < info.cp.size);
        else
            FUZZ_CHECK(info.old.size == info.index && info.index <= info.cp.size);
    } else {
        FUZZ_CHECK(strlen(why) < sizeof(why));
    }
    if (ledger__tree_head_open(&sth, rec, rlen, why, sizeof(why)) == 0)
        FUZZ_CHECK(sth.cp.size >= 1 && sth.protlen <= rlen && sth.unprotlen <= rlen);
    if (ledger_checkpoint_decode(&cp, rec, rlen, key, why, sizeof(why)) == 0)
        FUZZ_CHECK(cp.size >= 1 && rlen <= LEDGER_CHECKPOINT_MAX);
}

/* ---- the proof functions ---- */

typedef struct tree {
    uint64_t size;
    bool asked_outside; /* a node beyond the tree was asked for */
} tree;

/* Perfect subtree (level, index) of the tree, computed from the leaves. */
static int node(void *ud, unsigned level, uint64_t index, uint8_t out[LEDGER_HASH_BYTES])
{
    tree *t = ud;
    uint8_t l[LEDGER_HASH_BYTES], r[LEDGER_HASH_BYTES];
    if (level > 6 || index >= t->size || ((index + 1) << level) > t->size) {
        t->asked_outside = true;
        return LEDGER_EINVAL;
    }
    if (level == 0) {
        memcpy(out, leaves[index], LEDGER_HASH_BYTES);
        return 0;
    }
    if (node(ud, level - 1, 2 * index, l) != 0 || node(ud, level - 1, 2 * index + 1, r) != 0)
        return LEDGER_EINVAL;
    ledger_merkle_node(out, l, r);
    return 0;
}

/* RFC 9162 2.1.1, as written there: MTH(D[lo:lo+n]). */
static void mth_ref(uint64_t lo, uint64_t n, uint8_t out[LEDGER_HASH_BYTES])
{
    uint8_t l[LEDGER_HASH_BYTES], r[LEDGER_HASH_BYTES];
    uint64_t k = 1;
    if (n == 1) {
        memcpy(out, leaves[lo], LEDGER_HASH_BYTES);
        return;
    }
    while (2 * k < n)
        k *= 2;
    mth_ref(lo, k, l);
    mth_ref(lo + k, n - k, r);
    ledger_merkle_node(out, l, r);
}

static void proofs(const uint8_t *data, size_t size)
{
    static bool made;
    uint8_t path[LEDGER_PROOF_MAX][LEDGER_HASH_BYTES], root[LEDGER_HASH_BYTES],
        old[LEDGER_HASH_BYTES], ref[LEDGER_HASH_BYTES], got[LEDGER_HASH_BYTES];
    size_t npath = 0;
    tree t;
    if (!made) {
        for (uint64_t i = 0; i < LEAVES_MAX; i++) {
            uint8_t b[8];
            ledger__u64be(b, i);
            FUZZ_CHECK(ledger__leaf_hash(leaves[i], b, sizeof(b)) == 0);
        }
        made = true;
    }
    if (size < 4)
        return;
    t.size = 1 + data[1] % LEAVES_MAX;
    t.asked_outside = false;
    const uint64_t index = data[2] % t.size, m = 1 + data[3] % t.size;

    FUZZ_CHECK(ledger_merkle_root_of(node, &t, t.size, root) == 0);
    mth_ref(0, t.size, ref);
    FUZZ_CHECK(memcmp(root, ref, LEDGER_HASH_BYTES) == 0);
    FUZZ_CHECK(ledger_merkle_root_of(node, &t, m, old) == 0);
    mth_ref(0, m, ref);
    FUZZ_CHECK(memcmp(old, ref, LEDGER_HASH_BYTES) == 0);

    FUZZ_CHECK(ledger_merkle_inclusion_of(node, &t, index, t.size, path, &npath) == 0);
    FUZZ_CHECK(ledger_merkle_verify_inclusion(leaves[index], index, t.size,
                                              (const uint8_t(*)[LEDGER_HASH_BYTES])path, npath,
                                              root) == 0);
    FUZZ_CHECK(ledger_merkle_inclusion_root(leaves[index], index, t.size,
                                            (const uint8_t(*)[LEDGER_HASH_BYTES])path, npath,
                                            got) == 0 &&
               memcmp(got, root, LEDGER_HASH_BYTES) == 0);
    if (npath > 0) {
        path[data[3] % npath][data[2] % LEDGER_HASH_BYTES] ^= 1;
        FUZZ_CHECK(ledger_merkle_verify_inclusion(leaves[index], index, t.size,
                                                  (const uint8_t(*)[LEDGER_HASH_BYTES])path, npath,
                                                  root) != 0);
    }
    FUZZ_CHECK(ledger_merkle_inclusion_of(node, &t, t.size, t.size, path, &npath) != 0);

    FUZZ_CHECK(ledger_merkle_consistency_of(node, &t, m, t.size, path, &npath) == 0);
    FUZZ_CHECK(ledger_merkle_verify_consistency(
                   m, t.size, old, root, (const uint8_t(*)[LEDGER_HASH_BYTES])path, npath) == 0);
    FUZZ_CHECK(ledger_merkle_consistency_root(
                   m, t.size, old, (const uint8_t(*)[LEDGER_HASH_BYTES])path, npath, got) == 0 &&
               memcmp(got, root, LEDGER_HASH_BYTES) == 0);
    if (npath > 0) {
        path[data[2] % npath][data[3] % LEDGER_HASH_BYTES] ^= 0x80;
        FUZZ_CHECK(ledger_merkle_verify_consistency(m, t.size, old, root,
                                                    (const uint8_t(*)[LEDGER_HASH_BYTES])path,
                                                    npath) != 0);
    }
    FUZZ_CHECK(!t.asked_outside);

    /* the verifiers over anything: sizes, indexes and paths from the input */
    if (size < 4 + 24)
        return;
    const uint64_t a = be64(data + 4), b = be64(data + 12), c = be64(data + 20);
    const uint8_t *rest = data + 28;
    npath = (size - 28) / LEDGER_HASH_BYTES;
    if (npath > LEDGER_PROOF_MAX + 1)
        npath = LEDGER_PROOF_MAX + 1;
    uint8_t(*raw)[LEDGER_HASH_BYTES] = malloc(LEDGER_HASH_BYTES * (npath ? npath : 1));
    if (raw == NULL)
        return;
    memcpy(raw, rest, npath * LEDGER_HASH_BYTES);
    const uint8_t(*cpath)[LEDGER_HASH_BYTES] = (const uint8_t(*)[LEDGER_HASH_BYTES])raw;
    if (ledger_merkle_inclusion_root(leaves[0], a, b, cpath, npath, got) == 0)
        FUZZ_CHECK(a < b && npath <= LEDGER_PROOF_MAX);
    int v = ledger_merkle_verify_inclusion(leaves[0], a, b, cpath, npath, root);
    FUZZ_CHECK(v == 0 || v == LEDGER_EVERIFY);
    if (ledger_merkle_consistency_root(a, b, old, cpath, npath, got) == 0)
        FUZZ_CHECK(a >= 1 && a <= b && npath <= LEDGER_PROOF_MAX);
    v = ledger_merkle_verify_consistency(b, c, old, root, cpath, npath);
    FUZZ_CHECK(v == 0 || v == LEDGER_EVERIFY);
    free(raw);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if ((data[0] & 1) == 0)
        receipt(data, size);
    else
        proofs(data, size);
    return 0;
}
