/* Unit tests of the RFC 9162 Merkle tree: the proof algorithms over an
 * in-memory node source, checked against a reference written here from the
 * RFC text (section 2.1) and against the Certificate Transparency vectors,
 * then the tree the ledger keeps in LMDB. Real LMDB and OpenSSL. */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "test_util.h"

#include <lmdb.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "ledger/merkle.h"
#include "store_int.h"

#define HB       LEDGER_HASH_BYTES
#define T0       1795381500000 /* 2026-11-22T21:05:00Z */
#define N_LEDGER 70            /* entries in the ledger fixture */
#define N_SMALL  70            /* every size and index up to this, in memory */
#define N_CONS   40            /* every consistency pair up to this, in memory */

/* ---- the reference, written from RFC 9162 section 2.1 ---- */

/* SHA-256(0x00 || data) */
static void ref_leaf(uint8_t out[HB], const uint8_t *data, size_t len)
{
    static const uint8_t zero = 0x00;
    unsigned int n = 0;
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    assert_non_null(c);
    assert_int_equal(EVP_DigestInit_ex(c, EVP_sha256(), NULL), 1);
    assert_int_equal(EVP_DigestUpdate(c, &zero, 1), 1);
    assert_int_equal(EVP_DigestUpdate(c, data, len), 1);
    assert_int_equal(EVP_DigestFinal_ex(c, out, &n), 1);
    assert_int_equal(n, HB);
    EVP_MD_CTX_free(c);
}

/* SHA-256(0x01 || l || r); out may alias l or r */
static void ref_node(uint8_t out[HB], const uint8_t l[HB], const uint8_t r[HB])
{
    uint8_t buf[1 + 2 * HB];
    unsigned int n = 0;
    buf[0] = 0x01;
    memcpy(buf + 1, l, HB);
    memcpy(buf + 1 + HB, r, HB);
    assert_int_equal(EVP_Digest(buf, sizeof(buf), out, &n, EVP_sha256(), NULL), 1);
    assert_int_equal(n, HB);
}

/* k: the largest power of two smaller than n (n > 1), without overflow up to 2^64 - 1 */
static uint64_t ref_split(uint64_t n)
{
    uint64_t k = 1;
    while (k <= (n - 1) / 2)
        k <<= 1;
    return k;
}

static bool is_pow2(uint64_t n)
{
    return n != 0 && (n & (n - 1)) == 0;
}

static unsigned bits(uint64_t n)
{
    return n == 0 ? 0 : 64 - (unsigned)__builtin_clzll(n);
}

typedef struct proof {
    size_t n;
    uint8_t h[LEDGER_PROOF_MAX + 2][HB]; /* room to extend a proof in negative tests */
} proof;

static void push(proof *p, const uint8_t h[HB])
{
    assert_true(p->n < LEDGER_PROOF_MAX);
    memcpy(p->h[p->n++], h, HB);
}

/* MTH(D[n]) over the leaf hashes h[0..n) */
static void ref_mth(uint8_t out[HB], uint8_t (*h)[HB], uint64_t n)
{
    uint8_t l[HB], r[HB];
    assert_true(n >= 1);
    if (n == 1) {
        memcpy(out, h[0], HB);
        return;
    }
    uint64_t k = ref_split(n);
    ref_mth(l, h, k);
    ref_mth(r, h + k, n - k);
    ref_node(out, l, r);
}

/* PATH(m, D[n]) (2.1.3.1), appended to p */
static void ref_path_rec(proof *p, uint64_t m, uint8_t (*h)[HB], uint64_t n)
{
    uint8_t t[HB];
    if (n == 1)
        return;
    uint64_t k = ref_split(n);
    if (m < k) {
        ref_path_rec(p, m, h, k);
        ref_mth(t, h + k, n - k);
    } else {
        ref_path_rec(p, m - k, h + k, n - k);
        ref_mth(t, h, k);
    }
    push(p, t);
}

static void ref_path(proof *p, uint64_t m, uint8_t (*h)[HB], uint64_t n)
{
    p->n = 0;
    ref_path_rec(p, m, h, n);
}

/* SUBPROOF(m, D[n], b) (2.1.4.1), appended to p */
static void ref_subproof(proof *p, uint64_t m, uint8_t (*h)[HB], uint64_t n, bool b)
{
    uint8_t t[HB];
    if (m == n) {
        if (!b) {
            ref_mth(t, h, n);
            push(p, t);
        }
        return;
    }
    uint64_t k = ref_split(n);
    if (m <= k) {
        ref_subproof(p, m, h, k, b);
        ref_mth(t, h + k, n - k);
    } else {
        ref_subproof(p, m - k, h + k, n - k, false);
        ref_mth(t, h, k);
    }
    push(p, t);
}

/* PROOF(m, D[n]) = SUBPROOF(m, D[n], true) */
static void ref_proof(proof *p, uint64_t m, uint8_t (*h)[HB], uint64_t n)
{
    p->n = 0;
    ref_subproof(p, m, h, n, true);
}

/* Length of PATH(m, D[n]): the depth of leaf m. */
static size_t ref_path_len(uint64_t m, uint64_t n)
{
    size_t d = 0;
    while (n > 1) {
        uint64_t k = ref_split(n);
        if (m < k) {
            n = k;
        } else {
            m -= k;
            n -= k;
        }
        d++;
    }
    return d;
}

/* Length of PROOF(m, D[n]), following SUBPROOF. */
static size_t ref_proof_len(uint64_t m, uint64_t n)
{
    size_t d = 0;
    bool b = true;
    while (m != n) {
        uint64_t k = ref_split(n);
        if (m <= k) {
            n = k;
        } else {
            m -= k;
            n -= k;
            b = false;
        }
        d++;
    }
    return b ? d : d + 1;
}

/* ---- an in-memory node source over arbitrary leaves ---- */

typedef struct memsrc {
    uint8_t (*leaf)[HB]; /* leaf hashes */
    uint64_t n;          /* size of the tree asked about: no node beyond it exists yet */
    unsigned reads;
    int fail_rc; /* when non-zero, returned for node fail_level/fail_index */
    unsigned fail_level;
    uint64_t fail_index;
    unsigned nlog; /* the nodes read, in order */
    unsigned log_level[512];
    uint64_t log_index[512];
} memsrc;

/* Perfect subtree (level, index): the MTH of its 2^level leaves, computed afresh. */
static int mem_node(void *ud, unsigned level, uint64_t index, uint8_t out[HB])
{
    memsrc *s = ud;
    s->reads++;
    if (level >= 64 || index >= (s->n >> level)) {
        print_error("node %u/%llu read from a tree of %llu leaves\n", level,
                    (unsigned long long)index, (unsigned long long)s->n);
        fail();
    }
    if (s->nlog < 512) {
        s->log_level[s->nlog] = level;
        s->log_index[s->nlog++] = index;
    }
    if (s->fail_rc != 0 && level == s->fail_level && index == s->fail_index)
        return s->fail_rc;
    ref_mth(out, s->leaf + (index << level), (uint64_t)1 << level);
    return 0;
}

static memsrc *mem_new(uint8_t (*leaf)[HB], uint64_t n)
{
    memsrc *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    s->leaf = leaf;
    s->n = n;
    return s;
}

/* Distinct leaves of varying length: 8 bytes of a bijection of i, then 0..22 more. */
static uint8_t (*make_leaves(uint64_t n))[HB]
{
    uint8_t(*h)[HB] = calloc(n, HB);
    assert_non_null(h);
    for (uint64_t i = 0; i < n; i++) {
        uint8_t d[8 + 23];
        uint64_t v = i * 0x9E3779B97F4A7C15ull;
        size_t len = 8 + (size_t)(i % 23);
        for (size_t j = 0; j < 8; j++)
            d[j] = (uint8_t)(v >> (56 - 8 * j));
        for (size_t j = 8; j < len; j++)
            d[j] = (uint8_t)(i + j);
        ref_leaf(h[i], d, len);
    }
    return h;
}

static void flip(uint8_t *p, unsigned bit)
{
    p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
}

static int vinc(const uint8_t leaf[HB], uint64_t i, uint64_t n, const proof *p, size_t off,
                size_t np, const uint8_t root[HB])
{
    return ledger_merkle_verify_inclusion(leaf, i, n, p->h + off, np, root);
}

static int vcons(uint64_t m, uint64_t n, const uint8_t r1[HB], const uint8_t r2[HB], const proof *p,
                 size_t off, size_t np)
{
    return ledger_merkle_verify_consistency(m, n, r1, r2, p->h + off, np);
}

static void assert_same_proof(const proof *got, const proof *want)
{
    assert_int_equal(got->n, want->n);
    if (want->n > 0)
        assert_memory_equal(got->h, want->h, want->n * HB);
}

/* A root of another size, for "wrong size" checks. */
typedef struct sized_root {
    uint64_t size;
    uint8_t root[HB];
} sized_root;

/* One inclusion proof: equal to PATH, verifies, and nothing altered verifies. */
static void check_inclusion(uint8_t (*lh)[HB], uint64_t n, uint64_t i, const uint8_t root[HB],
                            const sized_root *other, size_t nother, bool all_bits)
{
    memsrc *s = mem_new(lh, n);
    proof got, want, x;
    uint8_t t[HB];
    size_t np = 999;
    memset(&got, 0, sizeof(got));
    ref_path(&want, i, lh, n);
    assert_int_equal(ledger_merkle_inclusion_of(mem_node, s, i, n, got.h, &np), 0);
    got.n = np;
    assert_same_proof(&got, &want);
    assert_true(s->reads <= bits(n) * bits(n)); /* no rescan: O(log^2 n) */
    free(s);
    assert_int_equal(vinc(lh[i], i, n, &got, 0, got.n, root), 0);

    /* any single bit flipped: in the leaf, in any path element, in the root */
    for (unsigned b = 0; b < 8 * HB; b++) {
        bool here = all_bits || b == (unsigned)((n * 37 + i * 11) % 256);
        if (!here)
            continue;
        memcpy(t, lh[i], HB);
        flip(t, b);
        assert_int_equal(vinc(t, i, n, &got, 0, got.n, root), LEDGER_EVERIFY);
        memcpy(t, root, HB);
        flip(t, b);
        assert_int_equal(vinc(lh[i], i, n, &got, 0, got.n, t), LEDGER_EVERIFY);
    }
    for (size_t e = 0; e < got.n; e++) {
        for (unsigned b = 0; b < 8 * HB; b++) {
            bool here = all_bits || b == (unsigned)((n * 37 + i * 11 + e * 101) % 256);
            if (!here)
                continue;
            flip(got.h[e], b);
            assert_int_equal(vinc(lh[i], i, n, &got, 0, got.n, root), LEDGER_EVERIFY);
            flip(got.h[e], b);
        }
    }

    /* the wrong index: every other leaf of a small tree, neighbours of a large one */
    for (uint64_t j = 0; j < n; j++) {
        bool here = n <= 2 * N_SMALL || j + 1 == i || j == i + 1 || j == n - 1 - i || j == 0 ||
                    j == n - 1 || j == (i ^ 1);
        if (here && j != i)
            assert_int_equal(vinc(lh[i], j, n, &got, 0, got.n, root), LEDGER_EVERIFY);
    }
    assert_int_equal(vinc(lh[i], n, n, &got, 0, got.n, root), LEDGER_EVERIFY);
    assert_int_equal(vinc(lh[i], UINT64_MAX, n, &got, 0, got.n, root), LEDGER_EVERIFY);

    /* the wrong size: against that size's own root it never verifies; against this
     * root it cannot when the leaf's depth differs (same depth and same turns may
     * legitimately recompute this root: the size is bound to the root by the caller) */
    for (size_t o = 0; o < nother; o++) {
        uint64_t n2 = other[o].size;
        if (n2 == n)
            continue;
        assert_int_equal(vinc(lh[i], i, n2, &got, 0, got.n, other[o].root), LEDGER_EVERIFY);
        if (i >= n2 || ref_path_len(i, n2) != got.n)
            assert_int_equal(vinc(lh[i], i, n2, &got, 0, got.n, root), LEDGER_EVERIFY);
    }
    assert_int_equal(vinc(lh[i], i, 0, &got, 0, got.n, root), LEDGER_EVERIFY);
    assert_int_equal(vinc(lh[i], i, UINT64_MAX, &got, 0, got.n, root), LEDGER_EVERIFY);
    /* the leaf's place in its top-level subtree, with the path stretched to the whole
     * tree: the right subtree's root and the left sibling would recompute the root */
    if (n > 1) {
        uint64_t k = ref_split(n);
        if (i >= k)
            assert_int_equal(vinc(lh[i], i - k, n - k, &got, 0, got.n, root), LEDGER_EVERIFY);
        else
            assert_int_equal(vinc(lh[i], i, k, &got, 0, got.n, root), LEDGER_EVERIFY);
    }

    /* one element shorter (either end), one longer (either end) */
    if (got.n > 0) {
        assert_int_equal(vinc(lh[i], i, n, &got, 0, got.n - 1, root), LEDGER_EVERIFY);
        assert_int_equal(vinc(lh[i], i, n, &got, 1, got.n - 1, root), LEDGER_EVERIFY);
    }
    x = got;
    memcpy(x.h[x.n], root, HB);
    assert_int_equal(vinc(lh[i], i, n, &x, 0, x.n + 1, root), LEDGER_EVERIFY);
    memset(x.h[x.n], 0, HB);
    assert_int_equal(vinc(lh[i], i, n, &x, 0, x.n + 1, root), LEDGER_EVERIFY);
    memcpy(x.h[0], lh[i], HB);
    memcpy(x.h[1], got.h, got.n * HB);
    assert_int_equal(vinc(lh[i], i, n, &x, 0, got.n + 1, root), LEDGER_EVERIFY);
    memcpy(x.h[0], root, HB);
    assert_int_equal(vinc(lh[i], i, n, &x, 0, got.n + 1, root), LEDGER_EVERIFY);
}

/* One consistency proof: equal to PROOF, verifies, and nothing altered verifies.
 * @p roots[s - 1] is the root of size s for every s <= nroots. */
static void check_consistency(uint8_t (*lh)[HB], uint64_t m, uint64_t n, const sized_root *roots,
                              uint64_t nroots, bool all_bits)
{
    memsrc *s = mem_new(lh, n);
    proof got, want, x;
    uint8_t t[HB];
    const uint8_t *r1 = roots[m - 1].root, *r2 = roots[n - 1].root;
    size_t np = 999;
    memset(&got, 0, sizeof(got));
    ref_proof(&want, m, lh, n);
    assert_int_equal(ledger_merkle_consistency_of(mem_node, s, m, n, got.h, &np), 0);
    got.n = np;
    assert_same_proof(&got, &want);
    assert_true(s->reads <= bits(n) * bits(n));
    free(s);
    assert_int_equal(vcons(m, n, r1, r2, &got, 0, got.n), 0);

    if (m == n) {
        /* the empty proof verifies only with equal roots */
        assert_int_equal(got.n, 0);
        for (uint64_t o = 1; o <= nroots; o++)
            if (o != m)
                assert_int_equal(vcons(m, n, r1, roots[o - 1].root, &got, 0, 0), LEDGER_EVERIFY);
        memcpy(t, r1, HB);
        flip(t, (unsigned)(m * 13 % 256));
        assert_int_equal(vcons(m, n, r1, t, &got, 0, 0), LEDGER_EVERIFY);
        assert_int_equal(vcons(m, n, t, r2, &got, 0, 0), LEDGER_EVERIFY);
        x = got;
        memcpy(x.h[0], r1, HB);
        assert_int_equal(vcons(m, n, r1, r2, &x, 0, 1), LEDGER_EVERIFY);
        return;
    }
    assert_true(got.n > 0);

    /* any single bit flipped: in either root, in any element */
    for (unsigned b = 0; b < 8 * HB; b++) {
        bool here = all_bits || b == (unsigned)((m * 37 + n * 11) % 256);
        if (!here)
            continue;
        memcpy(t, r1, HB);
        flip(t, b);
        assert_int_equal(vcons(m, n, t, r2, &got, 0, got.n), LEDGER_EVERIFY);
        memcpy(t, r2, HB);
        flip(t, b);
        assert_int_equal(vcons(m, n, r1, t, &got, 0, got.n), LEDGER_EVERIFY);
    }
    for (size_t e = 0; e < got.n; e++) {
        for (unsigned b = 0; b < 8 * HB; b++) {
            bool here = all_bits || b == (unsigned)((m * 37 + n * 11 + e * 101) % 256);
            if (!here)
                continue;
            flip(got.h[e], b);
            assert_int_equal(vcons(m, n, r1, r2, &got, 0, got.n), LEDGER_EVERIFY);
            flip(got.h[e], b);
        }
    }

    /* swapped roots */
    assert_int_equal(vcons(m, n, r2, r1, &got, 0, got.n), LEDGER_EVERIFY);
    assert_int_equal(vcons(m, n, r1, r1, &got, 0, got.n), LEDGER_EVERIFY);
    assert_int_equal(vcons(m, n, r2, r2, &got, 0, got.n), LEDGER_EVERIFY);

    /* wrong sizes, each with its own honest root: size1 or size2 anything else, or both off
     * by one. With these same roots another size may legitimately verify when its proof
     * has the same shape (a verifier binds size and root together), never when its proof
     * has another length. */
    for (uint64_t o = 1; o <= nroots; o++) {
        if (o != m) {
            assert_int_equal(vcons(o, n, roots[o - 1].root, r2, &got, 0, got.n), LEDGER_EVERIFY);
            if (o > n || ref_proof_len(o, n) != got.n)
                assert_int_equal(vcons(o, n, r1, r2, &got, 0, got.n), LEDGER_EVERIFY);
        }
        if (o != n) {
            assert_int_equal(vcons(m, o, r1, roots[o - 1].root, &got, 0, got.n), LEDGER_EVERIFY);
            if (o < m || ref_proof_len(m, o) != got.n)
                assert_int_equal(vcons(m, o, r1, r2, &got, 0, got.n), LEDGER_EVERIFY);
        }
    }
    for (int dm = -1; dm <= 1; dm += 2) {
        for (int dn = -1; dn <= 1; dn += 2) {
            uint64_t m2 = m + (uint64_t)(int64_t)dm, n2 = n + (uint64_t)(int64_t)dn;
            if (m2 >= 1 && m2 <= nroots && n2 >= 1 && n2 <= nroots)
                assert_int_equal(
                    vcons(m2, n2, roots[m2 - 1].root, roots[n2 - 1].root, &got, 0, got.n),
                    LEDGER_EVERIFY);
        }
    }
    assert_int_equal(vcons(0, n, r1, r2, &got, 0, got.n), LEDGER_EVERIFY);
    assert_int_equal(vcons(n + 1, n, r1, r2, &got, 0, got.n), LEDGER_EVERIFY);

    /* truncated at either end, extended at either end */
    assert_int_equal(vcons(m, n, r1, r2, &got, 0, got.n - 1), LEDGER_EVERIFY);
    assert_int_equal(vcons(m, n, r1, r2, &got, 1, got.n - 1), LEDGER_EVERIFY);
    x = got;
    memcpy(x.h[x.n], r2, HB);
    assert_int_equal(vcons(m, n, r1, r2, &x, 0, x.n + 1), LEDGER_EVERIFY);
    memset(x.h[x.n], 0, HB);
    assert_int_equal(vcons(m, n, r1, r2, &x, 0, x.n + 1), LEDGER_EVERIFY);
    memcpy(x.h[0], r1, HB); /* a prover that always sends the old root first */
    memcpy(x.h[1], got.h, got.n * HB);
    assert_int_equal(vcons(m, n, r1, r2, &x, 0, got.n + 1), LEDGER_EVERIFY);
    memset(x.h[0], 0, HB);
    assert_int_equal(vcons(m, n, r1, r2, &x, 0, got.n + 1), LEDGER_EVERIFY);
}

static sized_root *all_roots(uint8_t (*lh)[HB], uint64_t n)
{
    sized_root *r = calloc(n, sizeof(*r));
    assert_non_null(r);
    for (uint64_t s = 1; s <= n; s++) {
        r[s - 1].size = s;
        ref_mth(r[s - 1].root, lh, s);
    }
    return r;
}

static void unhex(uint8_t *out, size_t cap, const char *hex, size_t *n)
{
    size_t len = strlen(hex);
    assert_int_equal(len % 2, 0);
    assert_true(len / 2 <= cap);
    for (size_t i = 0; i < len; i += 2) {
        unsigned v;
        assert_int_equal(sscanf(hex + i, "%2x", &v), 1);
        out[i / 2] = (uint8_t)v;
    }
    *n = len / 2;
}

static void unhex32(uint8_t out[HB], const char *hex)
{
    size_t n = 0;
    unhex(out, HB, hex, &n);
    assert_int_equal(n, HB);
}

/* ---- the interior node ---- */

static void test_merkle_node_is_rfc_interior_hash(void **state)
{
    uint8_t a[HB], b[HB], got[HB], want[HB], plain[HB];
    unsigned int n = 0;
    uint8_t cat[2 * HB];
    (void)state;
    ref_leaf(a, (const uint8_t *)"a", 1);
    ref_leaf(b, (const uint8_t *)"b", 1);
    ledger_merkle_node(got, a, b);
    ref_node(want, a, b);
    assert_memory_equal(got, want, HB);
    /* order matters, and the 0x01 prefix separates it from a plain hash of the pair */
    ledger_merkle_node(got, b, a);
    assert_memory_not_equal(got, want, HB);
    memcpy(cat, a, HB);
    memcpy(cat + HB, b, HB);
    assert_int_equal(EVP_Digest(cat, sizeof(cat), plain, &n, EVP_sha256(), NULL), 1);
    assert_memory_not_equal(plain, want, HB);
    /* output may alias an input, as the tree code relies on */
    memcpy(got, b, HB);
    ledger_merkle_node(got, a, got);
    assert_memory_equal(got, want, HB);
}

/* ---- RFC 9162 / Certificate Transparency vectors ---- */

/* The 8 leaves of the CT reference tests (merkle_tree_test / RFC 6962 test data). The
 * expected values below were recomputed with an independent Python MTH/PATH/SUBPROOF
 * (hashlib, written from RFC 9162 2.1) and agree with the published CT values. */
static const char *const ct_leaf_hex[8] = {
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
};

static const char *const ct_root_hex[8] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

typedef struct ct_proof {
    uint64_t a, n; /* leaf index (inclusion) or old size (consistency); tree size */
    size_t len;
    const char *hex[3];
} ct_proof;

static const ct_proof ct_inclusion[] = {
    {0, 1, 0, {NULL, NULL, NULL}},
    {0,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     3,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, 1, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125", NULL, NULL}},
    {1,
     5,
     3,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

static const ct_proof ct_consistency[] = {
    {1, 1, 0, {NULL, NULL, NULL}},
    {1,
     8,
     3,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     3,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     2,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b", NULL}},
};

static void ct_want(proof *want, const ct_proof *v)
{
    want->n = v->len;
    for (size_t j = 0; j < v->len; j++)
        unhex32(want->h[j], v->hex[j]);
}

static void test_merkle_ct_vectors(void **state)
{
    uint8_t lh[8][HB], roots[8][HB], got[HB], data[16];
    proof p, want;
    size_t len, np;
    (void)state;
    for (size_t i = 0; i < 8; i++) {
        unhex(data, sizeof(data), ct_leaf_hex[i], &len);
        ref_leaf(lh[i], data, len);
    }
    /* the empty leaf's hash is the root of size 1 */
    unhex32(got, ct_root_hex[0]);
    assert_memory_equal(lh[0], got, HB);
    for (uint64_t n = 1; n <= 8; n++) {
        memsrc *s = mem_new(lh, n);
        unhex32(roots[n - 1], ct_root_hex[n - 1]);
        ref_mth(got, lh, n); /* the reference agrees with the vectors */
        assert_memory_equal(got, roots[n - 1], HB);
        memset(got, 0, HB);
        assert_int_equal(ledger_merkle_root_of(mem_node, s, n, got), 0);
        assert_memory_equal(got, roots[n - 1], HB);
        assert_int_equal(s->reads, (unsigned)__builtin_popcountll(n));
        free(s);
    }
    for (size_t v = 0; v < sizeof(ct_inclusion) / sizeof(ct_inclusion[0]); v++) {
        const ct_proof *c = &ct_inclusion[v];
        memsrc *s = mem_new(lh, c->n);
        ct_want(&want, c);
        ref_path(&p, c->a, lh, c->n);
        assert_same_proof(&p, &want);
        memset(&p, 0, sizeof(p));
        assert_int_equal(ledger_merkle_inclusion_of(mem_node, s, c->a, c->n, p.h, &np), 0);
        p.n = np;
        assert_same_proof(&p, &want);
        assert_int_equal(vinc(lh[c->a], c->a, c->n, &want, 0, want.n, roots[c->n - 1]), 0);
        free(s);
    }
    for (size_t v = 0; v < sizeof(ct_consistency) / sizeof(ct_consistency[0]); v++) {
        const ct_proof *c = &ct_consistency[v];
        memsrc *s = mem_new(lh, c->n);
        ct_want(&want, c);
        ref_proof(&p, c->a, lh, c->n);
        assert_same_proof(&p, &want);
        memset(&p, 0, sizeof(p));
        assert_int_equal(ledger_merkle_consistency_of(mem_node, s, c->a, c->n, p.h, &np), 0);
        p.n = np;
        assert_same_proof(&p, &want);
        assert_int_equal(vcons(c->a, c->n, roots[c->a - 1], roots[c->n - 1], &want, 0, want.n), 0);
        free(s);
    }
}

/* ---- the algorithms against the reference, in memory ---- */

static void test_merkle_root_matches_reference(void **state)
{
    uint8_t(*lh)[HB] = make_leaves(N_SMALL + 64);
    uint8_t got[HB], want[HB];
    (void)state;
    for (uint64_t n = 1; n <= N_SMALL + 64; n++) {
        memsrc *s = mem_new(lh, n);
        ref_mth(want, lh, n);
        memset(got, 0, HB);
        assert_int_equal(ledger_merkle_root_of(mem_node, s, n, got), 0);
        assert_memory_equal(got, want, HB);
        /* one stored node per set bit of the size: no rescan of the leaves */
        assert_int_equal(s->reads, (unsigned)__builtin_popcountll(n));
        free(s);
    }
    free(lh);
}

static void test_merkle_inclusion_round_trip(void **state)
{
    uint8_t(*lh)[HB] = make_leaves(N_SMALL);
    sized_root *roots = all_roots(lh, N_SMALL);
    (void)state;
    for (uint64_t n = 1; n <= N_SMALL; n++) {
        /* every bit of everything for a few sizes, a rotating bit for the rest */
        bool all_bits = n == 1 || n == 2 || n == 3 || n == 7 || n == 8 || n == 13 || n == 70;
        for (uint64_t i = 0; i < n; i++)
            check_inclusion(lh, n, i, roots[n - 1].root, roots, N_SMALL, all_bits);
    }
    free(roots);
    free(lh);
}

static void test_merkle_inclusion_large_trees(void **state)
{
    static const uint64_t sizes[] = {1000, 4097, 65537};
    uint8_t(*lh)[HB] = make_leaves(65537 + 1);
    (void)state;
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        uint64_t n = sizes[z];
        uint8_t root[HB], got[HB];
        sized_root other[2];
        memsrc *s = mem_new(lh, n);
        ref_mth(root, lh, n);
        assert_int_equal(ledger_merkle_root_of(mem_node, s, n, got), 0);
        assert_memory_equal(got, root, HB);
        free(s);
        other[0].size = n - 1;
        ref_mth(other[0].root, lh, n - 1);
        other[1].size = n + 1;
        ref_mth(other[1].root, lh, n + 1);
        uint64_t idx[48];
        size_t ni = 0;
        idx[ni++] = 0;
        idx[ni++] = n / 2;
        idx[ni++] = n - 2;
        idx[ni++] = n - 1;
        for (uint64_t p = 1; p < n; p <<= (n > 5000 ? 3 : 1)) {
            idx[ni++] = p;
            idx[ni++] = p - 1 == 0 ? 1 : p - 1;
        }
        for (size_t k = 0; k < ni; k++)
            check_inclusion(lh, n, idx[k], root, other, 2, false);
    }
    free(lh);
}

static void test_merkle_consistency_round_trip(void **state)
{
    uint8_t(*lh)[HB] = make_leaves(N_CONS);
    sized_root *roots = all_roots(lh, N_CONS);
    (void)state;
    for (uint64_t n = 1; n <= N_CONS; n++) {
        bool all_bits = n == 5 || n == 8 || n == N_CONS;
        for (uint64_t m = 1; m <= n; m++)
            check_consistency(lh, m, n, roots, N_CONS, all_bits);
    }
    free(roots);
    free(lh);
}

static void test_merkle_consistency_equal_sizes(void **state)
{
    uint8_t(*lh)[HB] = make_leaves(N_CONS);
    sized_root *roots = all_roots(lh, N_CONS);
    proof p;
    (void)state;
    for (uint64_t n = 1; n <= N_CONS; n++) {
        memsrc *s = mem_new(lh, n);
        size_t np = 999;
        assert_int_equal(ledger_merkle_consistency_of(mem_node, s, n, n, p.h, &np), 0);
        assert_int_equal(np, 0);
        assert_int_equal(s->reads, 0);
        free(s);
        p.n = 0;
        assert_int_equal(vcons(n, n, roots[n - 1].root, roots[n - 1].root, &p, 0, 0), 0);
        /* a different root, even one of a real tree, does not verify */
        if (n > 1)
            assert_int_equal(vcons(n, n, roots[n - 1].root, roots[n - 2].root, &p, 0, 0),
                             LEDGER_EVERIFY);
        /* nor does a non-empty proof, even the root itself */
        memcpy(p.h[0], roots[n - 1].root, HB);
        assert_int_equal(vcons(n, n, roots[n - 1].root, roots[n - 1].root, &p, 0, 1),
                         LEDGER_EVERIFY);
    }
    free(roots);
    free(lh);
}

static void test_merkle_bad_arguments(void **state)
{
    uint8_t(*lh)[HB] = make_leaves(16);
    memsrc *s = mem_new(lh, 13);
    uint8_t root[HB], r2[HB];
    proof p;
    size_t np;
    (void)state;
    ref_mth(root, lh, 13);
    ref_mth(r2, lh, 12);
    memset(&p, 0, sizeof(p));
    assert_int_equal(ledger_merkle_root_of(mem_node, s, 0, root), LEDGER_EINVAL);
    np = 999;
    assert_int_equal(ledger_merkle_inclusion_of(mem_node, s, 13, 13, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(np, 0);
    assert_int_equal(ledger_merkle_inclusion_of(mem_node, s, UINT64_MAX, 13, p.h, &np),
                     LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_inclusion_of(mem_node, s, 0, 0, p.h, &np), LEDGER_EINVAL);
    np = 999;
    assert_int_equal(ledger_merkle_consistency_of(mem_node, s, 0, 13, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(np, 0);
    assert_int_equal(ledger_merkle_consistency_of(mem_node, s, 13, 12, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_consistency_of(mem_node, s, 0, 0, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(s->reads, 0);

    /* the verifiers refuse impossible shapes outright */
    ref_path(&p, 3, lh, 13);
    assert_int_equal(vinc(lh[3], 3, 13, &p, 0, p.n, root), 0);
    assert_int_equal(vinc(lh[3], 3, 0, &p, 0, p.n, root), LEDGER_EVERIFY);
    assert_int_equal(vinc(lh[0], 0, 0, &p, 0, 0, lh[0]), LEDGER_EVERIFY);
    assert_int_equal(vinc(lh[0], 0, 1, &p, 0, LEDGER_PROOF_MAX + 1, lh[0]), LEDGER_EVERIFY);
    assert_int_equal(vinc(lh[0], 0, 1, &p, 0, 0, lh[0]), 0); /* size 1: the leaf is the root */
    ref_proof(&p, 12, lh, 13);
    assert_int_equal(vcons(12, 13, r2, root, &p, 0, p.n), 0);
    assert_int_equal(vcons(0, 13, r2, root, &p, 0, p.n), LEDGER_EVERIFY);
    assert_int_equal(vcons(0, 0, r2, r2, &p, 0, 0), LEDGER_EVERIFY);
    assert_int_equal(vcons(14, 13, r2, root, &p, 0, p.n), LEDGER_EVERIFY);
    assert_int_equal(vcons(12, 13, r2, root, &p, 0, LEDGER_PROOF_MAX + 1), LEDGER_EVERIFY);
    assert_int_equal(vcons(12, 13, r2, root, &p, 0, 0), LEDGER_EVERIFY);
    free(s);
    free(lh);
}

/* A failing node read is returned as it is, whichever node it is. */
static void test_merkle_node_errors_propagate(void **state)
{
    uint8_t(*lh)[HB] = make_leaves(N_SMALL);
    (void)state;
    for (uint64_t n = 2; n <= N_SMALL; n += 7) {
        for (int op = 0; op < 3; op++) {
            uint64_t a = (n * 5 / 7) % n; /* an index; as an old size a + 1 */
            memsrc *s = mem_new(lh, n);
            uint8_t root[HB];
            proof p;
            size_t np;
            int rc = op == 0   ? ledger_merkle_root_of(mem_node, s, n, root)
                     : op == 1 ? ledger_merkle_inclusion_of(mem_node, s, a, n, p.h, &np)
                               : ledger_merkle_consistency_of(mem_node, s, a + 1, n, p.h, &np);
            assert_int_equal(rc, 0);
            unsigned nlog = s->nlog;
            assert_true(nlog > 0 || (op == 2 && a + 1 == n));
            for (unsigned r = 0; r < nlog; r++) {
                memsrc *f = mem_new(lh, n);
                f->fail_rc = r % 2 == 0 ? LEDGER_EIO : LEDGER_EENCODING;
                f->fail_level = s->log_level[r];
                f->fail_index = s->log_index[r];
                rc = op == 0   ? ledger_merkle_root_of(mem_node, f, n, root)
                     : op == 1 ? ledger_merkle_inclusion_of(mem_node, f, a, n, p.h, &np)
                               : ledger_merkle_consistency_of(mem_node, f, a + 1, n, p.h, &np);
                assert_int_equal(rc, f->fail_rc);
                free(f);
            }
            free(s);
        }
    }
    free(lh);
}

/* ---- very large trees of identical leaves ---- */

/* With identical leaves the perfect subtree of level k is u[k] wherever it is, and the
 * MTH of any range depends only on its size: trees up to 2^64 - 1 leaves are cheap. */
static uint8_t uni[64][HB];

static void uni_init(void)
{
    ref_leaf(uni[0], (const uint8_t *)"rxledger", 8);
    for (unsigned k = 1; k < 64; k++)
        ref_node(uni[k], uni[k - 1], uni[k - 1]);
}

static unsigned lg(uint64_t pow2)
{
    return (unsigned)__builtin_ctzll(pow2);
}

static void uni_mth(uint8_t out[HB], uint64_t n)
{
    uint8_t r[HB];
    if (is_pow2(n)) {
        memcpy(out, uni[lg(n)], HB);
        return;
    }
    uint64_t k = ref_split(n);
    uni_mth(r, n - k);
    ref_node(out, uni[lg(k)], r);
}

static void uni_path(proof *p, uint64_t m, uint64_t n)
{
    uint8_t t[HB];
    if (n == 1)
        return;
    uint64_t k = ref_split(n);
    if (m < k) {
        uni_path(p, m, k);
        uni_mth(t, n - k);
    } else {
        uni_path(p, m - k, n - k);
        memcpy(t, uni[lg(k)], HB);
    }
    push(p, t);
}

static void uni_subproof(proof *p, uint64_t m, uint64_t n, bool b)
{
    uint8_t t[HB];
    if (m == n) {
        if (!b) {
            uni_mth(t, n);
            push(p, t);
        }
        return;
    }
    uint64_t k = ref_split(n);
    if (m <= k) {
        uni_subproof(p, m, k, b);
        uni_mth(t, n - k);
    } else {
        uni_subproof(p, m - k, n - k, false);
        memcpy(t, uni[lg(k)], HB);
    }
    push(p, t);
}

typedef struct unisrc {
    uint64_t n;
    bool bad; /* a node outside the tree was asked for */
} unisrc;

static int uni_node(void *ud, unsigned level, uint64_t index, uint8_t out[HB])
{
    unisrc *s = ud;
    if (level >= 64 || index >= (s->n >> level)) {
        s->bad = true;
        return LEDGER_EINVAL;
    }
    memcpy(out, uni[level], HB);
    return 0;
}

static void test_merkle_huge_trees(void **state)
{
    static const uint64_t sizes[] = {
        ((uint64_t)1 << 32) + 1, ((uint64_t)1 << 40) + 12345, ((uint64_t)1 << 62) + 3,
        ((uint64_t)1 << 63) - 1, (uint64_t)1 << 63,
    };
    (void)state;
    uni_init();
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        uint64_t n = sizes[z];
        uint64_t pts[] = {0, 1, n / 3, n / 2, (uint64_t)1 << 31, (uint64_t)1 << 32, n - 2, n - 1};
        unisrc s = {n, false};
        uint8_t root[HB], want[HB], t[HB];
        proof got, ref;
        size_t np;
        uni_mth(want, n);
        assert_int_equal(ledger_merkle_root_of(uni_node, &s, n, root), 0);
        assert_memory_equal(root, want, HB);
        for (size_t k = 0; k < sizeof(pts) / sizeof(pts[0]); k++) {
            uint64_t i = pts[k];
            ref.n = 0;
            uni_path(&ref, i, n);
            assert_int_equal(ledger_merkle_inclusion_of(uni_node, &s, i, n, got.h, &np), 0);
            got.n = np;
            assert_same_proof(&got, &ref);
            assert_int_equal(vinc(uni[0], i, n, &got, 0, got.n, root), 0);
            flip(got.h[got.n - 1], 7);
            assert_int_equal(vinc(uni[0], i, n, &got, 0, got.n, root), LEDGER_EVERIFY);
            memcpy(t, root, HB);
            flip(t, 200);
            assert_int_equal(vinc(uni[0], i, n, &ref, 0, ref.n, t), LEDGER_EVERIFY);

            uint64_t m = i + 1; /* an old size */
            uint8_t r1[HB];
            uni_mth(r1, m);
            ref.n = 0;
            uni_subproof(&ref, m, n, true);
            assert_int_equal(ledger_merkle_consistency_of(uni_node, &s, m, n, got.h, &np), 0);
            got.n = np;
            assert_same_proof(&got, &ref);
            assert_int_equal(vcons(m, n, r1, root, &got, 0, got.n), 0);
            if (got.n > 0) {
                flip(got.h[0], 3);
                assert_int_equal(vcons(m, n, r1, root, &got, 0, got.n), LEDGER_EVERIFY);
            }
        }
        assert_false(s.bad);
    }
    /* the longest proofs fit LEDGER_PROOF_MAX: 63 + 1 elements */
    {
        unisrc s = {(uint64_t)1 << 63, false};
        proof got;
        size_t np;
        assert_int_equal(ledger_merkle_consistency_of(uni_node, &s, ((uint64_t)1 << 63) - 1,
                                                      (uint64_t)1 << 63, got.h, &np),
                         0);
        assert_int_equal(np, LEDGER_PROOF_MAX);
        assert_false(s.bad);
    }
}

/* What the child reports: 0 answered correctly or declined, else what went wrong. */
static int huge_child(void)
{
    static const uint64_t sizes[] = {((uint64_t)1 << 63) + 1, UINT64_MAX};
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        uint64_t n = sizes[z];
        unisrc s = {n, false};
        uint8_t got[HB], want[HB];
        proof p, ref;
        size_t np = 0;
        int rc = ledger_merkle_root_of(uni_node, &s, n, got);
        uni_mth(want, n);
        if (s.bad || (rc == 0 && memcmp(got, want, HB) != 0))
            return 1;
        if (rc != 0 && rc != LEDGER_EINVAL && rc != LEDGER_ETOOBIG)
            return 2;
        rc = ledger_merkle_inclusion_of(uni_node, &s, n - 1, n, p.h, &np);
        ref.n = 0;
        uni_path(&ref, n - 1, n);
        if (s.bad || (rc == 0 && (np != ref.n || memcmp(p.h, ref.h, np * HB) != 0)))
            return 3;
        rc = ledger_merkle_consistency_of(uni_node, &s, n - 1, n, p.h, &np);
        if (s.bad || (rc != 0 && rc != LEDGER_EINVAL && rc != LEDGER_ETOOBIG))
            return 4;
    }
    return 0;
}

static void test_merkle_sizes_above_2_63_terminate(void **state)
{
    /* BUG: split() in merkle.c finds k with `while (k << 1 < n) k <<= 1`; for any size
     * above 2^63, k << 1 wraps to 0 once k reaches 2^63, k becomes 0 and the loop never
     * ends, so ledger_merkle_root_of / _inclusion_of / _consistency_of hang on sizes the
     * header accepts (size >= 1) instead of answering or returning an error. The child
     * is killed by an alarm so this fails instead of hanging the suite. */
    int status = 0;
    (void)state;
    uni_init();
    (void)fflush(stdout);
    (void)fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(3);
        _exit(huge_child());
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
        print_error("the Merkle functions did not return within 3 s for a size above 2^63\n");
        fail();
    }
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* ---- the tree the ledger keeps ---- */

typedef struct lfx {
    char dir[64];
    ledger *l;
    keys_key *site, *pharm, *stranger;
    int64_t now;
    uint64_t count;
    uint8_t leaf[N_LEDGER + 8][HB]; /* entry hashes, read back with ledger_iter */
} lfx;

static void rm_rf(const char *dir)
{
    assert_int_equal(rxt_rm_rf(dir), 0);
}

static ledger_body *note_body(const char *text)
{
    ledger_body *b = NULL;
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", text), 0);
    return b;
}

static int note(lfx *f, keys_key *k, int64_t rt)
{
    ledger_body *b = note_body("merkle");
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    o.recorded_ms = rt;
    int rc = ledger_append(f->l, k, &o, NULL);
    ledger_body_free(b);
    return rc;
}

/* Several notes in one write transaction; the last one by @p last. */
typedef struct batch {
    lfx *f;
    int64_t rt;
    int n;
    keys_key *last;
} batch;

static int batch_fn(ledger_txn *t, void *ud)
{
    batch *b = ud;
    ledger_body *body = NULL;
    int rc = ledger_body_new(&body);
    if (rc == 0)
        rc = ledger_body_put_text(body, "text", "batched");
    for (int i = 0; rc == 0 && i < b->n; i++) {
        ledger_append_opts o = LEDGER_APPEND_INIT;
        o.type = "note";
        o.body = body;
        o.recorded_ms = b->rt + i;
        rc = ledger_txn_append(t, i == b->n - 1 ? b->last : b->f->pharm, &o, NULL);
    }
    ledger_body_free(body);
    return rc;
}

static void enroll_pharm(lfx *f)
{
    assert_int_equal(rxt_enroll(f->l, f->site, f->pharm, "Jane Roe, PharmD", "pharmacist",
                                T0 - 1000000000000, 0, f->now),
                     0);
}

/* Read every entry back; its hash must be SHA-256(0x00 || its bytes). */
static void load_leaves(lfx *f)
{
    ledger_iter *it = NULL;
    ledger_entry e;
    uint8_t head[HB], h[HB];
    uint64_t n = 0, count = 0;
    int rc;
    assert_int_equal(ledger_iter_open(&it, f->l, 0), 0);
    while ((rc = ledger_iter_next(it, &e)) == 0) {
        assert_int_equal(e.seq, n);
        assert_true(n < N_LEDGER + 8);
        ref_leaf(h, e.bytes, e.len);
        assert_memory_equal(h, e.hash, HB);
        memcpy(f->leaf[n++], e.hash, HB);
    }
    assert_int_equal(rc, 1);
    ledger_iter_free(it);
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, n);
    f->count = n;
}

static int setup_empty(void **state)
{
    lfx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "/tmp/rxl-merkle-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_generate(&f->site), 0);
    assert_int_equal(keys_generate(&f->pharm), 0);
    assert_int_equal(keys_generate(&f->stranger), 0);
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err)), 0);
    *state = f;
    return 0;
}

/* genesis, an enrolment, 8 notes in one transaction, then single notes up to N_LEDGER */
static int setup_ledger(void **state)
{
    lfx *f;
    setup_empty(state);
    f = *state;
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    f->now = ledger__now_ms(); /* genesis got the real clock; the rest follow it */
    enroll_pharm(f);
    batch b = {f, f->now + 2, 8, f->pharm};
    assert_int_equal(ledger_transact(f->l, batch_fn, &b), 0);
    for (int64_t seq = 10; seq < N_LEDGER; seq++)
        assert_int_equal(note(f, f->pharm, f->now + seq), 0);
    load_leaves(f);
    assert_int_equal(f->count, N_LEDGER);
    return 0;
}

static int teardown(void **state)
{
    lfx *f = *state;
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->pharm);
    keys_free(f->stranger);
    rm_rf(f->dir);
    free(f);
    return 0;
}

static void verify_ok(lfx *f)
{
    ledger_verify_result r;
    assert_int_equal(rxt_verify(f->l, &r), 0);
    assert_false(r.failed);
    assert_int_equal(r.entries, f->count);
}

static uint64_t stored_nodes(lfx *f)
{
    MDB_txn *txn;
    MDB_stat st;
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, MDB_RDONLY, &txn), 0);
    assert_int_equal(mdb_stat(txn, f->l->merkle, &st), 0);
    mdb_txn_abort(txn);
    return st.ms_entries;
}

static void node_key(uint8_t kb[9], unsigned level, uint64_t index)
{
    kb[0] = (uint8_t)level;
    for (int j = 0; j < 8; j++)
        kb[1 + j] = (uint8_t)(index >> (56 - 8 * j));
}

/* Read a stored node straight from LMDB: 0, or MDB_NOTFOUND. */
static int raw_get(lfx *f, unsigned level, uint64_t index, uint8_t out[HB])
{
    MDB_txn *txn;
    uint8_t kb[9];
    MDB_val k = {sizeof(kb), kb}, v;
    node_key(kb, level, index);
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, MDB_RDONLY, &txn), 0);
    int rc = mdb_get(txn, f->l->merkle, &k, &v);
    if (rc == 0) {
        assert_int_equal(v.mv_size, HB);
        memcpy(out, v.mv_data, HB);
    }
    mdb_txn_abort(txn);
    return rc;
}

static void raw_put(lfx *f, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_put(txn, f->l->merkle, &k, &v, 0), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void raw_del(lfx *f, const uint8_t *key, size_t klen)
{
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key};
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    assert_int_equal(mdb_del(txn, f->l->merkle, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

static void check_roots(lfx *f, uint8_t (*roots)[HB])
{
    uint8_t got[HB];
    for (uint64_t s = 1; s <= f->count; s++) {
        memset(got, 0, HB);
        assert_int_equal(ledger_merkle_root(f->l, s, got), 0);
        assert_memory_equal(got, roots[s], HB);
    }
}

static void test_merkle_ledger_empty_then_genesis(void **state)
{
    lfx *f = *state;
    uint8_t root[HB], head[HB];
    proof p;
    size_t np = 999;
    uint64_t count = 0;
    /* no entries, no tree */
    assert_int_equal(ledger_merkle_root(f->l, 0, root), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_root(f->l, 1, root), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_inclusion(f->l, 0, 1, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_consistency(f->l, 1, 1, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(stored_nodes(f), 0);
    /* one entry: the root is its hash, its proof is empty */
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, 1);
    assert_int_equal(ledger_merkle_root(f->l, 1, root), 0);
    assert_memory_equal(root, head, HB);
    assert_int_equal(ledger_merkle_inclusion(f->l, 0, 1, p.h, &np), 0);
    assert_int_equal(np, 0);
    p.n = 0;
    assert_int_equal(vinc(head, 0, 1, &p, 0, 0, root), 0);
    np = 999;
    assert_int_equal(ledger_merkle_consistency(f->l, 1, 1, p.h, &np), 0);
    assert_int_equal(np, 0);
    assert_int_equal(ledger_merkle_root(f->l, 2, root), LEDGER_EINVAL);
    assert_int_equal(stored_nodes(f), 1);
}

static void test_merkle_ledger_roots_and_proofs(void **state)
{
    lfx *f = *state;
    uint8_t roots[N_LEDGER + 2][HB], got[HB];
    proof p, want;
    size_t np;
    char err[256];

    /* every size: the root is the MTH of the entries' hashes */
    for (uint64_t s = 1; s <= f->count; s++) {
        ref_mth(roots[s], f->leaf, s);
        memset(got, 0, HB);
        assert_int_equal(ledger_merkle_root(f->l, s, got), 0);
        assert_memory_equal(got, roots[s], HB);
    }
    /* every entry in every tree that holds it */
    for (uint64_t s = 1; s <= f->count; s++) {
        for (uint64_t i = 0; i < s; i++) {
            ref_path(&want, i, f->leaf, s);
            np = 999;
            assert_int_equal(ledger_merkle_inclusion(f->l, i, s, p.h, &np), 0);
            p.n = np;
            assert_same_proof(&p, &want);
            assert_int_equal(vinc(f->leaf[i], i, s, &p, 0, p.n, roots[s]), 0);
            if (s > 1)
                assert_int_equal(vinc(f->leaf[i], i, s, &p, 0, p.n, roots[s - 1]), LEDGER_EVERIFY);
        }
    }
    /* every pair of sizes */
    for (uint64_t s = 1; s <= f->count; s++) {
        for (uint64_t m = 1; m <= s; m++) {
            ref_proof(&want, m, f->leaf, s);
            np = 999;
            assert_int_equal(ledger_merkle_consistency(f->l, m, s, p.h, &np), 0);
            p.n = np;
            assert_same_proof(&p, &want);
            assert_int_equal(vcons(m, s, roots[m], roots[s], &p, 0, p.n), 0);
        }
    }
    /* sizes out of range */
    assert_int_equal(ledger_merkle_root(f->l, 0, got), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_root(f->l, f->count + 1, got), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_root(f->l, UINT64_MAX, got), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_inclusion(f->l, f->count, f->count, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_inclusion(f->l, 0, f->count + 1, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_inclusion(f->l, 0, 0, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_consistency(f->l, 0, 5, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_consistency(f->l, 6, 5, p.h, &np), LEDGER_EINVAL);
    assert_int_equal(ledger_merkle_consistency(f->l, 1, f->count + 1, p.h, &np), LEDGER_EINVAL);
    verify_ok(f);

    /* reopened, and read-only: the same roots */
    ledger_close(f->l);
    assert_int_equal(ledger_open(&f->l, f->dir, 0, err, sizeof(err)), 0);
    check_roots(f, roots);
    ledger_close(f->l);
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_RDONLY, err, sizeof(err)), 0);
    check_roots(f, roots);
    assert_int_equal(ledger_merkle_inclusion(f->l, 17, f->count, p.h, &np), 0);
    p.n = np;
    assert_int_equal(vinc(f->leaf[17], 17, f->count, &p, 0, p.n, roots[f->count]), 0);
    ledger_close(f->l);

    /* one more entry: old roots unchanged, and the new tree extends the old */
    assert_int_equal(ledger_open(&f->l, f->dir, 0, err, sizeof(err)), 0);
    assert_int_equal(note(f, f->pharm, f->now + 1000), 0);
    load_leaves(f);
    assert_int_equal(f->count, N_LEDGER + 1);
    ref_mth(roots[f->count], f->leaf, f->count);
    check_roots(f, roots);
    assert_int_equal(ledger_merkle_consistency(f->l, N_LEDGER, f->count, p.h, &np), 0);
    p.n = np;
    assert_int_equal(vcons(N_LEDGER, f->count, roots[N_LEDGER], roots[f->count], &p, 0, p.n), 0);
    verify_ok(f);
}

static void test_merkle_ledger_stores_every_perfect_subtree(void **state)
{
    lfx *f = *state;
    uint8_t got[HB], want[HB];
    uint64_t n = f->count, nodes = 0;
    for (unsigned level = 0; ((uint64_t)1 << level) <= n; level++) {
        for (uint64_t i = 0; (i + 1) << level <= n; i++) {
            assert_int_equal(raw_get(f, level, i, got), 0);
            ref_mth(want, f->leaf + (i << level), (uint64_t)1 << level);
            assert_memory_equal(got, want, HB);
            nodes++;
        }
        /* and none past the end */
        assert_int_equal(raw_get(f, level, n >> level, got), MDB_NOTFOUND);
    }
    assert_int_equal(nodes, 2 * n - (uint64_t)__builtin_popcountll(n));
    assert_int_equal(stored_nodes(f), nodes);
}

static void test_merkle_ledger_refused_appends_leave_no_nodes(void **state)
{
    lfx *f = *state;
    uint8_t before[HB], after[HB], want[HB];
    uint64_t n = f->count;
    assert_int_equal(ledger_merkle_root(f->l, n, before), 0);
    /* an unknown signer: refused alone, and as the last of a transaction */
    assert_int_equal(note(f, f->stranger, f->now + 500), LEDGER_ESIGNER);
    batch b = {f, f->now + 600, 5, f->stranger};
    assert_int_equal(ledger_transact(f->l, batch_fn, &b), LEDGER_ESIGNER);
    load_leaves(f);
    assert_int_equal(f->count, n);
    assert_int_equal(ledger_merkle_root(f->l, n, after), 0);
    assert_memory_equal(after, before, HB);
    assert_int_equal(ledger_merkle_root(f->l, n + 1, after), LEDGER_EINVAL);
    assert_int_equal(stored_nodes(f), 2 * n - (uint64_t)__builtin_popcountll(n));
    verify_ok(f);
    /* the same batch, all good, lands whole */
    b.last = f->pharm;
    assert_int_equal(ledger_transact(f->l, batch_fn, &b), 0);
    load_leaves(f);
    assert_int_equal(f->count, n + 5);
    ref_mth(want, f->leaf, f->count);
    assert_int_equal(ledger_merkle_root(f->l, f->count, after), 0);
    assert_memory_equal(after, want, HB);
    verify_ok(f);
}

/* verify must fail on the node, naming the Merkle tree and the entry that completes it */
static void expect_tree_finding(lfx *f, unsigned flags, uint64_t bad_seq)
{
    ledger_verify_result r;
    assert_int_equal(ledger_verify(f->l, flags, NULL, NULL, &r), LEDGER_EVERIFY);
    assert_true(r.failed);
    assert_int_equal(r.bad_seq, bad_seq);
    assert_non_null(strstr(r.reason, "Merkle"));
}

/* Raw writes to the entries database (a stray record, a deleted entry). */
static void raw_entry(lfx *f, const uint8_t *key, size_t klen, const uint8_t *val, size_t vlen)
{
    MDB_txn *txn;
    MDB_val k = {klen, (void *)key}, v = {vlen, (void *)val};
    assert_int_equal(mdb_txn_begin(f->l->env, NULL, 0, &txn), 0);
    if (val != NULL)
        assert_int_equal(mdb_put(txn, f->l->entries, &k, &v, 0), 0);
    else
        assert_int_equal(mdb_del(txn, f->l->entries, &k, NULL), 0);
    assert_int_equal(mdb_txn_commit(txn), 0);
}

/* A ledger of @p n entries: notes in transactions of 500. */
static void grow_to(lfx *f, uint64_t n)
{
    uint64_t have = 0;
    uint8_t head[HB];
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    f->now = ledger__now_ms();
    enroll_pharm(f);
    assert_int_equal(ledger_head(f->l, &have, head), 0);
    while (have < n) {
        int k = n - have < 500 ? (int)(n - have) : 500;
        batch b = {f, f->now + (int64_t)have, k, f->pharm};
        assert_int_equal(ledger_transact(f->l, batch_fn, &b), 0);
        assert_int_equal(ledger_head(f->l, &have, head), 0);
    }
    f->count = have;
}

/* Verify reads the chain in batches of 1,024 on worker threads, each checking
 * the stored nodes inside its batch, and joins full batches above level 10 on
 * the caller's thread: a node altered or deleted anywhere (inside a batch,
 * a batch's own root, above it, in the last partial batch) is found at the
 * entry that completes it, with one thread or several. */
static void test_merkle_verify_across_batches(void **state)
{
    lfx *f = *state;
    static const struct {
        unsigned level;
        uint64_t index;
    } nodes[] = {{0, 0},  {0, 1500}, {3, 200}, {9, 1},    {10, 0},  {10, 1},
                 {11, 0}, {9, 4},    {3, 300}, {0, 2599}, {1, 1299}};
    uint8_t kb[9], orig[HB], bad[HB];
    ledger_verify_result r;
    grow_to(f, 2600); /* two full batches, a partial third */
    for (const char *threads = "1"; threads != NULL;
         threads = strcmp(threads, "1") == 0 ? "3" : NULL) {
        setenv("RXLEDGER_THREADS", threads, 1);
        verify_ok(f);
        for (size_t i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++) {
            uint64_t completes = ((nodes[i].index + 1) << nodes[i].level) - 1;
            node_key(kb, nodes[i].level, nodes[i].index);
            assert_int_equal(raw_get(f, nodes[i].level, nodes[i].index, orig), 0);
            memcpy(bad, orig, HB);
            bad[i % HB] ^= 0x04;
            raw_put(f, kb, sizeof(kb), bad, HB);
            expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, completes);
            raw_del(f, kb, sizeof(kb));
            expect_tree_finding(f, 0, completes);
            raw_put(f, kb, sizeof(kb), orig, HB);
        }
        /* two bad nodes: the one completed first in chain order is reported */
        uint8_t o2[HB];
        node_key(kb, 10, 1);
        assert_int_equal(raw_get(f, 10, 1, orig), 0);
        memcpy(bad, orig, HB);
        bad[0] ^= 1;
        raw_put(f, kb, sizeof(kb), bad, HB);
        node_key(kb, 2, 300); /* completes at 1203 < 2047 */
        assert_int_equal(raw_get(f, 2, 300, o2), 0);
        memcpy(bad, o2, HB);
        bad[0] ^= 1;
        raw_put(f, kb, sizeof(kb), bad, HB);
        expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, 1203);
        raw_put(f, kb, sizeof(kb), o2, HB);
        expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, 2047);
        node_key(kb, 10, 1);
        raw_put(f, kb, sizeof(kb), orig, HB);
        verify_ok(f);
        /* a stray record whose key falls between two batches: not read by
         * either, found by counting */
        uint8_t stray[9] = {0, 0, 0, 0, 0, 0, 0x03, 0xff, 0x00};
        raw_entry(f, stray, sizeof(stray), (const uint8_t *)"x", 1);
        assert_int_equal(ledger_verify(f->l, LEDGER_VERIFY_NO_SIGNATURES, NULL, NULL, &r),
                         LEDGER_EVERIFY);
        assert_non_null(strstr(r.reason, "outside the chain"));
        raw_entry(f, stray, sizeof(stray), NULL, 0);
        verify_ok(f);
    }
    unsetenv("RXLEDGER_THREADS");
}

/* Iterators read ahead at guessed seqs; after an entry that is not where it
 * should be (a gap left by a deleted entry) they read on in key order, so
 * every stored entry comes once, in order, from any start. */
static void test_merkle_iterator_reads_on_after_a_gap(void **state)
{
    lfx *f = *state;
    static const uint64_t gaps[] = {40, 32, 95, 1000};
    uint8_t kb[8], saved[LEDGER_MAX_ENTRY_BYTES];
    size_t len;
    grow_to(f, 1300);
    for (size_t g = 0; g < sizeof(gaps) / sizeof(gaps[0]); g++) {
        for (int j = 0; j < 8; j++)
            kb[j] = (uint8_t)(gaps[g] >> (56 - 8 * j));
        assert_int_equal(ledger_get(f->l, gaps[g], saved, sizeof(saved), &len), 0);
        raw_entry(f, kb, sizeof(kb), NULL, 0);
        for (const char *threads = "1"; threads != NULL;
             threads = strcmp(threads, "1") == 0 ? "3" : NULL) {
            setenv("RXLEDGER_THREADS", threads, 1);
            static const uint64_t starts[] = {0, 31, 33, 900};
            for (size_t s = 0; s < sizeof(starts) / sizeof(starts[0]); s++) {
                ledger_iter *it = NULL;
                const ledger_entry *e;
                uint64_t want = starts[s];
                int rc;
                assert_int_equal(ledger_iter_open(&it, f->l, want), 0);
                while ((rc = ledger_iter_next_ref(it, &e)) == 0) {
                    if (want == gaps[g])
                        want++;
                    assert_int_equal(e->seq, want);
                    want++;
                }
                assert_int_equal(rc, 1);
                assert_int_equal(want, f->count);
                ledger_iter_free(it);
            }
        }
        raw_entry(f, kb, sizeof(kb), saved, len);
    }
    unsetenv("RXLEDGER_THREADS");
    verify_ok(f);
}

static void test_merkle_verify_catches_tampered_node(void **state)
{
    lfx *f = *state;
    uint8_t kb[9], orig[HB], bad[HB + 1], root[HB], got[HB], want[HB];
    proof p;
    size_t np;
    uint64_t n = f->count;
    verify_ok(f);
    ref_mth(root, f->leaf, n);

    /* every stored node: altered, then deleted, is found at the entry that completes it */
    for (unsigned level = 0; ((uint64_t)1 << level) <= n; level++) {
        for (uint64_t i = 0; (i + 1) << level <= n; i++) {
            uint64_t completes = ((i + 1) << level) - 1;
            node_key(kb, level, i);
            assert_int_equal(raw_get(f, level, i, orig), 0);
            memcpy(bad, orig, HB);
            bad[(level * 7 + i) % HB] ^= 0x20;
            raw_put(f, kb, sizeof(kb), bad, HB);
            expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, completes);
            raw_del(f, kb, sizeof(kb));
            expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, completes);
            raw_put(f, kb, sizeof(kb), orig, HB);
        }
    }
    verify_ok(f);

    /* with signatures checked too; and the stored tree is what roots are made of */
    node_key(kb, 6, 0); /* leaves 0..63: part of every root from 64 on */
    assert_int_equal(raw_get(f, 6, 0, orig), 0);
    memcpy(bad, orig, HB);
    bad[0] ^= 0x01;
    raw_put(f, kb, sizeof(kb), bad, HB);
    expect_tree_finding(f, 0, 63);
    assert_int_equal(ledger_merkle_root(f->l, n, got), 0);
    assert_memory_not_equal(got, root, HB);
    ref_mth(want, f->leaf, 63);
    assert_int_equal(ledger_merkle_root(f->l, 63, got), 0); /* does not need it */
    assert_memory_equal(got, want, HB);
    raw_put(f, kb, sizeof(kb), orig, HB);
    verify_ok(f);

    /* ... and proofs: leaves 8..15 are a sibling on the path of entry 0 */
    node_key(kb, 3, 1);
    assert_int_equal(raw_get(f, 3, 1, orig), 0);
    memcpy(bad, orig, HB);
    bad[HB - 1] ^= 0x80;
    raw_put(f, kb, sizeof(kb), bad, HB);
    expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, 15);
    assert_int_equal(ledger_merkle_inclusion(f->l, 0, n, p.h, &np), 0);
    p.n = np;
    assert_int_equal(vinc(f->leaf[0], 0, n, &p, 0, p.n, root), LEDGER_EVERIFY);
    /* a node of the wrong length */
    raw_put(f, kb, sizeof(kb), bad, HB - 1);
    expect_tree_finding(f, 0, 15);
    assert_int_not_equal(ledger_merkle_inclusion(f->l, 0, n, p.h, &np), 0);
    assert_non_null(strstr(ledger_errmsg(f->l), "Merkle"));
    raw_put(f, kb, sizeof(kb), bad, HB + 1);
    expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, 15);
    /* deleted: the proofs that need it cannot be made, the others still can */
    raw_del(f, kb, sizeof(kb));
    expect_tree_finding(f, 0, 15);
    assert_int_not_equal(ledger_merkle_inclusion(f->l, 0, 16, p.h, &np), 0);
    assert_int_equal(ledger_merkle_inclusion(f->l, 0, 8, p.h, &np), 0);
    p.n = np;
    ref_mth(want, f->leaf, 8);
    assert_int_equal(vinc(f->leaf[0], 0, 8, &p, 0, p.n, want), 0);
    raw_put(f, kb, sizeof(kb), orig, HB);
    verify_ok(f);
    assert_int_equal(ledger_merkle_inclusion(f->l, 0, n, p.h, &np), 0);
    p.n = np;
    assert_int_equal(vinc(f->leaf[0], 0, n, &p, 0, p.n, root), 0);

    /* stray nodes the chain does not imply: the next leaf, a future subtree, a bad key */
    {
        static const uint8_t odd_key[3] = {0, 1, 2};
        const struct {
            unsigned level;
            uint64_t index;
        } stray[] = {{0, n}, {1, n / 2}, {7, 0}, {0, UINT64_MAX}, {200, 0}};
        for (size_t s = 0; s < sizeof(stray) / sizeof(stray[0]); s++) {
            node_key(kb, stray[s].level, stray[s].index);
            raw_put(f, kb, sizeof(kb), root, HB);
            expect_tree_finding(f, 0, n - 1);
            raw_del(f, kb, sizeof(kb));
            verify_ok(f);
        }
        raw_put(f, odd_key, sizeof(odd_key), root, HB);
        expect_tree_finding(f, LEDGER_VERIFY_NO_SIGNATURES, n - 1);
        raw_del(f, odd_key, sizeof(odd_key));
    }
    verify_ok(f);
    assert_int_equal(stored_nodes(f), 2 * n - (uint64_t)__builtin_popcountll(n));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_merkle_node_is_rfc_interior_hash),
        cmocka_unit_test(test_merkle_ct_vectors),
        cmocka_unit_test(test_merkle_root_matches_reference),
        cmocka_unit_test(test_merkle_inclusion_round_trip),
        cmocka_unit_test(test_merkle_inclusion_large_trees),
        cmocka_unit_test(test_merkle_consistency_round_trip),
        cmocka_unit_test(test_merkle_consistency_equal_sizes),
        cmocka_unit_test(test_merkle_bad_arguments),
        cmocka_unit_test(test_merkle_node_errors_propagate),
        cmocka_unit_test(test_merkle_huge_trees),
        cmocka_unit_test(test_merkle_sizes_above_2_63_terminate),
        cmocka_unit_test_setup_teardown(test_merkle_ledger_empty_then_genesis, setup_empty,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_merkle_ledger_roots_and_proofs, setup_ledger,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_merkle_ledger_stores_every_perfect_subtree,
                                        setup_ledger, teardown),
        cmocka_unit_test_setup_teardown(test_merkle_ledger_refused_appends_leave_no_nodes,
                                        setup_ledger, teardown),
        cmocka_unit_test_setup_teardown(test_merkle_verify_across_batches, setup_empty, teardown),
        cmocka_unit_test_setup_teardown(test_merkle_iterator_reads_on_after_a_gap, setup_empty,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_merkle_verify_catches_tampered_node, setup_ledger,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
