/**
 * @file test_keys.c
 * @brief Unit tests for keys: real OpenSSL, real files in a fresh temp directory.
 */
#define OPENSSL_API_COMPAT 30000
#define OPENSSL_NO_DEPRECATED

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
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
#include <openssl/pkcs12.h>
#include <openssl/x509.h>

#include "keys/keys.h"

#define PASS      "correct horse battery staple"
#define PASS_LEN  (sizeof(PASS) - 1)
#define COST      KEYS_KDF_COST_MIN
#define PATH_MAX_ 512
#define ERR_MAX   256
#define FILE_CAP  (64 * 1024)

/** Per-test temp directory. */
typedef struct fixture {
    char dir[64];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    int rc = -1;

    if (f != NULL) {
        (void)snprintf(f->dir, sizeof(f->dir), "/tmp/test_keys.XXXXXX");
        if (mkdtemp(f->dir) != NULL) {
            *state = f;
            f = NULL;
            rc = 0;
        }
    }
    free(f);
    return rc;
}

/* Remove the temp directory and the (flat) files the test left in it. */
static int teardown(void **state)
{
    fixture *f = *state;
    char p[PATH_MAX_];
    struct dirent *de;
    DIR *d = opendir(f->dir);

    if (d != NULL) {
        while ((de = readdir(d)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            (void)snprintf(p, sizeof(p), "%s/%s", f->dir, de->d_name);
            (void)unlink(p);
        }
        (void)closedir(d);
    }
    (void)rmdir(f->dir);
    free(f);
    return 0;
}

/* Path of @p name inside the test directory (static buffer per slot). */
static const char *tpath(void **state, int slot, const char *name)
{
    static char bufs[4][PATH_MAX_];
    fixture *f = *state;

    (void)snprintf(bufs[slot], sizeof(bufs[slot]), "%s/%s", f->dir, name);
    return bufs[slot];
}

/* Whole file into a malloc'd NUL-terminated buffer. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = malloc(FILE_CAP + 1);
    size_t n;

    assert_non_null(fp);
    assert_non_null(buf);
    n = fread(buf, 1, FILE_CAP, fp);
    assert_true(n < FILE_CAP);
    buf[n] = '\0';
    (void)fclose(fp);
    if (len != NULL)
        *len = n;
    return buf;
}

static void spew(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    assert_int_equal(fchmod(fd, mode), 0);
    assert_int_equal(close(fd), 0);
}

static int contains(const void *hay, size_t haylen, const void *needle, size_t nlen)
{
    const unsigned char *h = hay;
    size_t i;
    int found = 0;

    for (i = 0; !found && nlen <= haylen && i <= haylen - nlen; i++)
        found = memcmp(h + i, needle, nlen) == 0;
    return found;
}

static void hex2bin(uint8_t *out, size_t outlen, const char *hex)
{
    size_t i;
    unsigned v;

    assert_int_equal(strlen(hex), 2 * outlen);
    for (i = 0; i < outlen; i++) {
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

static int file_exists(const char *path)
{
    struct stat st;

    return lstat(path, &st) == 0;
}

/* Generate a key and save it as "key" / "key.pub" in the test directory. */
static keys_key *make_saved_key(void **state, const char *name, unsigned cost)
{
    keys_key *k = NULL;
    char err[ERR_MAX];

    assert_int_equal(keys_generate(&k), 0);
    assert_non_null(k);
    assert_int_equal(keys_save(k, tpath(state, 0, "key"), tpath(state, 1, "key.pub"), name, PASS,
                               PASS_LEN, cost, err, sizeof(err)),
                     0);
    assert_string_equal(err, "");
    return k;
}

/* The PBES2 parameters of a key file, read with plain OpenSSL. */
static void kdf_params(const char *path, uint64_t *n, uint64_t *r, uint64_t *p, int *cipher)
{
    BIO *bio = BIO_new_file(path, "r");
    X509_SIG *sig;
    const X509_ALGOR *alg = NULL;
    const ASN1_OCTET_STRING *digest = NULL;
    const ASN1_OBJECT *obj = NULL;
    const void *pval = NULL;
    int ptype = 0;
    PBE2PARAM *pbe2;
    SCRYPT_PARAMS *sp;

    assert_non_null(bio);
    sig = PEM_read_bio_PKCS8(bio, NULL, NULL, NULL);
    assert_non_null(sig);
    X509_SIG_get0(sig, &alg, &digest);
    X509_ALGOR_get0(&obj, &ptype, &pval, alg);
    assert_int_equal(OBJ_obj2nid(obj), NID_pbes2);
    pbe2 = ASN1_item_unpack(pval, ASN1_ITEM_rptr(PBE2PARAM));
    assert_non_null(pbe2);
    X509_ALGOR_get0(&obj, &ptype, &pval, pbe2->keyfunc);
    assert_int_equal(OBJ_obj2nid(obj), NID_id_scrypt);
    sp = ASN1_item_unpack(pval, ASN1_ITEM_rptr(SCRYPT_PARAMS));
    assert_non_null(sp);
    assert_int_equal(ASN1_INTEGER_get_uint64(n, sp->costParameter), 1);
    assert_int_equal(ASN1_INTEGER_get_uint64(r, sp->blockSize), 1);
    assert_int_equal(ASN1_INTEGER_get_uint64(p, sp->parallelizationParameter), 1);
    X509_ALGOR_get0(&obj, &ptype, &pval, pbe2->encryption);
    *cipher = OBJ_obj2nid(obj);
    SCRYPT_PARAMS_free(sp);
    PBE2PARAM_free(pbe2);
    X509_SIG_free(sig);
    BIO_free(bio);
}

/* Encrypt @p pkey the stock OpenSSL way (PBES2, scrypt N = 2^10, AES-256-CBC). */
static void write_openssl_epki(const char *path, EVP_PKEY *pkey)
{
    X509_ALGOR *alg = PKCS5_pbe2_set_scrypt(EVP_aes_256_cbc(), NULL, 0, NULL, 1024, 8, 1);
    PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pkey);
    X509_SIG *sig;
    BIO *bio;

    assert_non_null(alg);
    assert_non_null(p8);
    sig = PKCS8_set0_pbe(PASS, (int)PASS_LEN, p8, alg);
    assert_non_null(sig);
    bio = BIO_new_file(path, "w");
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PKCS8(bio, sig), 1);
    BIO_free(bio);
    assert_int_equal(chmod(path, 0600), 0);
    X509_SIG_free(sig);
    PKCS8_PRIV_KEY_INFO_free(p8);
}

static void test_keys_save_load_round_trip(void **state)
{
    keys_key *k = make_saved_key(state, "Dr. Ann Example", COST);
    keys_key *k2 = NULL;
    uint8_t pub[KEYS_PUB_BYTES], pub2[KEYS_PUB_BYTES], pub3[KEYS_PUB_BYTES];
    char name[KEYS_NAME_MAX + 1];
    char err[ERR_MAX];

    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), PASS, PASS_LEN, err, sizeof(err)), 0);
    assert_non_null(k2);
    keys_key_pub(k, pub);
    keys_key_pub(k2, pub2);
    assert_memory_equal(pub, pub2, KEYS_PUB_BYTES);
    assert_string_equal(keys_key_name(k2), "Dr. Ann Example");
    assert_string_equal(keys_key_name(k), "");

    assert_int_equal(keys_read_pub(pub3, name, tpath(state, 1, "key.pub"), err, sizeof(err)), 0);
    assert_memory_equal(pub, pub3, KEYS_PUB_BYTES);
    assert_string_equal(name, "Dr. Ann Example");
    keys_free(k);
    keys_free(k2);
}

static void test_keys_save_load_without_name(void **state)
{
    keys_key *k = make_saved_key(state, NULL, COST);
    keys_key *k2 = NULL;
    char name[KEYS_NAME_MAX + 1] = "junk";
    uint8_t pub[KEYS_PUB_BYTES];
    char *text = slurp(tpath(state, 0, "key"), NULL);

    assert_int_equal(strncmp(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----\n", 38), 0);
    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), PASS, PASS_LEN, NULL, 0), 0);
    assert_string_equal(keys_key_name(k2), "");
    assert_int_equal(keys_read_pub(pub, name, tpath(state, 1, "key.pub"), NULL, 0), 0);
    assert_string_equal(name, "");
    free(text);
    keys_free(k);
    keys_free(k2);
}

static void test_keys_save_sets_file_modes(void **state)
{
    static const mode_t masks[] = {0, 022, 077};
    struct stat st;
    keys_key *k = NULL;
    mode_t old;
    size_t i;

    assert_int_equal(keys_generate(&k), 0);
    for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
        old = umask(masks[i]);
        assert_int_equal(keys_save(k, tpath(state, 0, "key"), tpath(state, 1, "key.pub"), "m", PASS,
                                   PASS_LEN, COST, NULL, 0),
                         0);
        (void)umask(old);
        assert_int_equal(stat(tpath(state, 0, "key"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0600);
        assert_int_equal(stat(tpath(state, 1, "key.pub"), &st), 0);
        assert_int_equal(st.st_mode & 07777, 0644);
        assert_int_equal(unlink(tpath(state, 0, "key")), 0);
        assert_int_equal(unlink(tpath(state, 1, "key.pub")), 0);
    }
    keys_free(k);
}

static void test_keys_file_is_encrypted_standard_pkcs8(void **state)
{
    keys_key *k = make_saved_key(state, "enc", COST);
    uint8_t pub[KEYS_PUB_BYTES], rawpub[KEYS_PUB_BYTES], priv[32];
    size_t len = 0, rawlen = sizeof(rawpub), privlen = sizeof(priv);
    char *text = slurp(tpath(state, 0, "key"), &len);
    BIO *bio, *plain;
    EVP_PKEY *pkey;
    char *pem = NULL;
    long pemlen;
    char *body;

    assert_non_null(strstr(text, "rxledger-name: enc\n-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
    assert_null(strstr(text, "BEGIN PRIVATE KEY"));

    /* Stock OpenSSL decrypts it with the passphrase: the format is standard. */
    bio = BIO_new_mem_buf(text, (int)len);
    assert_non_null(bio);
    pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)PASS);
    assert_non_null(pkey);
    assert_int_equal(EVP_PKEY_get_id(pkey), EVP_PKEY_ED25519);
    assert_int_equal(EVP_PKEY_get_raw_public_key(pkey, rawpub, &rawlen), 1);
    keys_key_pub(k, pub);
    assert_memory_equal(pub, rawpub, KEYS_PUB_BYTES);

    /* Neither the raw secret nor its unencrypted PKCS#8 encoding is in the file. */
    assert_int_equal(EVP_PKEY_get_raw_private_key(pkey, priv, &privlen), 1);
    assert_int_equal(privlen, 32);
    assert_false(contains(text, len, priv, privlen));
    plain = BIO_new(BIO_s_mem());
    assert_int_equal(PEM_write_bio_PrivateKey(plain, pkey, NULL, NULL, 0, NULL, NULL), 1);
    pemlen = BIO_get_mem_data(plain, &pem);
    assert_true(pemlen > 0);
    body = strchr(pem, '\n') + 1; /* the base64 line of the secret */
    assert_false(contains(text, len, body, 40));

    OPENSSL_cleanse(priv, sizeof(priv));
    BIO_free(plain);
    BIO_free(bio);
    EVP_PKEY_free(pkey);
    free(text);
    keys_free(k);
}

static void test_keys_file_uses_scrypt_and_aes256cbc(void **state)
{
    keys_key *k = make_saved_key(state, NULL, COST);
    uint64_t n = 0, r = 0, p = 0;
    int cipher = 0;

    kdf_params(tpath(state, 0, "key"), &n, &r, &p, &cipher);
    assert_int_equal(n, 1u << COST);
    assert_int_equal(r, 8);
    assert_int_equal(p, 1);
    assert_int_equal(cipher, NID_aes_256_cbc);
    keys_free(k);
}

/* The default cost is beyond OpenSSL 3.0's own 32 MiB scrypt limit: it must still work. */
static void test_keys_default_cost_round_trip(void **state)
{
    keys_key *k = make_saved_key(state, "default", KEYS_KDF_COST_DEFAULT);
    keys_key *k2 = NULL;
    uint8_t pub[KEYS_PUB_BYTES], pub2[KEYS_PUB_BYTES];
    uint64_t n = 0, r = 0, p = 0;
    int cipher = 0;
    char err[ERR_MAX];

    kdf_params(tpath(state, 0, "key"), &n, &r, &p, &cipher);
    assert_int_equal(n, 1u << KEYS_KDF_COST_DEFAULT);
    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), PASS, PASS_LEN, err, sizeof(err)), 0);
    keys_key_pub(k, pub);
    keys_key_pub(k2, pub2);
    assert_memory_equal(pub, pub2, KEYS_PUB_BYTES);
    keys_free(k2);
    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), "wrong pass", 10, err, sizeof(err)),
                     KEYS_EPASS);
    assert_null(k2);
    keys_free(k);
}

static void test_keys_wrong_passphrase(void **state)
{
    keys_key *k = make_saved_key(state, NULL, COST);
    keys_key *k2 = (keys_key *)(uintptr_t)1; /* keys_load must reset it */
    char err[ERR_MAX];
    char want[PATH_MAX_ + 64];

    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), "correct horse battery stapl",
                               PASS_LEN - 1, err, sizeof(err)),
                     KEYS_EPASS);
    assert_null(k2);
    (void)snprintf(want, sizeof(want), "wrong passphrase for '%s'", tpath(state, 0, "key"));
    assert_string_equal(err, want);
    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), "", 0, err, sizeof(err)), KEYS_EPASS);
    assert_int_equal(ERR_peek_error(), 0);
    keys_free(k);
}

/* Load @p data written as a 0600 file; expect @p code and an error naming the file. */
static void expect_load_fails(void **state, const void *data, size_t len, int code)
{
    keys_key *k = NULL;
    char err[ERR_MAX];

    spew(tpath(state, 2, "bad"), data, len, 0600);
    assert_int_equal(keys_load(&k, tpath(state, 2, "bad"), PASS, PASS_LEN, err, sizeof(err)), code);
    assert_null(k);
    assert_non_null(strstr(err, tpath(state, 2, "bad")));
    assert_int_equal(ERR_peek_error(), 0);
    assert_int_equal(unlink(tpath(state, 2, "bad")), 0);
}

static void test_keys_corrupt_files(void **state)
{
    keys_key *k = make_saved_key(state, "c", COST);
    size_t len = 0, i;
    char *text = slurp(tpath(state, 0, "key"), &len);
    char *pub = slurp(tpath(state, 1, "key.pub"), NULL);
    char *body;
    char *big;
    static const unsigned char garbage[] = {0x00, 0xff, 0x30, 0x82, 'x', '\n', 0x01};

    expect_load_fails(state, garbage, sizeof(garbage), KEYS_ECORRUPT);
    expect_load_fails(state, "", 0, KEYS_ECORRUPT);
    expect_load_fails(state, text, len / 2, KEYS_ECORRUPT); /* truncated PEM */
    expect_load_fails(state, pub, strlen(pub), KEYS_ECORRUPT);
    expect_load_fails(state, "rxledger-name: no newline", 25, KEYS_ECORRUPT);

    /* Damage the DER tag of the encrypted structure: not a passphrase problem. */
    body = strstr(text, "KEY-----\n") + 9;
    assert_int_equal(*body, 'M');
    *body = 'A';
    expect_load_fails(state, text, len, KEYS_ECORRUPT);

    /* Oversized: a valid file padded past the bound. */
    big = malloc(20 * 1024 + len);
    assert_non_null(big);
    for (i = 0; i < 20 * 1024; i++)
        big[i] = (i % 64 == 63) ? '\n' : 'x';
    *body = 'M';
    memcpy(big + 20 * 1024, text, len);
    expect_load_fails(state, big, 20 * 1024 + len, KEYS_ECORRUPT);

    free(big);
    free(pub);
    free(text);
    keys_free(k);
}

static void test_keys_refuses_unencrypted_key(void **state)
{
    EVP_PKEY *pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    BIO *bio = BIO_new(BIO_s_mem());
    keys_key *k = NULL;
    char *pem = NULL;
    long pemlen;
    char err[ERR_MAX];

    assert_non_null(pkey);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL), 1);
    pemlen = BIO_get_mem_data(bio, &pem);
    spew(tpath(state, 0, "plain"), pem, (size_t)pemlen, 0600);
    assert_int_equal(keys_load(&k, tpath(state, 0, "plain"), PASS, PASS_LEN, err, sizeof(err)),
                     KEYS_ECORRUPT);
    assert_null(k);
    assert_non_null(strstr(err, "is not encrypted"));
    BIO_free(bio);
    EVP_PKEY_free(pkey);
}

static void test_keys_load_refuses_open_permissions(void **state)
{
    keys_key *k = make_saved_key(state, NULL, COST);
    keys_key *k2 = NULL;
    char err[ERR_MAX];
    char want[PATH_MAX_ + 64];

    assert_int_equal(chmod(tpath(state, 0, "key"), 0644), 0);
    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), PASS, PASS_LEN, err, sizeof(err)),
                     KEYS_EPERM);
    assert_null(k2);
    (void)snprintf(want, sizeof(want),
                   "key file '%s' is readable by others (mode 0644): chmod 600 it",
                   tpath(state, 0, "key"));
    assert_string_equal(err, want);

    assert_int_equal(chmod(tpath(state, 0, "key"), 0620), 0);
    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), PASS, PASS_LEN, err, sizeof(err)),
                     KEYS_EPERM);
    assert_non_null(strstr(err, "chmod 600"));

    assert_int_equal(chmod(tpath(state, 0, "key"), 0400), 0);
    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), PASS, PASS_LEN, err, sizeof(err)), 0);
    keys_free(k2);
    keys_free(k);
}

static void test_keys_load_missing_file(void **state)
{
    keys_key *k = NULL;
    char err[ERR_MAX];
    char want[PATH_MAX_ + 64];

    assert_int_equal(keys_load(&k, tpath(state, 0, "nope"), PASS, PASS_LEN, err, sizeof(err)),
                     KEYS_EIO);
    (void)snprintf(want, sizeof(want), "cannot open '%s': %s", tpath(state, 0, "nope"),
                   strerror(ENOENT));
    assert_string_equal(err, want);
    assert_int_equal(keys_load(&k, tpath(state, 0, ""), PASS, PASS_LEN, err, sizeof(err)),
                     KEYS_EIO); /* the directory itself */
    assert_null(k);
}

static void test_keys_save_refuses_existing_file(void **state)
{
    keys_key *k = make_saved_key(state, "first", COST);
    keys_key *other = NULL;
    size_t len = 0, len2 = 0, plen = 0, plen2 = 0;
    char *before = slurp(tpath(state, 0, "key"), &len);
    char *pbefore = slurp(tpath(state, 1, "key.pub"), &plen);
    char *after, *pafter;
    char err[ERR_MAX];

    assert_int_equal(keys_generate(&other), 0);
    assert_int_equal(keys_save(other, tpath(state, 0, "key"), tpath(state, 2, "other.pub"),
                               "second", PASS, PASS_LEN, COST, err, sizeof(err)),
                     KEYS_EEXIST);
    assert_non_null(strstr(err, "already exists"));
    assert_false(file_exists(tpath(state, 2, "other.pub")));
    after = slurp(tpath(state, 0, "key"), &len2);
    pafter = slurp(tpath(state, 1, "key.pub"), &plen2);
    assert_int_equal(len, len2);
    assert_memory_equal(before, after, len);
    assert_int_equal(plen, plen2);
    assert_memory_equal(pbefore, pafter, plen);

    /* Only the public file exists: still refused, and no private file appears. */
    assert_int_equal(keys_save(other, tpath(state, 2, "other"), tpath(state, 1, "key.pub"),
                               "second", PASS, PASS_LEN, COST, err, sizeof(err)),
                     KEYS_EEXIST);
    assert_false(file_exists(tpath(state, 2, "other")));

    free(after);
    free(pafter);
    free(before);
    free(pbefore);
    keys_free(other);
    keys_free(k);
}

static void test_keys_save_rejects_bad_arguments(void **state)
{
    keys_key *k = NULL;
    char longname[KEYS_NAME_MAX + 2];
    char pass[KEYS_PASS_MAX + 1];
    char err[ERR_MAX];
    const char *key = tpath(state, 0, "key");
    const char *pub = tpath(state, 1, "key.pub");

    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    memset(pass, 'p', sizeof(pass));
    assert_int_equal(keys_generate(&k), 0);

    assert_int_equal(keys_save(k, key, pub, NULL, "short77", 7, COST, err, sizeof(err)),
                     KEYS_EINVAL);
    assert_non_null(strstr(err, "passphrase"));
    assert_int_equal(keys_save(k, key, pub, NULL, pass, KEYS_PASS_MAX + 1, COST, NULL, 0),
                     KEYS_EINVAL);
    assert_int_equal(keys_save(k, key, pub, NULL, PASS, PASS_LEN, KEYS_KDF_COST_MIN - 1, NULL, 0),
                     KEYS_EINVAL);
    assert_int_equal(keys_save(k, key, pub, NULL, PASS, PASS_LEN, KEYS_KDF_COST_MAX + 1, NULL, 0),
                     KEYS_EINVAL);
    assert_int_equal(keys_save(k, key, pub, "two\nlines", PASS, PASS_LEN, COST, NULL, 0),
                     KEYS_EINVAL);
    assert_int_equal(keys_save(k, key, pub, "tab\there", PASS, PASS_LEN, COST, NULL, 0),
                     KEYS_EINVAL);
    assert_int_equal(keys_save(k, key, pub, longname, PASS, PASS_LEN, COST, NULL, 0), KEYS_EINVAL);
    assert_int_equal(keys_save(k, key, key, NULL, PASS, PASS_LEN, COST, NULL, 0), KEYS_EINVAL);
    assert_int_equal(keys_save(NULL, key, pub, NULL, PASS, PASS_LEN, COST, NULL, 0), KEYS_EINVAL);
    assert_false(file_exists(key));
    assert_false(file_exists(pub));

    /* The longest allowed name and the shortest passphrase are accepted. */
    longname[KEYS_NAME_MAX] = '\0';
    assert_int_equal(keys_save(k, key, pub, longname, "8 bytes!", KEYS_PASS_MIN, COST, NULL, 0), 0);
    keys_free(k);
    assert_int_equal(keys_load(&k, key, "8 bytes!", KEYS_PASS_MIN, NULL, 0), 0);
    assert_string_equal(keys_key_name(k), longname);
    keys_free(k);
}

static void test_keys_save_leaves_nothing_on_failure(void **state)
{
    keys_key *k = NULL;
    char err[ERR_MAX];

    assert_int_equal(keys_generate(&k), 0);
    assert_int_equal(keys_save(k, tpath(state, 0, "key"), tpath(state, 1, "missing/key.pub"), NULL,
                               PASS, PASS_LEN, COST, err, sizeof(err)),
                     KEYS_EIO);
    assert_non_null(strstr(err, "missing/key.pub"));
    assert_false(file_exists(tpath(state, 0, "key")));
    assert_int_equal(keys_save(k, tpath(state, 0, "missing/key"), tpath(state, 1, "key.pub"), NULL,
                               PASS, PASS_LEN, COST, err, sizeof(err)),
                     KEYS_EIO);
    assert_false(file_exists(tpath(state, 1, "key.pub")));
    keys_free(k);
}

static void test_keys_sign_verify_round_trip(void **state)
{
    static const uint8_t msg[] = "dispensed 30 tablets oxycodone 5 mg";
    keys_key *k = NULL, *k2 = NULL;
    keys_pub *p = NULL;
    uint8_t pub[KEYS_PUB_BYTES], pub2[KEYS_PUB_BYTES];
    uint8_t sig[KEYS_SIG_BYTES], bad[KEYS_SIG_BYTES], empty_sig[KEYS_SIG_BYTES];
    uint8_t m2[sizeof(msg)];
    size_t i;

    (void)state;
    assert_int_equal(keys_generate(&k), 0);
    assert_int_equal(keys_generate(&k2), 0);
    keys_key_pub(k, pub);
    keys_key_pub(k2, pub2);
    assert_false(keys_equal(pub, pub2, KEYS_PUB_BYTES));

    assert_int_equal(keys_sign(k, sig, msg, sizeof(msg)), 0);
    assert_int_equal(keys_verify(pub, sig, msg, sizeof(msg)), 0);
    assert_int_equal(keys_verify(pub2, sig, msg, sizeof(msg)), KEYS_EBADSIG);
    assert_int_equal(keys_pub_new(&p, pub), 0);
    assert_int_equal(keys_pub_verify(p, sig, msg, sizeof(msg)), 0);
    assert_int_equal(keys_pub_verify(p, sig, msg, sizeof(msg) - 1), KEYS_EBADSIG);

    for (i = 0; i < sizeof(msg) * 8; i += 7) {
        memcpy(m2, msg, sizeof(msg));
        m2[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(keys_pub_verify(p, sig, m2, sizeof(m2)), KEYS_EBADSIG);
    }
    for (i = 0; i < KEYS_SIG_BYTES * 8; i += 5) {
        memcpy(bad, sig, sizeof(sig));
        bad[i / 8] ^= (uint8_t)(1u << (i % 8));
        assert_int_equal(keys_pub_verify(p, bad, msg, sizeof(msg)), KEYS_EBADSIG);
        assert_int_equal(keys_verify(pub, bad, msg, sizeof(msg)), KEYS_EBADSIG);
    }

    /* Empty message, also as NULL. Ed25519 is deterministic. */
    assert_int_equal(keys_sign(k, empty_sig, NULL, 0), 0);
    assert_int_equal(keys_pub_verify(p, empty_sig, (const uint8_t *)"", 0), 0);
    assert_int_equal(keys_sign(k, bad, (const uint8_t *)"", 0), 0);
    assert_memory_equal(bad, empty_sig, KEYS_SIG_BYTES);
    assert_int_equal(keys_pub_verify(p, empty_sig, msg, sizeof(msg)), KEYS_EBADSIG);
    assert_int_equal(keys_pub_verify(NULL, sig, msg, sizeof(msg)), KEYS_EBADSIG);
    assert_int_equal(ERR_peek_error(), 0);

    keys_pub_free(p);
    keys_free(k);
    keys_free(k2);
}

/* A loaded key signs exactly like the generated one it was saved from. */
static void test_keys_loaded_key_signs(void **state)
{
    static const uint8_t msg[] = "entry";
    keys_key *k = make_saved_key(state, NULL, COST);
    keys_key *k2 = NULL;
    uint8_t sig[KEYS_SIG_BYTES], sig2[KEYS_SIG_BYTES], pub[KEYS_PUB_BYTES];

    assert_int_equal(keys_load(&k2, tpath(state, 0, "key"), PASS, PASS_LEN, NULL, 0), 0);
    assert_int_equal(keys_sign(k, sig, msg, sizeof(msg)), 0);
    assert_int_equal(keys_sign(k2, sig2, msg, sizeof(msg)), 0);
    assert_memory_equal(sig, sig2, KEYS_SIG_BYTES);
    keys_key_pub(k2, pub);
    assert_int_equal(keys_verify(pub, sig2, msg, sizeof(msg)), 0);
    keys_free(k);
    keys_free(k2);
}

static void test_keys_rfc8032_vectors(void **state)
{
    uint8_t pub[KEYS_PUB_BYTES], sig[KEYS_SIG_BYTES];
    const uint8_t m2[1] = {0x72};

    (void)state;
    /* RFC 8032 section 7.1, TEST 1: empty message. */
    hex2bin(pub, sizeof(pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    hex2bin(sig, sizeof(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e"
            "39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
    assert_int_equal(keys_verify(pub, sig, NULL, 0), 0);
    assert_int_equal(keys_verify(pub, sig, m2, 1), KEYS_EBADSIG);
    sig[63] ^= 0x01;
    assert_int_equal(keys_verify(pub, sig, NULL, 0), KEYS_EBADSIG);

    /* TEST 2: one byte 0x72. */
    hex2bin(pub, sizeof(pub), "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
    hex2bin(sig, sizeof(sig),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f"
            "3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
    assert_int_equal(keys_verify(pub, sig, m2, 1), 0);
    assert_int_equal(keys_verify(pub, sig, NULL, 0), KEYS_EBADSIG);
}

static void test_keys_kid_and_fingerprint_are_sha256(void **state)
{
    keys_key *k = NULL;
    uint8_t pub[KEYS_PUB_BYTES], md[32], kid[KEYS_KID_BYTES], fpr[KEYS_FPR_BYTES];
    unsigned int mdlen = 0;

    (void)state;
    assert_int_equal(keys_generate(&k), 0);
    keys_key_pub(k, pub);
    assert_int_equal(EVP_Digest(pub, sizeof(pub), md, &mdlen, EVP_sha256(), NULL), 1);
    assert_int_equal(mdlen, 32);
    keys_kid(kid, pub);
    keys_fingerprint(fpr, pub);
    assert_memory_equal(kid, md, KEYS_KID_BYTES);
    assert_memory_equal(fpr, md, KEYS_FPR_BYTES);

    /* Also for a fixed key (RFC 8032 TEST 1). */
    hex2bin(pub, sizeof(pub), "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a");
    assert_int_equal(EVP_Digest(pub, sizeof(pub), md, &mdlen, EVP_sha256(), NULL), 1);
    keys_fingerprint(fpr, pub);
    assert_memory_equal(fpr, md, KEYS_FPR_BYTES);
    keys_free(k);
}

static void test_keys_fpr_format_and_parse(void **state)
{
    uint8_t fpr[KEYS_FPR_BYTES], back[KEYS_FPR_BYTES];
    char text[KEYS_FPR_TEXT_BYTES];
    char alt[KEYS_FPR_TEXT_BYTES + 32];
    size_t i, o;

    (void)state;
    for (i = 0; i < KEYS_FPR_BYTES; i++)
        fpr[i] = (uint8_t)(i * 37 + 0xa5);
    memset(text, 'x', sizeof(text));
    keys_fpr_format(text, fpr);
    assert_int_equal(strlen(text), KEYS_FPR_TEXT_BYTES - 1);
    assert_int_equal(strncmp(text, "a5ca:ef14:395e:83a8:", 20), 0);
    for (i = 0; i < strlen(text); i++)
        assert_true(i % 5 == 4 ? text[i] == ':'
                               : ((text[i] >= '0' && text[i] <= '9') ||
                                  (text[i] >= 'a' && text[i] <= 'f')));
    assert_int_equal(keys_fpr_parse(back, text), 0);
    assert_memory_equal(back, fpr, KEYS_FPR_BYTES);

    /* Separators ' ' and '-', none at all, upper case. */
    for (i = 0, o = 0; text[i] != '\0'; i++) {
        char c = text[i];
        if (c == ':')
            c = (i % 2) ? ' ' : '-';
        else if (c >= 'a' && c <= 'f')
            c = (char)(c - 'a' + 'A');
        alt[o++] = c;
    }
    alt[o] = '\0';
    memset(back, 0, sizeof(back));
    assert_int_equal(keys_fpr_parse(back, alt), 0);
    assert_memory_equal(back, fpr, KEYS_FPR_BYTES);
    for (i = 0, o = 0; text[i] != '\0'; i++)
        if (text[i] != ':')
            alt[o++] = text[i];
    alt[o] = '\0';
    assert_int_equal(strlen(alt), 64);
    memset(back, 0, sizeof(back));
    assert_int_equal(keys_fpr_parse(back, alt), 0);
    assert_memory_equal(back, fpr, KEYS_FPR_BYTES);

    /* 63 digits, 65 digits, non-hex, other separators: rejected, output untouched. */
    memset(back, 0x55, sizeof(back));
    alt[63] = '\0';
    assert_int_equal(keys_fpr_parse(back, alt), KEYS_EINVAL);
    alt[63] = text[78];
    alt[64] = '0';
    alt[65] = '\0';
    assert_int_equal(keys_fpr_parse(back, alt), KEYS_EINVAL);
    alt[64] = '\0';
    alt[10] = 'g';
    assert_int_equal(keys_fpr_parse(back, alt), KEYS_EINVAL);
    alt[10] = '.';
    assert_int_equal(keys_fpr_parse(back, alt), KEYS_EINVAL);
    assert_int_equal(keys_fpr_parse(back, ""), KEYS_EINVAL);
    assert_int_equal(keys_fpr_parse(back, NULL), KEYS_EINVAL);
    for (i = 0; i < KEYS_FPR_BYTES; i++)
        assert_int_equal(back[i], 0x55);
}

static void test_keys_pub_pem_round_trip(void **state)
{
    keys_key *k = NULL;
    uint8_t pub[KEYS_PUB_BYTES], pub2[KEYS_PUB_BYTES];
    char pem[1024], small[64];
    char name[KEYS_NAME_MAX + 1];
    char err[ERR_MAX];
    char *saved;

    assert_int_equal(keys_generate(&k), 0);
    keys_key_pub(k, pub);
    assert_int_equal(keys_pub_pem(pem, sizeof(pem), pub, "Pharmacy #7"), 0);
    assert_int_equal(strncmp(pem, "rxledger-name: Pharmacy #7\n-----BEGIN PUBLIC KEY-----\n", 54),
                     0);
    spew(tpath(state, 0, "a.pub"), pem, strlen(pem), 0644);
    assert_int_equal(keys_read_pub(pub2, name, tpath(state, 0, "a.pub"), err, sizeof(err)), 0);
    assert_memory_equal(pub, pub2, KEYS_PUB_BYTES);
    assert_string_equal(name, "Pharmacy #7");

    /* keys_save writes exactly this text as the .pub file. */
    assert_int_equal(keys_save(k, tpath(state, 1, "k"), tpath(state, 2, "k.pub"), "Pharmacy #7",
                               PASS, PASS_LEN, COST, NULL, 0),
                     0);
    saved = slurp(tpath(state, 2, "k.pub"), NULL);
    assert_string_equal(saved, pem);
    free(saved);

    assert_int_equal(keys_pub_pem(pem, sizeof(pem), pub, NULL), 0);
    assert_int_equal(strncmp(pem, "-----BEGIN PUBLIC KEY-----\n", 27), 0);
    spew(tpath(state, 0, "b.pub"), pem, strlen(pem), 0644);
    memset(pub2, 0, sizeof(pub2));
    assert_int_equal(keys_read_pub(pub2, NULL, tpath(state, 0, "b.pub"), NULL, 0), 0);
    assert_memory_equal(pub, pub2, KEYS_PUB_BYTES);

    assert_int_equal(keys_pub_pem(small, sizeof(small), pub, NULL), KEYS_EINVAL);
    assert_string_equal(small, "");
    assert_int_equal(keys_pub_pem(pem, strlen(pem), pub, NULL), KEYS_EINVAL);
    assert_int_equal(keys_pub_pem(pem, sizeof(pem), pub, "bad\nname"), KEYS_EINVAL);
    keys_free(k);
}

static void test_keys_read_pub_on_private_file_fails(void **state)
{
    keys_key *k = make_saved_key(state, "priv", COST);
    uint8_t pub[KEYS_PUB_BYTES];
    char name[KEYS_NAME_MAX + 1];
    char err[ERR_MAX];

    memset(pub, 0x11, sizeof(pub));
    assert_int_equal(keys_read_pub(pub, name, tpath(state, 0, "key"), err, sizeof(err)),
                     KEYS_ECORRUPT);
    assert_non_null(strstr(err, "it is a private key file"));
    assert_string_equal(name, "");
    assert_int_equal(pub[0], 0x11);
    assert_int_equal(ERR_peek_error(), 0);

    spew(tpath(state, 2, "junk"), "hello\n", 6, 0644);
    assert_int_equal(keys_read_pub(pub, NULL, tpath(state, 2, "junk"), err, sizeof(err)),
                     KEYS_ECORRUPT);
    assert_int_equal(keys_read_pub(pub, NULL, tpath(state, 2, "absent"), err, sizeof(err)),
                     KEYS_EIO);
    keys_free(k);
}

static void test_keys_rejects_non_ed25519(void **state)
{
    EVP_PKEY *x = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    BIO *bio = NULL;
    keys_key *k = NULL;
    uint8_t pub[KEYS_PUB_BYTES], raw[KEYS_PUB_BYTES], kpub[KEYS_PUB_BYTES];
    size_t rawlen = sizeof(raw);
    char err[ERR_MAX];

    assert_non_null(x);
    assert_non_null(ed);
    bio = BIO_new_file(tpath(state, 0, "x.pub"), "w");
    assert_non_null(bio);
    assert_int_equal(PEM_write_bio_PUBKEY(bio, x), 1);
    BIO_free(bio);
    assert_int_equal(keys_read_pub(pub, NULL, tpath(state, 0, "x.pub"), err, sizeof(err)),
                     KEYS_EKEYTYPE);

    write_openssl_epki(tpath(state, 1, "x.key"), x);
    assert_int_equal(keys_load(&k, tpath(state, 1, "x.key"), PASS, PASS_LEN, err, sizeof(err)),
                     KEYS_EKEYTYPE);
    assert_null(k);
    assert_non_null(strstr(err, "not ed25519"));

    /* An Ed25519 key encrypted by stock OpenSSL loads: the reader is standard too. */
    write_openssl_epki(tpath(state, 2, "ed.key"), ed);
    assert_int_equal(keys_load(&k, tpath(state, 2, "ed.key"), PASS, PASS_LEN, err, sizeof(err)), 0);
    assert_int_equal(EVP_PKEY_get_raw_public_key(ed, raw, &rawlen), 1);
    keys_key_pub(k, kpub);
    assert_memory_equal(raw, kpub, KEYS_PUB_BYTES);

    keys_free(k);
    EVP_PKEY_free(x);
    EVP_PKEY_free(ed);
}

static void test_keys_equal_and_wipe(void **state)
{
    uint8_t a[40], b[40], zero[40];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(a); i++)
        a[i] = b[i] = (uint8_t)(i + 1);
    memset(zero, 0, sizeof(zero));
    assert_int_equal(keys_equal(a, b, sizeof(a)), 1);
    b[39] ^= 0x80;
    assert_int_equal(keys_equal(a, b, sizeof(a)), 0);
    assert_int_equal(keys_equal(a, b, 39), 1);
    assert_int_equal(keys_equal(a, b, 0), 1);
    keys_wipe(a, sizeof(a));
    assert_memory_equal(a, zero, sizeof(a));
    keys_wipe(NULL, 0);
    keys_free(NULL);
    keys_pub_free(NULL);
}

static void test_keys_strerror_texts(void **state)
{
    static const int codes[] = {KEYS_EIO,   KEYS_ENOMEM,  KEYS_EINVAL, KEYS_EPASS,   KEYS_ECORRUPT,
                                KEYS_EPERM, KEYS_ECRYPTO, KEYS_EEXIST, KEYS_EBADSIG, KEYS_EKEYTYPE};
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        const char *s = keys_strerror(codes[i]);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, "unknown error");
        assert_true(s[strlen(s) - 1] != '.');
        for (j = 0; s[j] != '\0'; j++)
            assert_false(s[j] >= 'A' && s[j] <= 'Z');
        for (j = 0; j < i; j++)
            assert_string_not_equal(s, keys_strerror(codes[j]));
    }
    assert_string_equal(keys_strerror(KEYS_EPASS), "wrong passphrase");
    assert_string_equal(keys_strerror(-1), "unknown error");
    assert_string_equal(keys_strerror(-299), "unknown error");
}

#define THREADS           4
#define VERIFIES_PER_TASK 200

typedef struct verify_task {
    keys_pub *p;
    uint8_t sig[KEYS_SIG_BYTES];
    uint8_t msg[16];
    int failures;
} verify_task;

static void *verify_worker(void *arg)
{
    verify_task *t = arg;
    uint8_t bad[16];
    int i;

    for (i = 0; i < VERIFIES_PER_TASK; i++) {
        memcpy(bad, t->msg, sizeof(bad));
        bad[i % 16] ^= 1;
        if (keys_pub_verify(t->p, t->sig, t->msg, sizeof(t->msg)) != 0)
            t->failures++;
        if (keys_pub_verify(t->p, t->sig, bad, sizeof(bad)) != KEYS_EBADSIG)
            t->failures++;
    }
    return NULL;
}

static void test_keys_pub_verify_threads(void **state)
{
    verify_task tasks[THREADS];
    pthread_t th[THREADS];
    keys_key *k = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    int i;

    (void)state;
    for (i = 0; i < THREADS; i++) {
        memset(&tasks[i], 0, sizeof(tasks[i]));
        memset(tasks[i].msg, 'a' + i, sizeof(tasks[i].msg));
        assert_int_equal(keys_generate(&k), 0);
        keys_key_pub(k, pub);
        assert_int_equal(keys_sign(k, tasks[i].sig, tasks[i].msg, sizeof(tasks[i].msg)), 0);
        assert_int_equal(keys_pub_new(&tasks[i].p, pub), 0);
        keys_free(k);
    }
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, verify_worker, &tasks[i]), 0);
    for (i = 0; i < THREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (i = 0; i < THREADS; i++) {
        assert_int_equal(tasks[i].failures, 0);
        keys_pub_free(tasks[i].p);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_keys_save_load_round_trip),
        T(test_keys_save_load_without_name),
        T(test_keys_save_sets_file_modes),
        T(test_keys_file_is_encrypted_standard_pkcs8),
        T(test_keys_file_uses_scrypt_and_aes256cbc),
        T(test_keys_default_cost_round_trip),
        T(test_keys_wrong_passphrase),
        T(test_keys_corrupt_files),
        T(test_keys_refuses_unencrypted_key),
        T(test_keys_load_refuses_open_permissions),
        T(test_keys_load_missing_file),
        T(test_keys_save_refuses_existing_file),
        T(test_keys_save_rejects_bad_arguments),
        T(test_keys_save_leaves_nothing_on_failure),
        T(test_keys_sign_verify_round_trip),
        T(test_keys_loaded_key_signs),
        T(test_keys_rfc8032_vectors),
        T(test_keys_kid_and_fingerprint_are_sha256),
        T(test_keys_fpr_format_and_parse),
        T(test_keys_pub_pem_round_trip),
        T(test_keys_read_pub_on_private_file_fails),
        T(test_keys_rejects_non_ed25519),
        T(test_keys_equal_and_wipe),
        T(test_keys_strerror_texts),
        T(test_keys_pub_verify_threads),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
