/**
 * @file keys.c
 * @brief Ed25519 keys on OpenSSL 3: encrypted key files, signing, key ids.
 *
 * Key files hold a PKCS#8 EncryptedPrivateKeyInfo under PBES2 (scrypt + AES-256-CBC).
 * The PBES2 parameters are built and parsed here, and scrypt is called directly,
 * because OpenSSL 3.0's own PBES2-scrypt path (PKCS5_pbe2_set_scrypt, PKCS8_decrypt,
 * PEM_read_bio_PrivateKey) caps scrypt memory at 32 MiB, i.e. N <= 2^14 at r = 8,
 * which is below KEYS_KDF_COST_DEFAULT. The files stay standard: OpenSSL reads those
 * written with a cost up to 14.
 */
/* Fail the build on any deprecated OpenSSL API. */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include "keys/keys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#if defined(__GNUC__) || defined(__clang__)
#define RX_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RX_PRINTF(f, a)
#endif

#define NAME_PREFIX "rxledger-name: "
/** Key files are well under 1 KiB; anything near this is not ours. */
#define FILE_MAX      (16 * 1024)
#define SALT_BYTES    16
#define SALT_MAX      64
#define IV_BYTES      16
#define AES_KEY_BYTES 32
#define SCRYPT_R      8
#define SCRYPT_P      1
/* Bounds on scrypt parameters read from a file, so a crafted file cannot stall us. */
#define SCRYPT_R_MAX 32
#define SCRYPT_P_MAX 16
/** Enough for cost KEYS_KDF_COST_MAX at r = 8: 128 * r * (N + 2) + 128 * r * p. */
#define SCRYPT_MAXMEM ((uint64_t)1025 * 1024 * 1024)
/** Longest public key file: name line plus a SubjectPublicKeyInfo PEM (~113 bytes). */
#define PUB_TEXT_MAX      512
#define FPR_TEXT_SCAN_MAX 256
#define STRERR_MAX        128

struct keys_key {
    EVP_PKEY *pkey;
    uint8_t pub[KEYS_PUB_BYTES];
    char name[KEYS_NAME_MAX + 1];
};

struct keys_pub {
    EVP_PKEY *pkey;
};

/** PBES2 parameters of a key file. */
typedef struct pbes2 {
    uint8_t salt[SALT_MAX];
    size_t saltlen;
    uint64_t n, r, p;
    uint8_t iv[IV_BYTES];
} pbes2;

/* Stands in for a NULL message of length 0: OpenSSL wants a pointer. */
static const uint8_t empty_msg[1];

/* Write a detail message into the optional error buffer; always NUL-terminated. */
RX_PRINTF(3, 4) static void seterr(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        /* Truncation is acceptable for a diagnostic; vsnprintf always terminates. */
        (void)vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
}

/* Reason text of the newest OpenSSL error; empties the queue so it cannot leak into
 * later, unrelated calls. The text is static. */
static const char *ossl_reason(void)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e != 0 ? ERR_reason_error_string(e) : NULL;

    ERR_clear_error();
    return r != NULL ? r : "unknown openssl error";
}

/* Thread-safe strerror. */
static const char *errtext(int e, char *buf, size_t len)
{
    if (strerror_r(e, buf, len) != 0)
        (void)snprintf(buf, len, "error %d", e);
    return buf;
}

/* A printed name is one line of at most KEYS_NAME_MAX bytes without control
 * characters, so it cannot forge a second line in a key file. */
static int name_ok(const char *s, size_t len)
{
    size_t i;
    int ok = len <= KEYS_NAME_MAX;

    for (i = 0; ok && i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            ok = 0;
    }
    return ok;
}

const char *keys_strerror(int code)
{
    const char *s = "unknown error";

    switch (code) {
    case 0:
        s = "success";
        break;
    case KEYS_EIO:
        s = "i/o error";
        break;
    case KEYS_ENOMEM:
        s = "out of memory";
        break;
    case KEYS_EINVAL:
        s = "invalid argument";
        break;
    case KEYS_EPASS:
        s = "wrong passphrase";
        break;
    case KEYS_ECORRUPT:
        s = "not a valid key file";
        break;
    case KEYS_EPERM:
        s = "key file readable by others";
        break;
    case KEYS_ECRYPTO:
        s = "openssl failure";
        break;
    case KEYS_EEXIST:
        s = "file already exists";
        break;
    case KEYS_EBADSIG:
        s = "bad signature";
        break;
    case KEYS_EKEYTYPE:
        s = "not an ed25519 key";
        break;
    default:
        break;
    }
    return s;
}

/* Wrap @p *pkey (an Ed25519 key) in a keys_key; takes ownership on success. */
static int key_wrap(keys_key **out, EVP_PKEY **pkey)
{
    keys_key *k = NULL;
    size_t len = KEYS_PUB_BYTES;
    int rc = 0;

    k = calloc(1, sizeof(*k));
    if (k == NULL) {
        rc = KEYS_ENOMEM;
        goto done;
    }
    if (EVP_PKEY_get_raw_public_key(*pkey, k->pub, &len) != 1 || len != KEYS_PUB_BYTES) {
        ERR_clear_error();
        rc = KEYS_ECRYPTO;
        goto done;
    }
    k->pkey = *pkey;
    *pkey = NULL;
    *out = k;
    k = NULL;
done:
    free(k);
    return rc;
}

int keys_generate(keys_key **out)
{
    EVP_PKEY *pkey = NULL;
    int rc = KEYS_EINVAL;

    if (out == NULL)
        goto done;
    *out = NULL;
    pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    if (pkey == NULL) {
        ERR_clear_error();
        rc = KEYS_ECRYPTO;
        goto done;
    }
    rc = key_wrap(out, &pkey);
done:
    EVP_PKEY_free(pkey);
    return rc;
}

int keys_from_seed(keys_key **out, const uint8_t seed[KEYS_SEED_BYTES])
{
    EVP_PKEY *pkey = NULL;
    int rc = KEYS_EINVAL;

    if (out == NULL || seed == NULL)
        goto done;
    *out = NULL;
    pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, KEYS_SEED_BYTES);
    if (pkey == NULL) {
        ERR_clear_error();
        rc = KEYS_ECRYPTO;
        goto done;
    }
    rc = key_wrap(out, &pkey);
done:
    EVP_PKEY_free(pkey);
    return rc;
}

void keys_free(keys_key *k)
{
    if (k != NULL) {
        /* OpenSSL clears the private key when the last reference goes. */
        EVP_PKEY_free(k->pkey);
        OPENSSL_cleanse(k, sizeof(*k));
        free(k);
    }
}

void keys_key_pub(const keys_key *k, uint8_t pub[KEYS_PUB_BYTES])
{
    if (k != NULL && pub != NULL)
        memcpy(pub, k->pub, KEYS_PUB_BYTES);
}

const char *keys_key_name(const keys_key *k)
{
    return k != NULL ? k->name : "";
}

/* ---- PBES2 (scrypt, AES-256-CBC) ---------------------------------------------------- */

/* DER of the PBES2-params SEQUENCE for @p prm (RFC 8018 with RFC 7914 scrypt). */
static ASN1_STRING *pbes2_encode(const pbes2 *prm)
{
    SCRYPT_PARAMS *sp = NULL;
    PBE2PARAM *pbe2 = NULL;
    ASN1_STRING *kdf = NULL;
    ASN1_OCTET_STRING *iv = NULL;
    ASN1_STRING *res = NULL;

    sp = SCRYPT_PARAMS_new();
    if (sp == NULL || !ASN1_OCTET_STRING_set(sp->salt, prm->salt, (int)prm->saltlen) ||
        !ASN1_INTEGER_set_uint64(sp->costParameter, prm->n) ||
        !ASN1_INTEGER_set_uint64(sp->blockSize, prm->r) ||
        !ASN1_INTEGER_set_uint64(sp->parallelizationParameter, prm->p))
        goto done;
    kdf = ASN1_item_pack(sp, ASN1_ITEM_rptr(SCRYPT_PARAMS), NULL);
    pbe2 = PBE2PARAM_new();
    if (kdf == NULL || pbe2 == NULL ||
        !X509_ALGOR_set0(pbe2->keyfunc, OBJ_nid2obj(NID_id_scrypt), V_ASN1_SEQUENCE, kdf))
        goto done;
    kdf = NULL; /* owned by pbe2 now */
    iv = ASN1_OCTET_STRING_new();
    if (iv == NULL || !ASN1_OCTET_STRING_set(iv, prm->iv, IV_BYTES) ||
        !X509_ALGOR_set0(pbe2->encryption, OBJ_nid2obj(NID_aes_256_cbc), V_ASN1_OCTET_STRING, iv))
        goto done;
    iv = NULL;
    res = ASN1_item_pack(pbe2, ASN1_ITEM_rptr(PBE2PARAM), NULL);
done:
    ASN1_OCTET_STRING_free(iv);
    ASN1_STRING_free(kdf);
    PBE2PARAM_free(pbe2);
    SCRYPT_PARAMS_free(sp);
    return res;
}

/* Parse and bound the PBES2 parameters of @p alg; @p why names the problem. */
static int pbes2_decode(pbes2 *out, const X509_ALGOR *alg, const char **why)
{
    const ASN1_OBJECT *obj = NULL;
    const void *pval = NULL;
    int ptype = V_ASN1_UNDEF;
    PBE2PARAM *pbe2 = NULL;
    SCRYPT_PARAMS *sp = NULL;
    uint64_t keylen = 0;
    uint64_t mem;
    int saltlen;
    int rc = KEYS_ECORRUPT;

    memset(out, 0, sizeof(*out));
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    if (OBJ_obj2nid(obj) != NID_pbes2 || ptype != V_ASN1_SEQUENCE || pval == NULL) {
        *why = "not encrypted with pbes2";
        goto done;
    }
    pbe2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
    if (pbe2 == NULL) {
        *why = "damaged pbes2 parameters";
        goto done;
    }
    pval = NULL;
    X509_ALGOR_get0(&obj, &ptype, &pval, pbe2->keyfunc);
    if (OBJ_obj2nid(obj) != NID_id_scrypt || ptype != V_ASN1_SEQUENCE || pval == NULL) {
        *why = "key derivation is not scrypt";
        goto done;
    }
    sp = ASN1_item_unpack(pval, ASN1_ITEM_rptr(SCRYPT_PARAMS));
    if (sp == NULL || !ASN1_INTEGER_get_uint64(&out->n, sp->costParameter) ||
        !ASN1_INTEGER_get_uint64(&out->r, sp->blockSize) ||
        !ASN1_INTEGER_get_uint64(&out->p, sp->parallelizationParameter) ||
        (sp->keyLength != NULL &&
         (!ASN1_INTEGER_get_uint64(&keylen, sp->keyLength) || keylen != AES_KEY_BYTES))) {
        *why = "damaged scrypt parameters";
        goto done;
    }
    saltlen = ASN1_STRING_length(sp->salt);
    if (saltlen < 1 || saltlen > SALT_MAX) {
        *why = "bad scrypt salt";
        goto done;
    }
    out->saltlen = (size_t)saltlen;
    memcpy(out->salt, ASN1_STRING_get0_data(sp->salt), out->saltlen);
    if (out->n < 2 || out->n > ((uint64_t)1 << KEYS_KDF_COST_MAX) || (out->n & (out->n - 1)) != 0 ||
        out->r < 1 || out->r > SCRYPT_R_MAX || out->p < 1 || out->p > SCRYPT_P_MAX) {
        *why = "unsupported scrypt parameters";
        goto done;
    }
    mem = 128 * out->r * (out->n + 2) + 128 * out->r * out->p;
    if (mem > SCRYPT_MAXMEM) {
        *why = "scrypt parameters need too much memory";
        goto done;
    }
    pval = NULL;
    X509_ALGOR_get0(&obj, &ptype, &pval, pbe2->encryption);
    if (OBJ_obj2nid(obj) != NID_aes_256_cbc || ptype != V_ASN1_OCTET_STRING || pval == NULL ||
        ASN1_STRING_length(pval) != IV_BYTES) {
        *why = "cipher is not aes-256-cbc";
        goto done;
    }
    memcpy(out->iv, ASN1_STRING_get0_data(pval), IV_BYTES);
    rc = 0;
done:
    SCRYPT_PARAMS_free(sp);
    PBE2PARAM_free(pbe2);
    return rc;
}

/* scrypt with our own memory bound (OpenSSL's default allows only N <= 2^14 at r = 8). */
static int derive_key(uint8_t key[AES_KEY_BYTES], const pbes2 *prm, const char *pass,
                      size_t passlen)
{
    return EVP_PBE_scrypt(pass, passlen, prm->salt, prm->saltlen, prm->n, prm->r, prm->p,
                          SCRYPT_MAXMEM, key, AES_KEY_BYTES) == 1;
}

/* Encrypt @p pkey as a PKCS#8 EncryptedPrivateKeyInfo (PBES2: scrypt N = 2^cost, r = 8,
 * p = 1, AES-256-CBC with random salt and IV). */
static int epki_encrypt(X509_SIG **out, const EVP_PKEY *pkey, const char *pass, size_t passlen,
                        unsigned cost, char *err, size_t errlen)
{
    pbes2 prm;
    uint8_t key[AES_KEY_BYTES];
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    unsigned char *der = NULL;
    int derlen = 0;
    unsigned char *ct = NULL;
    int ctlen = 0, fin = 0;
    EVP_CIPHER_CTX *cctx = NULL;
    ASN1_STRING *params = NULL;
    X509_SIG *sig = NULL;
    X509_ALGOR *alg = NULL;
    ASN1_OCTET_STRING *digest = NULL;
    int rc = KEYS_ECRYPTO;

    *out = NULL;
    memset(&prm, 0, sizeof(prm));
    prm.saltlen = SALT_BYTES;
    prm.n = (uint64_t)1 << cost;
    prm.r = SCRYPT_R;
    prm.p = SCRYPT_P;
    if (RAND_bytes(prm.salt, SALT_BYTES) != 1 || RAND_bytes(prm.iv, IV_BYTES) != 1) {
        seterr(err, errlen, "cannot get random bytes: %s", ossl_reason());
        goto done;
    }
    if (!derive_key(key, &prm, pass, passlen)) {
        seterr(err, errlen, "scrypt failed: %s", ossl_reason());
        goto done;
    }
    p8 = EVP_PKEY2PKCS8(pkey);
    if (p8 == NULL || (derlen = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0) {
        seterr(err, errlen, "cannot encode private key: %s", ossl_reason());
        goto done;
    }
    ct = OPENSSL_malloc((size_t)derlen + IV_BYTES);
    cctx = EVP_CIPHER_CTX_new();
    if (ct == NULL || cctx == NULL) {
        rc = KEYS_ENOMEM;
        seterr(err, errlen, "out of memory");
        goto done;
    }
    if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key, prm.iv) != 1 ||
        EVP_EncryptUpdate(cctx, ct, &ctlen, der, derlen) != 1 ||
        EVP_EncryptFinal_ex(cctx, ct + ctlen, &fin) != 1) {
        seterr(err, errlen, "cannot encrypt private key: %s", ossl_reason());
        goto done;
    }
    ctlen += fin;
    params = pbes2_encode(&prm);
    sig = X509_SIG_new();
    if (params == NULL || sig == NULL) {
        seterr(err, errlen, "cannot encode pbes2 parameters: %s", ossl_reason());
        goto done;
    }
    X509_SIG_getm(sig, &alg, &digest);
    if (!X509_ALGOR_set0(alg, OBJ_nid2obj(NID_pbes2), V_ASN1_SEQUENCE, params)) {
        seterr(err, errlen, "cannot encode pbes2 parameters: %s", ossl_reason());
        goto done;
    }
    params = NULL;
    if (!ASN1_OCTET_STRING_set(digest, ct, ctlen)) {
        seterr(err, errlen, "cannot encode encrypted key: %s", ossl_reason());
        goto done;
    }
    *out = sig;
    sig = NULL;
    rc = 0;
done:
    OPENSSL_cleanse(key, sizeof(key));
    X509_SIG_free(sig);
    ASN1_STRING_free(params);
    EVP_CIPHER_CTX_free(cctx);
    OPENSSL_free(ct);
    if (der != NULL)
        OPENSSL_clear_free(der, (size_t)derlen);
    PKCS8_PRIV_KEY_INFO_free(p8); /* clears the key bytes */
    return rc;
}

/* Decrypt @p sig. The structure was sound, so a padding or DER error after decryption
 * means the passphrase is wrong (CBC has no MAC to tell damage apart). */
static int epki_decrypt(PKCS8_PRIV_KEY_INFO **out, const X509_SIG *sig, const char *pass,
                        size_t passlen, const char *path, char *err, size_t errlen)
{
    const X509_ALGOR *alg = NULL;
    const ASN1_OCTET_STRING *digest = NULL;
    const char *why = NULL;
    pbes2 prm;
    uint8_t key[AES_KEY_BYTES];
    EVP_CIPHER_CTX *cctx = NULL;
    unsigned char *pt = NULL;
    const unsigned char *p;
    int ctlen, ptlen = 0, fin = 0;
    size_t ptcap = 0;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    int rc;

    *out = NULL;
    memset(key, 0, sizeof(key));
    X509_SIG_get0(sig, &alg, &digest);
    rc = pbes2_decode(&prm, alg, &why);
    if (rc != 0) {
        seterr(err, errlen, "key file '%s' is damaged: %s", path, why);
        goto done;
    }
    ctlen = ASN1_STRING_length(digest);
    if (ctlen <= 0 || ctlen % IV_BYTES != 0) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "key file '%s' is damaged: bad ciphertext length", path);
        goto done;
    }
    if (!derive_key(key, &prm, pass, passlen)) {
        unsigned long e = ERR_peek_last_error();
        rc = ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? KEYS_ENOMEM : KEYS_ECORRUPT;
        seterr(err, errlen, "cannot derive key for '%s': %s", path, ossl_reason());
        goto done;
    }
    ptcap = (size_t)ctlen + IV_BYTES;
    pt = OPENSSL_malloc(ptcap);
    cctx = EVP_CIPHER_CTX_new();
    if (pt == NULL || cctx == NULL) {
        rc = KEYS_ENOMEM;
        seterr(err, errlen, "out of memory");
        goto done;
    }
    if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, key, prm.iv) != 1 ||
        EVP_DecryptUpdate(cctx, pt, &ptlen, ASN1_STRING_get0_data(digest), ctlen) != 1 ||
        EVP_DecryptFinal_ex(cctx, pt + ptlen, &fin) != 1) {
        ERR_clear_error();
        rc = KEYS_EPASS;
        seterr(err, errlen, "wrong passphrase for '%s'", path);
        goto done;
    }
    ptlen += fin;
    p = pt;
    p8 = d2i_PKCS8_PRIV_KEY_INFO(NULL, &p, ptlen);
    if (p8 == NULL || p != pt + ptlen) {
        ERR_clear_error();
        rc = KEYS_EPASS;
        seterr(err, errlen, "wrong passphrase for '%s'", path);
        goto done;
    }
    *out = p8;
    p8 = NULL;
    rc = 0;
done:
    OPENSSL_cleanse(key, sizeof(key));
    PKCS8_PRIV_KEY_INFO_free(p8);
    EVP_CIPHER_CTX_free(cctx);
    if (pt != NULL)
        OPENSSL_clear_free(pt, ptcap);
    return rc;
}

/* ---- files ---------------------------------------------------------------------------- */

/* Read a whole key file (at most FILE_MAX bytes) into a NUL-terminated buffer that the
 * caller releases with OPENSSL_clear_free(buf, FILE_MAX + 2). With @p private_key, refuse
 * a file open to group or others: its secret may already have leaked. */
static int read_key_file(char **out, size_t *outlen, const char *path, int private_key, char *err,
                         size_t errlen)
{
    char ebuf[STRERR_MAX];
    struct stat st;
    char *buf = NULL;
    size_t len = 0;
    ssize_t n;
    int fd;
    int rc = 0;

    *out = NULL;
    *outlen = 0;
    /* O_NONBLOCK: a FIFO must not hang us before fstat tells us what it is. */
    fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        rc = KEYS_EIO;
        seterr(err, errlen, "cannot open '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
        goto done;
    }
    if (fstat(fd, &st) != 0) {
        rc = KEYS_EIO;
        seterr(err, errlen, "cannot stat '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = KEYS_EIO;
        seterr(err, errlen, "'%s' is not a regular file", path);
        goto done;
    }
    if (private_key && (st.st_mode & 077) != 0) {
        rc = KEYS_EPERM;
        seterr(err, errlen, "key file '%s' is %s by others (mode %04o): chmod 600 it", path,
               (st.st_mode & 044) != 0   ? "readable"
               : (st.st_mode & 022) != 0 ? "writable"
                                         : "accessible",
               (unsigned)(st.st_mode & 07777));
        goto done;
    }
    if (st.st_size > FILE_MAX) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "'%s' is too large to be a key file", path);
        goto done;
    }
    buf = OPENSSL_malloc(FILE_MAX + 2);
    if (buf == NULL) {
        rc = KEYS_ENOMEM;
        seterr(err, errlen, "out of memory");
        goto done;
    }
    /* Read one byte past the bound in case the file grew since fstat. */
    while (len <= FILE_MAX) {
        n = read(fd, buf + len, FILE_MAX + 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = KEYS_EIO;
            seterr(err, errlen, "cannot read '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
            goto done;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > FILE_MAX) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "'%s' is too large to be a key file", path);
        goto done;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    buf = NULL;
done:
    if (buf != NULL)
        OPENSSL_clear_free(buf, FILE_MAX + 2);
    if (fd >= 0)
        (void)close(fd);
    return rc;
}

static void free_key_file(char *buf)
{
    if (buf != NULL)
        OPENSSL_clear_free(buf, FILE_MAX + 2);
}

/* Take the value of an optional leading "rxledger-name: NAME" line. */
static int parse_name_line(char name[KEYS_NAME_MAX + 1], const char *buf, size_t len,
                           const char *path, char *err, size_t errlen)
{
    const size_t plen = sizeof(NAME_PREFIX) - 1;
    const char *v, *nl;
    size_t vlen;
    int rc = 0;

    name[0] = '\0';
    if (len < plen || memcmp(buf, NAME_PREFIX, plen) != 0)
        goto done;
    v = buf + plen;
    nl = memchr(v, '\n', len - plen);
    if (nl == NULL) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "bad rxledger-name line in '%s'", path);
        goto done;
    }
    vlen = (size_t)(nl - v);
    if (vlen > 0 && v[vlen - 1] == '\r')
        vlen--;
    if (!name_ok(v, vlen)) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "bad rxledger-name line in '%s'", path);
        goto done;
    }
    memcpy(name, v, vlen);
    name[vlen] = '\0';
done:
    return rc;
}

/* Find the first PEM block named @p want; *out gets its DER (release with
 * OPENSSL_clear_free(*out, *outlen): another block may have held a secret).
 * @p saw_private tells whether some other private key block was passed over.
 * KEYS_ECORRUPT when there is none; @p why then says what was wrong or is NULL. */
static int pem_find(unsigned char **out, long *outlen, int *saw_private, const char **why,
                    const char *buf, size_t len, const char *want)
{
    BIO *bio = NULL;
    char *pname = NULL, *header = NULL;
    unsigned char *data = NULL;
    long dlen = 0;
    unsigned long e;
    int rc = KEYS_ECORRUPT;

    *out = NULL;
    *outlen = 0;
    *saw_private = 0;
    *why = NULL;
    bio = BIO_new_mem_buf(buf, (int)len); /* len <= FILE_MAX */
    if (bio == NULL) {
        rc = KEYS_ENOMEM;
        goto done;
    }
    while (*out == NULL && PEM_read_bio(bio, &pname, &header, &data, &dlen) == 1) {
        if (strcmp(pname, want) == 0) {
            *out = data;
            *outlen = dlen;
            data = NULL;
            rc = 0;
        } else if (strstr(pname, "PRIVATE KEY") != NULL) {
            *saw_private = 1;
        }
        OPENSSL_free(pname);
        OPENSSL_free(header);
        if (data != NULL)
            OPENSSL_clear_free(data, (size_t)dlen);
        pname = header = NULL;
        data = NULL;
    }
    /* Running out of blocks is the normal end; anything else is a damaged block. */
    e = ERR_peek_last_error();
    if (rc != 0 && e != 0 && ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
        *why = ossl_reason();
    ERR_clear_error();
done:
    BIO_free(bio);
    return rc;
}

/* Find and decode the ENCRYPTED PRIVATE KEY block: only once it is sound can a failed
 * decryption be blamed on the passphrase. An unencrypted key is refused by name. */
static int find_epki(X509_SIG **out, const char *buf, size_t len, const char *path, char *err,
                     size_t errlen)
{
    unsigned char *der = NULL;
    const unsigned char *p;
    const char *why = NULL;
    long derlen = 0;
    int plain = 0;
    int rc;

    *out = NULL;
    rc = pem_find(&der, &derlen, &plain, &why, buf, len, PEM_STRING_PKCS8);
    if (rc == KEYS_ENOMEM) {
        seterr(err, errlen, "out of memory");
    } else if (rc != 0 && why != NULL) {
        seterr(err, errlen, "key file '%s' is damaged: %s", path, why);
    } else if (rc != 0 && plain) {
        seterr(err, errlen, "key file '%s' is not encrypted", path);
    } else if (rc != 0) {
        seterr(err, errlen, "'%s' is not an encrypted key file", path);
    } else {
        p = der;
        *out = d2i_X509_SIG(NULL, &p, derlen);
        if (*out == NULL || p != der + derlen) {
            rc = KEYS_ECORRUPT;
            seterr(err, errlen, "key file '%s' is damaged: %s", path, ossl_reason());
            X509_SIG_free(*out);
            *out = NULL;
        }
    }
    if (der != NULL)
        OPENSSL_clear_free(der, (size_t)derlen);
    return rc;
}

int keys_load(keys_key **out, const char *path, const char *pass, size_t passlen, char *err,
              size_t errlen)
{
    char name[KEYS_NAME_MAX + 1];
    char *buf = NULL;
    size_t len = 0;
    X509_SIG *sig = NULL;
    PKCS8_PRIV_KEY_INFO *p8 = NULL;
    const ASN1_OBJECT *kalg = NULL;
    EVP_PKEY *pkey = NULL;
    keys_key *k = NULL;
    int rc = KEYS_EINVAL;

    seterr(err, errlen, "%s", "");
    if (out == NULL)
        goto done;
    *out = NULL;
    if (path == NULL || (pass == NULL && passlen > 0)) {
        seterr(err, errlen, "invalid argument");
        goto done;
    }
    if (passlen > KEYS_PASS_MAX) {
        /* keys_save never accepts one this long */
        rc = KEYS_EPASS;
        seterr(err, errlen, "wrong passphrase for '%s'", path);
        goto done;
    }
    rc = read_key_file(&buf, &len, path, 1, err, errlen);
    if (rc != 0)
        goto done;
    rc = parse_name_line(name, buf, len, path, err, errlen);
    if (rc != 0)
        goto done;
    rc = find_epki(&sig, buf, len, path, err, errlen);
    if (rc != 0)
        goto done;
    rc = epki_decrypt(&p8, sig, pass, passlen, path, err, errlen);
    if (rc != 0)
        goto done;
    (void)PKCS8_pkey_get0(&kalg, NULL, NULL, NULL, p8);
    if (OBJ_obj2nid(kalg) != NID_ED25519) {
        rc = KEYS_EKEYTYPE;
        seterr(err, errlen, "key in '%s' is not ed25519", path);
        goto done;
    }
    pkey = EVP_PKCS82PKEY(p8);
    if (pkey == NULL) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "key file '%s' is damaged: %s", path, ossl_reason());
        goto done;
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        rc = KEYS_EKEYTYPE;
        seterr(err, errlen, "key in '%s' is not ed25519", path);
        goto done;
    }
    rc = key_wrap(&k, &pkey);
    if (rc != 0) {
        seterr(err, errlen, "cannot load '%s': %s", path, keys_strerror(rc));
        goto done;
    }
    memcpy(k->name, name, sizeof(k->name));
    *out = k;
done:
    EVP_PKEY_free(pkey);
    PKCS8_PRIV_KEY_INFO_free(p8);
    X509_SIG_free(sig);
    free_key_file(buf);
    return rc;
}

int keys_read_pub(uint8_t pub[KEYS_PUB_BYTES], char *name_out, const char *path, char *err,
                  size_t errlen)
{
    char name[KEYS_NAME_MAX + 1];
    char *buf = NULL;
    size_t len = 0, rawlen = KEYS_PUB_BYTES;
    uint8_t raw[KEYS_PUB_BYTES];
    unsigned char *der = NULL;
    const unsigned char *p;
    const char *why = NULL;
    long derlen = 0;
    int priv = 0;
    EVP_PKEY *pkey = NULL;
    int rc = KEYS_EINVAL;

    seterr(err, errlen, "%s", "");
    if (name_out != NULL)
        name_out[0] = '\0';
    if (pub == NULL || path == NULL) {
        seterr(err, errlen, "invalid argument");
        goto done;
    }
    rc = read_key_file(&buf, &len, path, 0, err, errlen);
    if (rc != 0)
        goto done;
    rc = parse_name_line(name, buf, len, path, err, errlen);
    if (rc != 0)
        goto done;
    /* Only the PUBLIC KEY block is decoded: OpenSSL's generic reader would try to
     * decrypt a private key (and ask for a passphrase). */
    rc = pem_find(&der, &derlen, &priv, &why, buf, len, PEM_STRING_PUBLIC);
    if (rc != 0) {
        if (rc == KEYS_ENOMEM)
            seterr(err, errlen, "out of memory");
        else if (why != NULL)
            seterr(err, errlen, "public key file '%s' is damaged: %s", path, why);
        else if (priv)
            seterr(err, errlen, "no public key in '%s': it is a private key file", path);
        else
            seterr(err, errlen, "no public key in '%s'", path);
        goto done;
    }
    p = der;
    pkey = d2i_PUBKEY(NULL, &p, derlen);
    if (pkey == NULL || p != der + derlen) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "public key file '%s' is damaged: %s", path, ossl_reason());
        goto done;
    }
    if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519) {
        rc = KEYS_EKEYTYPE;
        seterr(err, errlen, "key in '%s' is not ed25519", path);
        goto done;
    }
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &rawlen) != 1 || rawlen != KEYS_PUB_BYTES) {
        rc = KEYS_ECORRUPT;
        seterr(err, errlen, "bad public key in '%s': %s", path, ossl_reason());
        goto done;
    }
    memcpy(pub, raw, KEYS_PUB_BYTES);
    if (name_out != NULL)
        memcpy(name_out, name, sizeof(name));
    rc = 0;
done:
    EVP_PKEY_free(pkey);
    OPENSSL_free(der);
    free_key_file(buf);
    return rc;
}

int keys_pub_pem(char *buf, size_t cap, const uint8_t pub[KEYS_PUB_BYTES], const char *name)
{
    EVP_PKEY *pkey = NULL;
    BIO *bio = NULL;
    char *pem = NULL;
    long pemlen;
    size_t nlen = 0;
    int n;
    int rc = KEYS_EINVAL;

    if (buf != NULL && cap > 0)
        buf[0] = '\0';
    if (buf == NULL || pub == NULL)
        goto done;
    if (name != NULL) {
        nlen = strnlen(name, KEYS_NAME_MAX + 1);
        if (!name_ok(name, nlen))
            goto done;
    }
    pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, KEYS_PUB_BYTES);
    bio = BIO_new(BIO_s_mem());
    if (pkey == NULL || bio == NULL || PEM_write_bio_PUBKEY(bio, pkey) != 1) {
        ERR_clear_error();
        rc = KEYS_ECRYPTO;
        goto done;
    }
    pemlen = BIO_get_mem_data(bio, &pem);
    if (pemlen <= 0 || pemlen > PUB_TEXT_MAX) {
        rc = KEYS_ECRYPTO;
        goto done;
    }
    if (nlen > 0)
        n = snprintf(buf, cap, NAME_PREFIX "%s\n%.*s", name, (int)pemlen, pem);
    else
        n = snprintf(buf, cap, "%.*s", (int)pemlen, pem);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0)
            buf[0] = '\0';
        goto done;
    }
    rc = 0;
done:
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    return rc;
}

/* KEYS_EEXIST if @p path names anything (even a dangling symlink), so keys_save can
 * refuse before writing either file. */
static int check_absent(const char *path, char *err, size_t errlen)
{
    char ebuf[STRERR_MAX];
    struct stat st;
    int rc = 0;

    if (lstat(path, &st) == 0) {
        rc = KEYS_EEXIST;
        seterr(err, errlen, "'%s' already exists", path);
    } else if (errno != ENOENT) {
        rc = KEYS_EIO;
        seterr(err, errlen, "cannot stat '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
    }
    return rc;
}

/* Create @p path exclusively with exactly @p mode and write @p data; on any failure the
 * file is removed so no half-written key remains. */
static int write_new_file(const char *path, const char *data, size_t len, mode_t mode, char *err,
                          size_t errlen)
{
    char ebuf[STRERR_MAX];
    size_t off = 0;
    ssize_t n;
    int fd;
    int created = 0;
    int rc = 0;

    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOCTTY | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = errno == EEXIST ? KEYS_EEXIST : KEYS_EIO;
        seterr(err, errlen, "cannot create '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
        goto done;
    }
    created = 1;
    /* The umask may have narrowed (or, for 0644, trimmed) the mode; set it exactly. */
    if (fchmod(fd, mode) != 0) {
        rc = KEYS_EIO;
        seterr(err, errlen, "cannot chmod '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
        goto done;
    }
    while (off < len) {
        n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = KEYS_EIO;
            seterr(err, errlen, "cannot write '%s': %s", path,
                   errtext(n < 0 ? errno : EIO, ebuf, sizeof(ebuf)));
            goto done;
        }
        off += (size_t)n;
    }
    if (fsync(fd) != 0) {
        rc = KEYS_EIO;
        seterr(err, errlen, "cannot sync '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
        goto done;
    }
    n = close(fd);
    fd = -1;
    if (n != 0) {
        rc = KEYS_EIO;
        seterr(err, errlen, "cannot close '%s': %s", path, errtext(errno, ebuf, sizeof(ebuf)));
        goto done;
    }
done:
    if (fd >= 0)
        (void)close(fd);
    if (rc != 0 && created)
        (void)unlink(path);
    return rc;
}

int keys_save(const keys_key *k, const char *path, const char *pub_path, const char *name,
              const char *pass, size_t passlen, unsigned kdf_cost, char *err, size_t errlen)
{
    char pubtext[PUB_TEXT_MAX + KEYS_NAME_MAX + 32];
    size_t nlen = 0;
    X509_SIG *sig = NULL;
    BIO *bio = NULL;
    char *priv = NULL;
    long privlen = 0;
    int rc = KEYS_EINVAL;

    seterr(err, errlen, "%s", "");
    if (k == NULL || path == NULL || pub_path == NULL || pass == NULL) {
        seterr(err, errlen, "invalid argument");
        goto done;
    }
    if (strcmp(path, pub_path) == 0) {
        seterr(err, errlen, "private and public key files must differ");
        goto done;
    }
    if (passlen < KEYS_PASS_MIN || passlen > KEYS_PASS_MAX) {
        seterr(err, errlen, "passphrase must be %d to %d bytes", KEYS_PASS_MIN, KEYS_PASS_MAX);
        goto done;
    }
    if (kdf_cost < KEYS_KDF_COST_MIN || kdf_cost > KEYS_KDF_COST_MAX) {
        seterr(err, errlen, "kdf cost must be %d to %d", KEYS_KDF_COST_MIN, KEYS_KDF_COST_MAX);
        goto done;
    }
    if (name != NULL) {
        nlen = strnlen(name, KEYS_NAME_MAX + 1);
        if (!name_ok(name, nlen)) {
            seterr(err, errlen, "bad key name: at most %d bytes, no control characters",
                   KEYS_NAME_MAX);
            goto done;
        }
    }
    /* Refuse before writing anything, so an existing key is never half-replaced. */
    rc = check_absent(path, err, errlen);
    if (rc == 0)
        rc = check_absent(pub_path, err, errlen);
    if (rc != 0)
        goto done;

    rc = keys_pub_pem(pubtext, sizeof(pubtext), k->pub, name);
    if (rc != 0) {
        seterr(err, errlen, "cannot encode public key: %s", keys_strerror(rc));
        goto done;
    }
    rc = epki_encrypt(&sig, k->pkey, pass, passlen, kdf_cost, err, errlen);
    if (rc != 0)
        goto done;
    bio = BIO_new(BIO_s_mem());
    if (bio == NULL || (nlen > 0 && BIO_printf(bio, NAME_PREFIX "%s\n", name) <= 0) ||
        PEM_write_bio_PKCS8(bio, sig) != 1) {
        rc = KEYS_ECRYPTO;
        seterr(err, errlen, "cannot encode key file: %s", ossl_reason());
        goto done;
    }
    privlen = BIO_get_mem_data(bio, &priv);
    if (privlen <= 0) {
        rc = KEYS_ECRYPTO;
        seterr(err, errlen, "cannot encode key file");
        goto done;
    }
    rc = write_new_file(path, priv, (size_t)privlen, 0600, err, errlen);
    if (rc != 0)
        goto done;
    rc = write_new_file(pub_path, pubtext, strlen(pubtext), 0644, err, errlen);
    if (rc != 0) {
        (void)unlink(path); /* we created it above; leave nothing behind */
        goto done;
    }
done:
    BIO_free(bio);
    X509_SIG_free(sig);
    return rc;
}

/* ---- signing and verification --------------------------------------------------------- */

int keys_sign(const keys_key *k, uint8_t sig[KEYS_SIG_BYTES], const uint8_t *msg, size_t msglen)
{
    EVP_MD_CTX *ctx = NULL;
    size_t siglen = KEYS_SIG_BYTES;
    int rc = KEYS_EINVAL;

    if (k == NULL || sig == NULL || (msg == NULL && msglen > 0))
        goto done;
    if (msg == NULL)
        msg = empty_msg;
    rc = KEYS_ECRYPTO;
    ctx = EVP_MD_CTX_new();
    /* NULL digest: pure Ed25519 hashes the message itself. */
    if (ctx == NULL || EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) != 1 ||
        EVP_DigestSign(ctx, sig, &siglen, msg, msglen) != 1 || siglen != KEYS_SIG_BYTES) {
        ERR_clear_error();
        memset(sig, 0, KEYS_SIG_BYTES);
        goto done;
    }
    rc = 0;
done:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int keys_pub_new(keys_pub **out, const uint8_t pub[KEYS_PUB_BYTES])
{
    keys_pub *p = NULL;
    int rc = KEYS_EINVAL;

    if (out == NULL)
        goto done;
    *out = NULL;
    if (pub == NULL)
        goto done;
    p = calloc(1, sizeof(*p));
    if (p == NULL) {
        rc = KEYS_ENOMEM;
        goto done;
    }
    p->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, KEYS_PUB_BYTES);
    if (p->pkey == NULL) {
        ERR_clear_error();
        rc = KEYS_ECRYPTO;
        goto done;
    }
    *out = p;
    p = NULL;
    rc = 0;
done:
    keys_pub_free(p);
    return rc;
}

void keys_pub_free(keys_pub *p)
{
    if (p != NULL) {
        EVP_PKEY_free(p->pkey);
        free(p);
    }
}

int keys_pub_verify(const keys_pub *p, const uint8_t sig[KEYS_SIG_BYTES], const uint8_t *msg,
                    size_t msglen)
{
    EVP_MD_CTX *ctx = NULL;
    int rc = KEYS_EBADSIG;

    if (p == NULL || sig == NULL || (msg == NULL && msglen > 0))
        goto done;
    if (msg == NULL)
        msg = empty_msg;
    /* A context per call: the shared EVP_PKEY is only read, so threads may share it. */
    ctx = EVP_MD_CTX_new();
    if (ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, p->pkey) == 1 &&
        EVP_DigestVerify(ctx, sig, KEYS_SIG_BYTES, msg, msglen) == 1)
        rc = 0;
    else
        ERR_clear_error();
done:
    EVP_MD_CTX_free(ctx);
    return rc;
}

int keys_verify(const uint8_t pub[KEYS_PUB_BYTES], const uint8_t sig[KEYS_SIG_BYTES],
                const uint8_t *msg, size_t msglen)
{
    keys_pub *p = NULL;
    int rc = KEYS_EBADSIG;

    /* Any failure, even out of memory, reads as "not valid": never fail open. */
    if (keys_pub_new(&p, pub) == 0)
        rc = keys_pub_verify(p, sig, msg, msglen);
    keys_pub_free(p);
    return rc;
}

/* ---- key ids and fingerprints ----------------------------------------------------------- */

/* SHA-256 of a raw public key. These void APIs cannot report the (allocation-only)
 * failure, so it yields all zeros, which no real key hashes to in practice. */
static void pub_sha256(uint8_t md[KEYS_FPR_BYTES], const uint8_t pub[KEYS_PUB_BYTES])
{
    unsigned int mdlen = 0;

    if (EVP_Digest(pub, KEYS_PUB_BYTES, md, &mdlen, EVP_sha256(), NULL) != 1 ||
        mdlen != KEYS_FPR_BYTES) {
        ERR_clear_error();
        memset(md, 0, KEYS_FPR_BYTES);
    }
}

void keys_kid(uint8_t kid[KEYS_KID_BYTES], const uint8_t pub[KEYS_PUB_BYTES])
{
    uint8_t md[KEYS_FPR_BYTES];

    pub_sha256(md, pub);
    memcpy(kid, md, KEYS_KID_BYTES);
}

void keys_fingerprint(uint8_t fpr[KEYS_FPR_BYTES], const uint8_t pub[KEYS_PUB_BYTES])
{
    pub_sha256(fpr, pub);
}

void keys_fpr_format(char out[KEYS_FPR_TEXT_BYTES], const uint8_t fpr[KEYS_FPR_BYTES])
{
    static const char hex[] = "0123456789abcdef";
    size_t i, o = 0;

    for (i = 0; i < KEYS_FPR_BYTES; i++) {
        if (i > 0 && i % 2 == 0)
            out[o++] = ':';
        out[o++] = hex[fpr[i] >> 4];
        out[o++] = hex[fpr[i] & 0xf];
    }
    out[o] = '\0';
}

/* Value of a hex digit (either case), or -1. Byte arithmetic: no locale. */
static int hex_value(char c)
{
    int v = -1;

    if (c >= '0' && c <= '9')
        v = c - '0';
    else if (c >= 'a' && c <= 'f')
        v = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F')
        v = c - 'A' + 10;
    return v;
}

int keys_fpr_parse(uint8_t fpr[KEYS_FPR_BYTES], const char *text)
{
    uint8_t tmp[KEYS_FPR_BYTES];
    size_t i, nd = 0;
    int v;
    int rc = KEYS_EINVAL;

    if (fpr == NULL || text == NULL)
        goto done;
    memset(tmp, 0, sizeof(tmp));
    for (i = 0; text[i] != '\0'; i++) {
        if (i >= FPR_TEXT_SCAN_MAX)
            goto done;
        v = hex_value(text[i]);
        if (v < 0) {
            if (text[i] != ':' && text[i] != ' ' && text[i] != '-')
                goto done;
            continue;
        }
        if (nd >= 2 * KEYS_FPR_BYTES)
            goto done;
        tmp[nd / 2] = (uint8_t)(tmp[nd / 2] | (nd % 2 == 0 ? v << 4 : v));
        nd++;
    }
    if (nd != 2 * KEYS_FPR_BYTES)
        goto done;
    memcpy(fpr, tmp, KEYS_FPR_BYTES);
    rc = 0;
done:
    return rc;
}

int keys_equal(const void *a, const void *b, size_t n)
{
    return n == 0 || CRYPTO_memcmp(a, b, n) == 0;
}

void keys_wipe(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}
