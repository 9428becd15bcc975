/* The RFC 9162 Merkle tree: MTH, inclusion and consistency proofs over any
 * source of perfect-subtree hashes, and their verification (pure functions). */
#include <openssl/evp.h>
#include <string.h>

#include "ledger/merkle.h"
#include "ledger_int.h"

void ledger_merkle_node(uint8_t out[LEDGER_HASH_BYTES], const uint8_t left[LEDGER_HASH_BYTES],
                        const uint8_t right[LEDGER_HASH_BYTES])
{
    uint8_t buf[1 + 2 * LEDGER_HASH_BYTES];
    buf[0] = 0x01;
    memcpy(buf + 1, left, LEDGER_HASH_BYTES);
    memcpy(buf + 1 + LEDGER_HASH_BYTES, right, LEDGER_HASH_BYTES);
    if (ledger__sha256_2(out, buf, sizeof(buf), NULL, 0) != 0)
        memset(out, 0, LEDGER_HASH_BYTES); /* cannot match any real node */
}

/* The largest power of two strictly below n (n >= 2). */
static uint64_t split(uint64_t n)
{
    uint64_t k = 1;
    /* k * 2 < n, written so that k never overflows (n may exceed 2^63) */
    while (k <= (n - 1) / 2)
        k <<= 1;
    return k;
}

static unsigned log2_exact(uint64_t n)
{
    unsigned l = 0;
    while (((uint64_t)1 << l) < n)
        l++;
    return l;
}

/* MTH of leaves [a, a+n): a perfect aligned range is one stored node. */
static int mth(ledger_node_fn get, void *ud, uint64_t a, uint64_t n, uint8_t out[LEDGER_HASH_BYTES])
{
    uint8_t left[LEDGER_HASH_BYTES], right[LEDGER_HASH_BYTES];
    int rc;
    if ((n & (n - 1)) == 0 && a % n == 0)
        return get(ud, log2_exact(n), a / n, out);
    uint64_t k = split(n);
    if ((rc = mth(get, ud, a, k, left)) != 0 || (rc = mth(get, ud, a + k, n - k, right)) != 0)
        return rc;
    ledger_merkle_node(out, left, right);
    return 0;
}

int ledger_merkle_root_of(ledger_node_fn get, void *ud, uint64_t size,
                          uint8_t root[LEDGER_HASH_BYTES])
{
    if (size == 0)
        return LEDGER_EINVAL;
    return mth(get, ud, 0, size, root);
}

/* Siblings are found top-down but listed bottom-up (leaf first): fill from the end. */
static int push_front(uint8_t path[][LEDGER_HASH_BYTES], size_t *n,
                      const uint8_t h[LEDGER_HASH_BYTES])
{
    if (*n == LEDGER_PROOF_MAX)
        return LEDGER_ETOOBIG;
    memmove(path[1], path[0], *n * LEDGER_HASH_BYTES);
    memcpy(path[0], h, LEDGER_HASH_BYTES);
    (*n)++;
    return 0;
}

int ledger_merkle_inclusion_of(ledger_node_fn get, void *ud, uint64_t index, uint64_t size,
                               uint8_t path[][LEDGER_HASH_BYTES], size_t *npath)
{
    uint8_t h[LEDGER_HASH_BYTES];
    uint64_t a = 0, n = size, m = index;
    int rc;
    *npath = 0;
    if (index >= size)
        return LEDGER_EINVAL;
    /* PATH(m, D[a:a+n]) = PATH(m, left) : MTH(right), or PATH(m-k, right) : MTH(left) */
    while (n > 1) {
        uint64_t k = split(n);
        if (m < k) {
            rc = mth(get, ud, a + k, n - k, h);
            n = k;
        } else {
            rc = mth(get, ud, a, k, h);
            a += k;
            m -= k;
            n -= k;
        }
        if (rc != 0 || (rc = push_front(path, npath, h)) != 0)
            return rc;
    }
    return 0;
}

int ledger_merkle_consistency_of(ledger_node_fn get, void *ud, uint64_t size1, uint64_t size2,
                                 uint8_t path[][LEDGER_HASH_BYTES], size_t *npath)
{
    uint8_t h[LEDGER_HASH_BYTES];
    uint64_t a = 0, n = size2, m = size1;
    bool b = true;
    int rc;
    *npath = 0;
    if (size1 == 0 || size1 > size2)
        return LEDGER_EINVAL;
    /* SUBPROOF(m, D[a:a+n], b) */
    while (m != n) {
        uint64_t k = split(n);
        if (m <= k) {
            rc = mth(get, ud, a + k, n - k, h);
            n = k;
        } else {
            rc = mth(get, ud, a, k, h);
            a += k;
            m -= k;
            n -= k;
            b = false;
        }
        if (rc != 0 || (rc = push_front(path, npath, h)) != 0)
            return rc;
    }
    if (!b) { /* SUBPROOF(m, D[m], false) = {MTH(D[m])} */
        if ((rc = mth(get, ud, a, n, h)) != 0 || (rc = push_front(path, npath, h)) != 0)
            return rc;
    }
    return 0;
}

/* RFC 9162: "right-shift fn and sn equally until either LSB(fn) is set or fn is 0" */
static void shift_to_odd(uint64_t *fn, uint64_t *sn)
{
    while ((*fn & 1) == 0 && *fn != 0) {
        *fn >>= 1;
        *sn >>= 1;
    }
}

int ledger_merkle_inclusion_root(const uint8_t leaf[LEDGER_HASH_BYTES], uint64_t index,
                                 uint64_t size, const uint8_t path[][LEDGER_HASH_BYTES],
                                 size_t npath, uint8_t root[LEDGER_HASH_BYTES])
{
    uint8_t r[LEDGER_HASH_BYTES];
    uint64_t fn = index, sn;
    if (size == 0 || index >= size || npath > LEDGER_PROOF_MAX)
        return LEDGER_EVERIFY;
    sn = size - 1;
    memcpy(r, leaf, LEDGER_HASH_BYTES);
    for (size_t i = 0; i < npath; i++) {
        if (sn == 0)
            return LEDGER_EVERIFY;
        if ((fn & 1) != 0 || fn == sn) {
            ledger_merkle_node(r, path[i], r);
            shift_to_odd(&fn, &sn);
        } else {
            ledger_merkle_node(r, r, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0)
        return LEDGER_EVERIFY;
    memcpy(root, r, LEDGER_HASH_BYTES);
    return 0;
}

int ledger_merkle_verify_inclusion(const uint8_t leaf[LEDGER_HASH_BYTES], uint64_t index,
                                   uint64_t size, const uint8_t path[][LEDGER_HASH_BYTES],
                                   size_t npath, const uint8_t root[LEDGER_HASH_BYTES])
{
    uint8_t r[LEDGER_HASH_BYTES];
    return ledger_merkle_inclusion_root(leaf, index, size, path, npath, r) == 0 &&
                   keys_equal(r, root, LEDGER_HASH_BYTES)
               ? 0
               : LEDGER_EVERIFY;
}

int ledger_merkle_consistency_root(uint64_t size1, uint64_t size2,
                                   const uint8_t root1[LEDGER_HASH_BYTES],
                                   const uint8_t path[][LEDGER_HASH_BYTES], size_t npath,
                                   uint8_t root2[LEDGER_HASH_BYTES])
{
    uint8_t fr[LEDGER_HASH_BYTES], sr[LEDGER_HASH_BYTES];
    uint64_t fn, sn;
    size_t i = 0;
    if (size1 == 0 || size1 > size2 || npath > LEDGER_PROOF_MAX)
        return LEDGER_EVERIFY;
    if (size1 == size2) {
        if (npath != 0)
            return LEDGER_EVERIFY;
        memcpy(root2, root1, LEDGER_HASH_BYTES);
        return 0;
    }
    if (npath == 0)
        return LEDGER_EVERIFY;
    /* When size1 is a power of two, its root is the first node of the path. */
    const bool pow2 = (size1 & (size1 - 1)) == 0;
    const uint8_t *first = pow2 ? root1 : path[0];
    if (!pow2)
        i = 1;
    fn = size1 - 1;
    sn = size2 - 1;
    while ((fn & 1) != 0) {
        fn >>= 1;
        sn >>= 1;
    }
    memcpy(fr, first, LEDGER_HASH_BYTES);
    memcpy(sr, first, LEDGER_HASH_BYTES);
    for (; i < npath; i++) {
        if (sn == 0)
            return LEDGER_EVERIFY;
        if ((fn & 1) != 0 || fn == sn) {
            ledger_merkle_node(fr, path[i], fr);
            ledger_merkle_node(sr, path[i], sr);
            shift_to_odd(&fn, &sn);
        } else {
            ledger_merkle_node(sr, sr, path[i]);
        }
        fn >>= 1;
        sn >>= 1;
    }
    if (sn != 0 || !keys_equal(fr, root1, LEDGER_HASH_BYTES))
        return LEDGER_EVERIFY;
    memcpy(root2, sr, LEDGER_HASH_BYTES);
    return 0;
}

int ledger_merkle_verify_consistency(uint64_t size1, uint64_t size2,
                                     const uint8_t root1[LEDGER_HASH_BYTES],
                                     const uint8_t root2[LEDGER_HASH_BYTES],
                                     const uint8_t path[][LEDGER_HASH_BYTES], size_t npath)
{
    uint8_t r[LEDGER_HASH_BYTES];
    return ledger_merkle_consistency_root(size1, size2, root1, path, npath, r) == 0 &&
                   keys_equal(r, root2, LEDGER_HASH_BYTES)
               ? 0
               : LEDGER_EVERIFY;
}
