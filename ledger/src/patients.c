/* The identity store: patient identifiers in clear with their salts, in an
 * LMDB environment of its own (<dir>/identities/), apart from the chain, so
 * erasing a patient never touches a chained byte.
 *
 * Records:
 *   by_id      kind(1) || identifier        -> salt(32) || commit(32)
 *   by_commit  commit(32)                    -> kind(1) || identifier
 *   links      MRN commit(32)                -> linked commits, 32 bytes each
 *
 * Erasure. LMDB is copy-on-write: a deleted record's bytes stay in freed
 * pages (and in the unused part of live pages) until reused. So forget does
 * not delete in place: it writes a new data file holding every live record
 * except the patient's, then renames it over data.mdb and overwrites the old
 * file with zeros. The new file never saw the erased bytes, and the swap is
 * atomic: a crash leaves either the old store (patient still present, forget
 * can be retried) or the new one, never a store where the patient is gone
 * from the tree but still in the file.
 *
 * Concurrency. Replacing data.mdb under processes that have it open would
 * strand them on the old file (stale reads, lost writes), and LMDB's lock
 * file must never be shared between two data files. So every operation holds
 * a flock on <dir>/identities.lock: shared for reads and ordinary writes
 * (LMDB itself serializes writers), exclusive for forget. On taking the lock
 * a handle compares the inodes of data.mdb and lock.mdb with the ones it has
 * open and reopens when forget replaced them; forget removes lock.mdb so the
 * new data file gets a fresh lock file. A handle is for one thread at a time,
 * and (an LMDB rule) one process opens a directory's store once.
 */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* flock() is BSD, not POSIX */
#endif

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ledger/patients.h"
#include "ledger_int.h"

/* Initial map size: address space, not disk. Tests lower it to exercise growth. */
size_t ledger__ids_initial_map_bytes = (size_t)64 << 20;

#define DB_BY_ID        "by_id"
#define DB_BY_COMMIT    "by_commit"
#define DB_LINKS        "links"
#define ID_KEY_MAX      (1 + LEDGER_PATIENT_ID_MAX)
#define ID_REC_BYTES    (LEDGER_SALT_BYTES + LEDGER_COMMIT_BYTES)
#define LINKS_MAX       32 /* identifiers linked to one MRN */
#define GROW_ATTEMPTS   16
#define PATH_BYTES      4096
#define IDS_EMAPFULL    (-198) /* internal: grow the map and retry */
#define WRITE_UNCHANGED 1      /* write callback: nothing to store, abort */

struct ledger_ids {
    MDB_env *env; /* NULL after a failed reopen; the next operation retries */
    MDB_dbi by_id, by_commit, links;
    dev_t data_dev, lock_dev; /* the data.mdb and lock.mdb this env has open */
    ino_t data_ino, lock_ino;
    int lockfd; /* flock on <dir>/identities.lock */
    int lockdepth;
    int lockop;
    char idir[PATH_BYTES]; /* <dir>/identities */
    char err[LEDGER_ERRMSG_MAX];
};

/* What forget removes: the MRN and linked identifiers (by_id keys) and their commitments. */
typedef struct erase_set {
    uint8_t commits[LINKS_MAX + 1][LEDGER_COMMIT_BYTES];
    size_t ncommits;
    uint8_t keys[LINKS_MAX + 1][ID_KEY_MAX];
    size_t keylens[LINKS_MAX + 1];
    size_t nkeys;
} erase_set;

/* ---- errors ---- */

static int code_of(int rc)
{
    switch (rc) {
    case 0:
        return 0;
    case ENOSPC:
    case EDQUOT:
        return LEDGER_EFULL;
    case EACCES:
    case EPERM:
    case EROFS:
        return LEDGER_EACCES;
    case ENOENT:
    case MDB_NOTFOUND:
        return LEDGER_ENOTFOUND;
    case ENOMEM:
        return LEDGER_ENOMEM;
    case MDB_READERS_FULL:
    case EAGAIN:
    case EBUSY:
        return LEDGER_EBUSY;
    case MDB_MAP_FULL:
        return IDS_EMAPFULL;
    default:
        return LEDGER_EIO;
    }
}

/* Map an LMDB or errno code, keeping its text (mdb_strerror covers errno too). */
static int ids_err(ledger_ids *s, int rc, const char *what)
{
    if (rc == 0)
        return 0;
    ledger__errf(s->err, sizeof(s->err), "%s: %s", what, mdb_strerror(rc));
    return code_of(rc);
}

static int ssl_err(ledger_ids *s, const char *what)
{
    char text[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, text, sizeof(text));
    ERR_clear_error();
    ledger__errf(s->err, sizeof(s->err), "%s: %s", what, e != 0 ? text : "unknown error");
    return LEDGER_EIO;
}

/* a + "/" + b, refusing what does not fit (memcpy: gcc's truncation analysis
 * cannot see the length check an snprintf here would rely on). */
static int path_join(char *out, size_t cap, const char *a, const char *b)
{
    size_t an = strlen(a), bn = strlen(b);
    if (an + 1 + bn + 1 > cap)
        return LEDGER_EINVAL;
    memcpy(out, a, an);
    out[an] = '/';
    memcpy(out + an + 1, b, bn + 1);
    return 0;
}

/* ---- identifiers and commitments ---- */

static bool id_bytes_ok(const uint8_t *p, size_t n)
{
    if (n == 0 || n > LEDGER_PATIENT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e)
            return false;
    return true;
}

static bool kind_ok(int kind)
{
    return kind == LEDGER_ID_MRN || kind == LEDGER_ID_REMS;
}

int ledger_id_check(const char *id, char *why, size_t whylen)
{
    int rc = LEDGER_EINVAL;
    size_t n;
    ledger__errf(why, whylen, "%s", "");
    if (id == NULL) {
        ledger__errf(why, whylen, "must be 1 to %d printable characters without spaces (missing)",
                     LEDGER_PATIENT_ID_MAX);
        goto done;
    }
    n = strnlen(id, LEDGER_PATIENT_ID_MAX + 1);
    if (n == 0 || n > LEDGER_PATIENT_ID_MAX) {
        ledger__errf(why, whylen, "must be 1 to %d printable characters without spaces (%s)",
                     LEDGER_PATIENT_ID_MAX, n == 0 ? "empty" : "too long");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (c < 0x21 || c > 0x7e) {
            ledger__errf(why, whylen,
                         "must be 1 to %d printable characters without spaces (character %zu "
                         "is %s)",
                         LEDGER_PATIENT_ID_MAX, i + 1,
                         c == ' ' ? "a space" : "not printable ASCII");
            goto done;
        }
    }
    rc = 0;
done:
    return rc;
}

/* SHA-256(salt || id). @return 0 or -1 (OpenSSL failure, error queue set). */
static int commit_compute(uint8_t out[LEDGER_COMMIT_BYTES], const uint8_t salt[LEDGER_SALT_BYTES],
                          const void *id, size_t n)
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    unsigned len = 0;
    int ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(c, salt, LEDGER_SALT_BYTES) == 1 && EVP_DigestUpdate(c, id, n) == 1 &&
             EVP_DigestFinal_ex(c, out, &len) == 1 && len == LEDGER_COMMIT_BYTES;
    EVP_MD_CTX_free(c);
    return ok ? 0 : -1;
}

void ledger_id_commit(uint8_t out[LEDGER_COMMIT_BYTES], const uint8_t salt[LEDGER_SALT_BYTES],
                      const char *id)
{
    /* void by contract: on an OpenSSL failure the output is all zeros, which
     * matches no stored commitment. */
    if (id == NULL || commit_compute(out, salt, id, strlen(id)) != 0)
        memset(out, 0, LEDGER_COMMIT_BYTES);
}

static size_t id_key(uint8_t key[ID_KEY_MAX], ledger_idkind kind, const char *id, size_t n)
{
    key[0] = (uint8_t)kind;
    memcpy(key + 1, id, n);
    return 1 + n;
}

/* ---- environment, lock and freshness ---- */

static void env_close(ledger_ids *s)
{
    if (s->env != NULL)
        mdb_env_close(s->env);
    s->env = NULL;
}

static int txn_begin(ledger_ids *s, unsigned flags, MDB_txn **out)
{
    int rc = mdb_txn_begin(s->env, NULL, flags, out);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size. */
        rc = mdb_env_set_mapsize(s->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(s->env, NULL, flags, out);
    }
    return ids_err(s, rc, "cannot begin transaction");
}

static int file_id(ledger_ids *s, const char *name, dev_t *dev, ino_t *ino)
{
    char path[PATH_BYTES];
    struct stat st;
    int rc = path_join(path, sizeof(path), s->idir, name);
    if (rc != 0) {
        ledger__errf(s->err, sizeof(s->err), "identity store path is too long");
        goto done;
    }
    if (stat(path, &st) != 0) {
        rc = ids_err(s, errno, "cannot stat the identity store");
        goto done;
    }
    *dev = st.st_dev;
    *ino = st.st_ino;
done:
    return rc;
}

/* The data file is at least as long as the pages its meta page says are in
 * use: a truncated copy would fault (SIGBUS) on first touch of the missing pages. */
static int env_size_ok(ledger_ids *s)
{
    MDB_envinfo info;
    MDB_stat ms;
    struct stat st;
    mdb_filehandle_t fd;
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &ms) != 0 ||
        mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &st) != 0) {
        ledger__errf(s->err, sizeof(s->err), "cannot read the identity store's size");
        return LEDGER_EIO;
    }
    if ((uint64_t)st.st_size < ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize) {
        ledger__errf(s->err, sizeof(s->err),
                     "the identity store's data.mdb is truncated: restore it from a backup");
        return LEDGER_EIO;
    }
    return 0;
}

/* Write permission for nobody on the store's data file: no writer can change it. */
static bool data_write_protected(const ledger_ids *s)
{
    char path[PATH_BYTES];
    struct stat st;
    return path_join(path, sizeof(path), s->idir, "data.mdb") == 0 && stat(path, &st) == 0 &&
           (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0;
}

/* Open the environment in s->idir (caller holds the flock). */
static int env_open(ledger_ids *s, bool create)
{
    MDB_txn *txn = NULL;
    unsigned dbf = create ? MDB_CREATE : 0, envf = MDB_NOTLS;
    int rc, mrc;
    for (int attempt = 0; attempt < 3; attempt++) {
        mrc = mdb_env_create(&s->env);
        if (mrc == 0)
            mrc = mdb_env_set_maxdbs(s->env, 4);
        if (mrc == 0)
            mrc = mdb_env_set_mapsize(s->env, ledger__ids_initial_map_bytes);
        if (mrc == 0)
            mrc = mdb_env_open(s->env, s->idir, envf, 0600);
        /* A store we may not write (a read-only file system or copy) can still
         * be read: patients are then shown, not reported "erased". Writes to
         * it fail with the reason. Without write permission on its lock file,
         * it is read without one when nobody may write it at all (as ledger_open). */
        if ((mrc == EACCES || mrc == EROFS) && !create && attempt == 0) {
            env_close(s);
            envf |= MDB_RDONLY;
            continue;
        }
        if (mrc == EACCES && attempt == 1 && data_write_protected(s)) {
            env_close(s);
            envf |= MDB_NOLOCK;
            continue;
        }
        break;
    }
    if ((rc = ids_err(s, mrc, "cannot open the identity store")) != 0)
        goto done;
    if ((rc = env_size_ok(s)) != 0)
        goto done;
    int dead = 0;
    (void)mdb_reader_check(s->env, &dead); /* slots of processes that died */
    if ((rc = txn_begin(s, create ? 0 : MDB_RDONLY, &txn)) != 0)
        goto done;
    mrc = mdb_dbi_open(txn, DB_BY_ID, dbf, &s->by_id);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, DB_BY_COMMIT, dbf, &s->by_commit);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, DB_LINKS, dbf, &s->links);
    if (mrc == MDB_NOTFOUND) {
        ledger__errf(s->err, sizeof(s->err), "not an rxledger identity store");
        rc = LEDGER_ENOTFOUND;
        goto done;
    }
    if ((rc = ids_err(s, mrc, "cannot open identity databases")) != 0)
        goto done;
    /* Commit even when read-only: DBI handles opened in an aborted txn are closed. */
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    if ((rc = ids_err(s, mrc, "cannot commit")) != 0)
        goto done;
    if ((rc = file_id(s, "data.mdb", &s->data_dev, &s->data_ino)) != 0)
        goto done;
    rc = file_id(s, "lock.mdb", &s->lock_dev, &s->lock_ino);
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0)
        env_close(s);
    return rc;
}

/* Reopen when forget (here or in another process) replaced the files. */
static int env_fresh(ledger_ids *s)
{
    dev_t ddev, ldev;
    ino_t dino, lino;
    int rc = file_id(s, "data.mdb", &ddev, &dino);
    if (rc != 0)
        goto done;
    if (s->env != NULL && file_id(s, "lock.mdb", &ldev, &lino) == 0 && ddev == s->data_dev &&
        dino == s->data_ino && ldev == s->lock_dev && lino == s->lock_ino)
        goto done;
    env_close(s);
    rc = env_open(s, false);
done:
    return rc;
}

static void lock_drop(ledger_ids *s)
{
    if (s->lockdepth > 0 && --s->lockdepth == 0)
        (void)flock(s->lockfd, LOCK_UN);
}

/* Take the store lock (LOCK_SH or LOCK_EX) and make sure the env is current.
 * Nested calls (from an ledger_ids_each callback) reuse the held lock. */
static int lock_take(ledger_ids *s, int op)
{
    int rc = 0, r;
    if (s->lockdepth > 0) {
        if (op == LOCK_EX && s->lockop != LOCK_EX) {
            ledger__errf(s->err, sizeof(s->err),
                         "cannot erase from inside an identity store iteration");
            rc = LEDGER_EBUSY;
            goto done;
        }
        s->lockdepth++;
        goto done;
    }
    while ((r = flock(s->lockfd, op)) != 0 && errno == EINTR)
        ;
    if (r != 0) {
        rc = ids_err(s, errno, "cannot lock the identity store");
        goto done;
    }
    s->lockdepth = 1;
    s->lockop = op;
    if ((rc = env_fresh(s)) != 0)
        lock_drop(s);
done:
    return rc;
}

/* Double the map (no transaction of ours may be open). */
static int map_grow(ledger_ids *s)
{
    MDB_envinfo info;
    int mrc = mdb_env_info(s->env, &info);
    if (mrc == 0)
        mrc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
    return ids_err(s, mrc, "cannot grow the identity store map");
}

/* One write transaction running @p fn: 0 commits, WRITE_UNCHANGED aborts with
 * success, a negative code aborts with it; a full map grows and retries. */
typedef int (*write_fn)(ledger_ids *s, MDB_txn *txn, void *ud);

static int write_txn(ledger_ids *s, write_fn fn, void *ud)
{
    MDB_txn *txn = NULL;
    int rc = IDS_EMAPFULL;
    for (int i = 0; i < GROW_ATTEMPTS && rc == IDS_EMAPFULL; i++) {
        if (i > 0 && (rc = map_grow(s)) != 0)
            goto done;
        if ((rc = txn_begin(s, 0, &txn)) != 0)
            goto done;
        rc = fn(s, txn, ud);
        if (rc == 0) {
            int mrc = mdb_txn_commit(txn);
            txn = NULL;
            rc = ids_err(s, mrc, "cannot commit");
        } else {
            mdb_txn_abort(txn);
            txn = NULL;
        }
    }
    if (rc == WRITE_UNCHANGED)
        rc = 0;
    if (rc == IDS_EMAPFULL) {
        ledger__errf(s->err, sizeof(s->err), "identity store map is full and cannot grow");
        rc = LEDGER_EFULL;
    }
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    return rc;
}

/* ---- open / close ---- */

int ledger_ids_open(ledger_ids **out, const char *dir, bool create, char *errbuf, size_t errlen)
{
    ledger_ids *s = NULL;
    char lockpath[PATH_BYTES], datapath[PATH_BYTES];
    struct stat st;
    int rc = 0;
    *out = NULL;
    ledger__errf(errbuf, errlen, "%s", "");
    if (dir == NULL || *dir == '\0' || strlen(dir) > PATH_BYTES - 32) {
        ledger__errf(errbuf, errlen, "bad ledger directory name");
        return LEDGER_EINVAL;
    }
    s = calloc(1, sizeof(*s));
    if (s == NULL) {
        ledger__errf(errbuf, errlen, "out of memory");
        return LEDGER_ENOMEM;
    }
    s->lockfd = -1;
    (void)path_join(s->idir, sizeof(s->idir), dir, "identities");
    (void)path_join(lockpath, sizeof(lockpath), dir, "identities.lock");
    (void)path_join(datapath, sizeof(datapath), s->idir, "data.mdb");
    if (create && mkdir(s->idir, 0700) != 0 && errno != EEXIST) {
        rc = ids_err(s, errno, "cannot create the identity store");
        goto done;
    }
    if (!create && stat(datapath, &st) != 0) {
        ledger__errf(s->err, sizeof(s->err), "no identity store in '%s'", dir);
        rc = errno == ENOENT ? LEDGER_ENOTFOUND : ids_err(s, errno, "cannot open identity store");
        goto done;
    }
    s->lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lockfd < 0 && !create && (errno == EROFS || errno == EACCES))
        s->lockfd = open(lockpath, O_RDONLY | O_CLOEXEC | O_NOFOLLOW); /* flock works on it */
    if (s->lockfd < 0) {
        rc = ids_err(s, errno, "cannot open the identity store lock");
        goto done;
    }
    int r;
    while ((r = flock(s->lockfd, LOCK_SH)) != 0 && errno == EINTR)
        ;
    if (r != 0) {
        rc = ids_err(s, errno, "cannot lock the identity store");
        goto done;
    }
    rc = env_open(s, create);
    (void)flock(s->lockfd, LOCK_UN);
done:
    if (rc != 0) {
        ledger__errf(errbuf, errlen, "%s", s->err);
        ledger_ids_close(s);
    } else {
        *out = s;
    }
    return rc;
}

void ledger_ids_close(ledger_ids *s)
{
    if (s == NULL)
        return;
    env_close(s);
    if (s->lockfd >= 0)
        (void)close(s->lockfd);
    free(s);
}

const char *ledger_ids_errmsg(const ledger_ids *s)
{
    return s != NULL ? s->err : "";
}

/* ---- lookups ---- */

/* The stored commitment of kind||id (checked against its salt), or LEDGER_ENOTFOUND. */
static int find_id(ledger_ids *s, MDB_txn *txn, const uint8_t *key, size_t keylen,
                   uint8_t commit[LEDGER_COMMIT_BYTES])
{
    uint8_t salt[LEDGER_SALT_BYTES], again[LEDGER_COMMIT_BYTES];
    MDB_val k = {keylen, (void *)key}, v;
    int rc, mrc = mdb_get(txn, s->by_id, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        ledger__errf(s->err, sizeof(s->err), "identifier not known");
        rc = LEDGER_ENOTFOUND;
        goto done;
    }
    if ((rc = ids_err(s, mrc, "cannot read the identity store")) != 0)
        goto done;
    if (v.mv_size != ID_REC_BYTES) {
        ledger__errf(s->err, sizeof(s->err), "identity record is damaged");
        rc = LEDGER_EENCODING;
        goto done;
    }
    memcpy(salt, v.mv_data, LEDGER_SALT_BYTES);
    memcpy(commit, (const uint8_t *)v.mv_data + LEDGER_SALT_BYTES, LEDGER_COMMIT_BYTES);
    if (commit_compute(again, salt, key + 1, keylen - 1) != 0) {
        rc = ssl_err(s, "cannot hash");
        goto done;
    }
    if (CRYPTO_memcmp(again, commit, LEDGER_COMMIT_BYTES) != 0) {
        ledger__errf(s->err, sizeof(s->err), "identity record does not match its commitment");
        rc = LEDGER_EENCODING;
    }
done:
    OPENSSL_cleanse(salt, sizeof(salt));
    return rc;
}

/* kind||id stored for @p commit, validated. */
static int find_commit(ledger_ids *s, MDB_txn *txn, const uint8_t commit[LEDGER_COMMIT_BYTES],
                       uint8_t key[ID_KEY_MAX], size_t *keylen)
{
    MDB_val k = {LEDGER_COMMIT_BYTES, (void *)commit}, v;
    int rc, mrc = mdb_get(txn, s->by_commit, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        ledger__errf(s->err, sizeof(s->err), "no identifier has this commitment");
        rc = LEDGER_ENOTFOUND;
        goto done;
    }
    if ((rc = ids_err(s, mrc, "cannot read the identity store")) != 0)
        goto done;
    const uint8_t *p = v.mv_data;
    if (v.mv_size < 2 || v.mv_size > ID_KEY_MAX || !kind_ok(p[0]) ||
        !id_bytes_ok(p + 1, v.mv_size - 1)) {
        ledger__errf(s->err, sizeof(s->err), "commitment record is damaged");
        rc = LEDGER_EENCODING;
        goto done;
    }
    memcpy(key, p, v.mv_size);
    *keylen = v.mv_size;
done:
    return rc;
}

typedef struct create_req {
    const uint8_t *key;
    size_t keylen;
    uint8_t *out;
} create_req;

static int create_fn(ledger_ids *s, MDB_txn *txn, void *ud)
{
    create_req *r = ud;
    uint8_t rec[ID_REC_BYTES];
    int rc = find_id(s, txn, r->key, r->keylen, r->out);
    if (rc == 0) {
        rc = WRITE_UNCHANGED; /* another writer created it since our read */
        goto done;
    }
    if (rc != LEDGER_ENOTFOUND)
        goto done;
    if (RAND_bytes(rec, LEDGER_SALT_BYTES) != 1) {
        rc = ssl_err(s, "cannot get random bytes");
        goto done;
    }
    if (commit_compute(rec + LEDGER_SALT_BYTES, rec, r->key + 1, r->keylen - 1) != 0) {
        rc = ssl_err(s, "cannot hash");
        goto done;
    }
    MDB_val k = {r->keylen, (void *)r->key}, v = {sizeof(rec), rec};
    if ((rc = ids_err(s, mdb_put(txn, s->by_id, &k, &v, MDB_NOOVERWRITE),
                      "cannot store identifier")) != 0)
        goto done;
    MDB_val ck = {LEDGER_COMMIT_BYTES, rec + LEDGER_SALT_BYTES};
    MDB_val cv = {r->keylen, (void *)r->key};
    int mrc = mdb_put(txn, s->by_commit, &ck, &cv, MDB_NOOVERWRITE);
    if (mrc == MDB_KEYEXIST) {
        ledger__errf(s->err, sizeof(s->err), "commitment collision");
        rc = LEDGER_EIO;
        goto done;
    }
    if ((rc = ids_err(s, mrc, "cannot store commitment")) != 0)
        goto done;
    memcpy(r->out, rec + LEDGER_SALT_BYTES, LEDGER_COMMIT_BYTES);
done:
    OPENSSL_cleanse(rec, sizeof(rec));
    return rc;
}

static int check_args(ledger_ids *s, ledger_idkind kind, const char *id)
{
    char why[128];
    int rc = 0;
    if (!kind_ok((int)kind)) {
        ledger__errf(s->err, sizeof(s->err), "bad identifier kind %d", (int)kind);
        rc = LEDGER_EINVAL;
    } else if ((rc = ledger_id_check(id, why, sizeof(why))) != 0) {
        /* the reason names no character of the identifier */
        ledger__errf(s->err, sizeof(s->err), "bad identifier: %s", why);
    }
    return rc;
}

int ledger_ids_commit(ledger_ids *s, ledger_idkind kind, const char *id, bool create,
                      uint8_t out[LEDGER_COMMIT_BYTES])
{
    uint8_t key[ID_KEY_MAX];
    size_t keylen = 0;
    MDB_txn *txn = NULL;
    bool locked = false;
    int rc = check_args(s, kind, id);
    if (rc != 0)
        goto done;
    keylen = id_key(key, kind, id, strlen(id));
    if ((rc = lock_take(s, LOCK_SH)) != 0)
        goto done;
    locked = true;
    /* Read first: the common case (known identifier) takes no writer lock. */
    if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
        goto done;
    rc = find_id(s, txn, key, keylen, out);
    mdb_txn_abort(txn);
    txn = NULL;
    if (rc != LEDGER_ENOTFOUND || !create)
        goto done;
    create_req req = {key, keylen, out};
    rc = write_txn(s, create_fn, &req);
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (locked)
        lock_drop(s);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

int ledger_ids_lookup(ledger_ids *s, const uint8_t commit[LEDGER_COMMIT_BYTES], char *id_out,
                      ledger_idkind *kind_out)
{
    uint8_t key[ID_KEY_MAX], stored[LEDGER_COMMIT_BYTES];
    size_t keylen = 0;
    MDB_txn *txn = NULL;
    bool locked = false;
    int rc;
    id_out[0] = '\0';
    if ((rc = lock_take(s, LOCK_SH)) != 0)
        goto done;
    locked = true;
    if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
        goto done;
    if ((rc = find_commit(s, txn, commit, key, &keylen)) != 0)
        goto done;
    /* Both records must agree: a swapped by_commit record is damage, not an answer. */
    if ((rc = find_id(s, txn, key, keylen, stored)) != 0) {
        if (rc == LEDGER_ENOTFOUND) {
            ledger__errf(s->err, sizeof(s->err), "commitment record has no identifier record");
            rc = LEDGER_EENCODING;
        }
        goto done;
    }
    if (CRYPTO_memcmp(stored, commit, LEDGER_COMMIT_BYTES) != 0) {
        ledger__errf(s->err, sizeof(s->err), "commitment records disagree");
        rc = LEDGER_EENCODING;
        goto done;
    }
    memcpy(id_out, key + 1, keylen - 1);
    id_out[keylen - 1] = '\0';
    if (kind_out != NULL)
        *kind_out = (ledger_idkind)key[0];
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (locked)
        lock_drop(s);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

/* ---- links ---- */

typedef struct link_req {
    const uint8_t *mrn;
    const uint8_t *rems;
} link_req;

static int expect_kind(ledger_ids *s, MDB_txn *txn, const uint8_t commit[LEDGER_COMMIT_BYTES],
                       ledger_idkind kind, const char *what)
{
    uint8_t key[ID_KEY_MAX];
    size_t keylen;
    int rc = find_commit(s, txn, commit, key, &keylen);
    if (rc == LEDGER_ENOTFOUND)
        ledger__errf(s->err, sizeof(s->err), "no identifier has the %s commitment", what);
    if (rc == 0 && key[0] != (uint8_t)kind) {
        ledger__errf(s->err, sizeof(s->err), "the %s commitment is of another kind of identifier",
                     what);
        rc = LEDGER_EINVAL;
    }
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}

static int link_fn(ledger_ids *s, MDB_txn *txn, void *ud)
{
    link_req *r = ud;
    uint8_t list[LINKS_MAX * LEDGER_COMMIT_BYTES];
    size_t n = 0;
    MDB_val k = {LEDGER_COMMIT_BYTES, (void *)r->mrn}, v;
    int rc, mrc;
    if ((rc = expect_kind(s, txn, r->mrn, LEDGER_ID_MRN, "MRN")) != 0 ||
        (rc = expect_kind(s, txn, r->rems, LEDGER_ID_REMS, "REMS")) != 0)
        goto done;
    mrc = mdb_get(txn, s->links, &k, &v);
    if (mrc == 0) {
        if (v.mv_size % LEDGER_COMMIT_BYTES != 0 || v.mv_size > sizeof(list)) {
            ledger__errf(s->err, sizeof(s->err), "link record is damaged");
            rc = LEDGER_EENCODING;
            goto done;
        }
        memcpy(list, v.mv_data, v.mv_size);
        n = v.mv_size / LEDGER_COMMIT_BYTES;
    } else if ((rc = mrc == MDB_NOTFOUND ? 0 : ids_err(s, mrc, "cannot read links")) != 0) {
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        if (memcmp(list + i * LEDGER_COMMIT_BYTES, r->rems, LEDGER_COMMIT_BYTES) == 0) {
            rc = WRITE_UNCHANGED; /* already linked */
            goto done;
        }
    }
    if (n == LINKS_MAX) {
        ledger__errf(s->err, sizeof(s->err), "more than %d identifiers linked to one MRN",
                     LINKS_MAX);
        rc = LEDGER_ETOOBIG;
        goto done;
    }
    memcpy(list + n * LEDGER_COMMIT_BYTES, r->rems, LEDGER_COMMIT_BYTES);
    v.mv_size = (n + 1) * LEDGER_COMMIT_BYTES;
    v.mv_data = list;
    rc = ids_err(s, mdb_put(txn, s->links, &k, &v, 0), "cannot store link");
done:
    return rc;
}

int ledger_ids_link(ledger_ids *s, const uint8_t mrn_commit[LEDGER_COMMIT_BYTES],
                    const uint8_t rems_commit[LEDGER_COMMIT_BYTES])
{
    link_req req = {mrn_commit, rems_commit};
    int rc = lock_take(s, LOCK_SH);
    if (rc != 0)
        goto done;
    rc = write_txn(s, link_fn, &req);
    lock_drop(s);
done:
    return rc;
}

/* ---- iteration ---- */

int ledger_ids_each(ledger_ids *s, ledger_ids_fn fn, void *ud)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t salt[LEDGER_SALT_BYTES], commit[LEDGER_COMMIT_BYTES], again[LEDGER_COMMIT_BYTES];
    char id[LEDGER_PATIENT_ID_MAX + 1];
    bool locked = false;
    int rc, mrc;
    if ((rc = lock_take(s, LOCK_SH)) != 0)
        goto done;
    locked = true;
    if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
        goto done;
    if ((rc = ids_err(s, mdb_cursor_open(txn, s->by_id, &cur), "cannot read identifiers")) != 0)
        goto done;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const uint8_t *p = k.mv_data;
        if (k.mv_size < 2 || k.mv_size > ID_KEY_MAX || !kind_ok(p[0]) ||
            !id_bytes_ok(p + 1, k.mv_size - 1) || v.mv_size != ID_REC_BYTES) {
            ledger__errf(s->err, sizeof(s->err), "identity record is damaged");
            rc = LEDGER_EENCODING;
            goto done;
        }
        /* Copy out of LMDB memory: the callback may call back into the store. */
        memcpy(id, p + 1, k.mv_size - 1);
        id[k.mv_size - 1] = '\0';
        memcpy(salt, v.mv_data, LEDGER_SALT_BYTES);
        memcpy(commit, (const uint8_t *)v.mv_data + LEDGER_SALT_BYTES, LEDGER_COMMIT_BYTES);
        if (commit_compute(again, salt, id, k.mv_size - 1) != 0) {
            rc = ssl_err(s, "cannot hash");
            goto done;
        }
        if (CRYPTO_memcmp(again, commit, LEDGER_COMMIT_BYTES) != 0) {
            ledger__errf(s->err, sizeof(s->err), "identity record does not match its commitment");
            rc = LEDGER_EENCODING;
            goto done;
        }
        if (fn((ledger_idkind)p[0], id, salt, commit, ud) != 0)
            break;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = ids_err(s, mrc, "cannot read identifiers");
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (locked)
        lock_drop(s);
    OPENSSL_cleanse(salt, sizeof(salt));
    OPENSSL_cleanse(id, sizeof(id));
    return rc;
}

/* ---- erasure ---- */

static bool erase_has_commit(const erase_set *e, const uint8_t *c)
{
    for (size_t i = 0; i < e->ncommits; i++)
        if (memcmp(e->commits[i], c, LEDGER_COMMIT_BYTES) == 0)
            return true;
    return false;
}

static bool erase_has_key(const erase_set *e, const uint8_t *key, size_t keylen)
{
    for (size_t i = 0; i < e->nkeys; i++)
        if (e->keylens[i] == keylen && memcmp(e->keys[i], key, keylen) == 0)
            return true;
    return false;
}

/* Collect what erasing the MRN removes; fills @p mrn_commit. */
static int erase_collect(ledger_ids *s, MDB_txn *txn, const uint8_t *key, size_t keylen,
                         erase_set *e, uint8_t mrn_commit[LEDGER_COMMIT_BYTES])
{
    MDB_val k = {LEDGER_COMMIT_BYTES, mrn_commit}, v;
    int rc = find_id(s, txn, key, keylen, mrn_commit), mrc;
    if (rc == LEDGER_ENOTFOUND)
        ledger__errf(s->err, sizeof(s->err), "no patient with this MRN");
    if (rc != 0)
        goto done;
    memcpy(e->keys[0], key, keylen);
    e->keylens[0] = keylen;
    e->nkeys = 1;
    memcpy(e->commits[0], mrn_commit, LEDGER_COMMIT_BYTES);
    e->ncommits = 1;
    mrc = mdb_get(txn, s->links, &k, &v);
    if (mrc == MDB_NOTFOUND)
        goto done;
    if ((rc = ids_err(s, mrc, "cannot read links")) != 0)
        goto done;
    if (v.mv_size % LEDGER_COMMIT_BYTES != 0 || v.mv_size > LINKS_MAX * LEDGER_COMMIT_BYTES) {
        ledger__errf(s->err, sizeof(s->err), "link record is damaged");
        rc = LEDGER_EENCODING;
        goto done;
    }
    for (size_t off = 0; off < v.mv_size; off += LEDGER_COMMIT_BYTES) {
        const uint8_t *c = (const uint8_t *)v.mv_data + off;
        memcpy(e->commits[e->ncommits++], c, LEDGER_COMMIT_BYTES);
        rc = find_commit(s, txn, c, e->keys[e->nkeys], &e->keylens[e->nkeys]);
        if (rc == LEDGER_ENOTFOUND) { /* erased with another MRN already */
            rc = 0;
            continue;
        }
        if (rc != 0)
            goto done;
        e->nkeys++;
    }
done:
    return rc;
}

typedef enum copy_kind { COPY_BY_ID, COPY_BY_COMMIT, COPY_LINKS } copy_kind;

/* Copy one database into the new environment, leaving the erased records out. */
static int copy_db(ledger_ids *s, MDB_txn *from, MDB_dbi src, MDB_txn *to, MDB_dbi dst,
                   copy_kind kind, const erase_set *e)
{
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    uint8_t list[LINKS_MAX * LEDGER_COMMIT_BYTES];
    int rc = ids_err(s, mdb_cursor_open(from, src, &cur), "cannot read the identity store"), mrc;
    if (rc != 0)
        goto done;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (kind == COPY_BY_ID ? erase_has_key(e, k.mv_data, k.mv_size)
                               : k.mv_size == LEDGER_COMMIT_BYTES && erase_has_commit(e, k.mv_data))
            continue;
        MDB_val nv = v;
        if (kind == COPY_LINKS && v.mv_size % LEDGER_COMMIT_BYTES == 0 &&
            v.mv_size <= sizeof(list)) {
            /* An identifier linked to two MRNs is gone with either: drop dangling links. */
            size_t n = 0;
            for (size_t off = 0; off < v.mv_size; off += LEDGER_COMMIT_BYTES) {
                const uint8_t *c = (const uint8_t *)v.mv_data + off;
                if (!erase_has_commit(e, c))
                    memcpy(list + LEDGER_COMMIT_BYTES * n++, c, LEDGER_COMMIT_BYTES);
            }
            if (n == 0)
                continue;
            nv.mv_size = n * LEDGER_COMMIT_BYTES;
            nv.mv_data = list;
        }
        mrc = mdb_put(to, dst, &k, &nv, MDB_APPEND);
        if ((rc = ids_err(s, mrc, "cannot write the new identity store")) != 0)
            goto done;
    }
    if (mrc != MDB_NOTFOUND)
        rc = ids_err(s, mrc, "cannot read the identity store");
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    return rc;
}

/* Write every live record of @p from except the erased ones into a new
 * environment at @p path (one file, no lock file: the flock is held). */
static int rebuild_once(ledger_ids *s, MDB_txn *from, const erase_set *e, const char *path,
                        size_t mapsize)
{
    MDB_env *ne = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi by_id, by_commit, links;
    int rc, mrc = mdb_env_create(&ne);
    if (mrc == 0)
        mrc = mdb_env_set_maxdbs(ne, 4);
    if (mrc == 0)
        mrc = mdb_env_set_mapsize(ne, mapsize);
    if (mrc == 0)
        mrc = mdb_env_open(ne, path, MDB_NOSUBDIR | MDB_NOLOCK, 0600);
    if (mrc == 0)
        mrc = mdb_txn_begin(ne, NULL, 0, &txn);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, DB_BY_ID, MDB_CREATE, &by_id);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, DB_BY_COMMIT, MDB_CREATE, &by_commit);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, DB_LINKS, MDB_CREATE, &links);
    if ((rc = ids_err(s, mrc, "cannot create the new identity store")) != 0)
        goto done;
    if ((rc = copy_db(s, from, s->by_id, txn, by_id, COPY_BY_ID, e)) != 0 ||
        (rc = copy_db(s, from, s->by_commit, txn, by_commit, COPY_BY_COMMIT, e)) != 0 ||
        (rc = copy_db(s, from, s->links, txn, links, COPY_LINKS, e)) != 0)
        goto done;
    mrc = mdb_txn_commit(txn); /* synchronous: data pages, then the meta page */
    txn = NULL;
    rc = ids_err(s, mrc, "cannot write the new identity store");
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (ne != NULL)
        mdb_env_close(ne);
    return rc;
}

static int remove_file(ledger_ids *s, const char *path, const char *what)
{
    return unlink(path) != 0 && errno != ENOENT ? ids_err(s, errno, what) : 0;
}

static int rebuild(ledger_ids *s, MDB_txn *from, const erase_set *e, const char *path)
{
    MDB_envinfo info;
    int rc = ids_err(s, mdb_env_info(s->env, &info), "cannot read the identity store");
    size_t mapsize = info.me_mapsize;
    for (int i = 0; rc == 0 && i < GROW_ATTEMPTS; i++) {
        /* a leftover of an interrupted forget, or of the last attempt */
        if ((rc = remove_file(s, path, "cannot remove an old temporary file")) != 0)
            break;
        rc = rebuild_once(s, from, e, path, mapsize);
        if (rc != IDS_EMAPFULL)
            break;
        rc = 0;
        mapsize *= 2;
        if (i + 1 == GROW_ATTEMPTS) {
            ledger__errf(s->err, sizeof(s->err), "identity store map is full and cannot grow");
            rc = LEDGER_EFULL;
        }
    }
    if (rc != 0)
        (void)unlink(path);
    return rc;
}

/* Best effort: overwrite the replaced data file, which may keep erased bytes,
 * unless another name still links to it (then it is not ours to destroy). */
static void scrub(int fd)
{
    static const uint8_t zeros[1 << 16];
    struct stat st;
    off_t off = 0;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_nlink != 0)
        return;
    while (off < st.st_size) {
        size_t n =
            st.st_size - off < (off_t)sizeof(zeros) ? (size_t)(st.st_size - off) : sizeof(zeros);
        ssize_t w = pwrite(fd, zeros, n, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        off += w;
    }
    (void)fdatasync(fd);
}

static int sync_dir(ledger_ids *s)
{
    int rc = 0, fd = open(s->idir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) != 0)
        rc = ids_err(s, errno, "cannot sync the identity store directory");
    if (fd >= 0)
        (void)close(fd);
    return rc;
}

/* Put the new file in place of data.mdb and reopen. The lock file goes first
 * so that whatever happens next, no one pairs the old lock file with a new
 * data file: every handle sees lock.mdb change and reopens. */
static int swap_in(ledger_ids *s, const char *newpath)
{
    char datapath[PATH_BYTES], lockpath[PATH_BYTES];
    int rc, oldfd;
    bool renamed = false;
    (void)path_join(datapath, sizeof(datapath), s->idir, "data.mdb");
    (void)path_join(lockpath, sizeof(lockpath), s->idir, "lock.mdb");
    oldfd = open(datapath, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    env_close(s);
    if ((rc = remove_file(s, lockpath, "cannot remove the identity store lock file")) != 0)
        goto done;
    if (rename(newpath, datapath) != 0) {
        rc = ids_err(s, errno, "cannot replace the identity store");
        goto done;
    }
    renamed = true;
    rc = sync_dir(s);
done:
    if (!renamed)
        (void)unlink(newpath);
    if (renamed)
        scrub(oldfd);
    if (oldfd >= 0)
        (void)close(oldfd);
    if (s->env == NULL) {
        char keep[LEDGER_ERRMSG_MAX];
        memcpy(keep, s->err, sizeof(keep));
        int orc = env_open(s, false);
        if (rc == 0)
            rc = orc;
        else if (orc == 0)
            memcpy(s->err, keep, sizeof(keep)); /* report the first failure */
    }
    return rc;
}

int ledger_ids_forget(ledger_ids *s, const char *mrn, uint8_t commit_out[LEDGER_COMMIT_BYTES])
{
    uint8_t key[ID_KEY_MAX], mc[LEDGER_COMMIT_BYTES];
    char newpath[PATH_BYTES];
    size_t keylen = 0;
    erase_set *e = NULL;
    MDB_txn *txn = NULL;
    bool locked = false;
    int rc = check_args(s, LEDGER_ID_MRN, mrn);
    if (rc != 0)
        goto done;
    keylen = id_key(key, LEDGER_ID_MRN, mrn, strlen(mrn));
    if ((e = calloc(1, sizeof(*e))) == NULL) {
        ledger__errf(s->err, sizeof(s->err), "out of memory");
        rc = LEDGER_ENOMEM;
        goto done;
    }
    if ((rc = path_join(newpath, sizeof(newpath), s->idir, "data.mdb.new")) != 0)
        goto done;
    /* Exclusive: no other handle reads or writes while the file is replaced. */
    if ((rc = lock_take(s, LOCK_EX)) != 0)
        goto done;
    locked = true;
    if ((rc = txn_begin(s, MDB_RDONLY, &txn)) != 0)
        goto done;
    if ((rc = erase_collect(s, txn, key, keylen, e, mc)) != 0)
        goto done;
    if ((rc = rebuild(s, txn, e, newpath)) != 0)
        goto done;
    mdb_txn_abort(txn);
    txn = NULL;
    if ((rc = swap_in(s, newpath)) != 0)
        goto done;
    if (commit_out != NULL)
        memcpy(commit_out, mc, LEDGER_COMMIT_BYTES);
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (locked)
        lock_drop(s);
    if (e != NULL) {
        OPENSSL_cleanse(e, sizeof(*e));
        free(e);
    }
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}
