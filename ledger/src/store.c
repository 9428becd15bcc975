/* Storage: one LMDB environment per ledger directory, one write transaction
 * per append (read head, build, sign, put, commit), so concurrent processes
 * serialize on LMDB's writer lock and the chain never forks. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "ledger/ident.h"
#include "ledger/merkle.h"
#include "ledger/records.h"
#include "store_int.h"

/* Initial map size; LMDB maps lazily, so this is address space, not disk.
 * Tests lower it to exercise growth. */
size_t ledger__initial_map_bytes = (size_t)1 << 30;
#define GROW_ATTEMPTS    16
#define LEDGER__EMAPFULL (-199) /* internal: grow the map and retry */

static const char meta_format[] = "format";
static const char meta_head[] = "head";

int ledger__mdb_err(ledger *l, int rc, const char *what)
{
    int code;
    switch (rc) {
    case 0:
        return 0;
    case ENOSPC:
        code = LEDGER_EFULL;
        break;
    case EDQUOT:
        code = LEDGER_EFULL;
        break;
    case EACCES:
    case EPERM:
    case EROFS:
        code = LEDGER_EACCES;
        break;
    case ENOENT:
    case MDB_NOTFOUND:
        code = LEDGER_ENOTFOUND;
        break;
    case ENOMEM:
        code = LEDGER_ENOMEM;
        break;
    case MDB_READERS_FULL:
    case EAGAIN:
    case EBUSY:
        code = LEDGER_EBUSY;
        break;
    case MDB_MAP_FULL:
        code = LEDGER__EMAPFULL;
        break;
    default:
        code = LEDGER_EIO;
        break;
    }
    ledger__errf(l->err, sizeof(l->err), "%s: %s", what, mdb_strerror(rc));
    return code;
}

const char *ledger_errmsg(const ledger *l)
{
    return l != NULL ? l->err : "";
}

static int txn_begin(ledger *l, unsigned flags, MDB_txn **out)
{
    int rc;
    if ((flags & MDB_RDONLY) != 0 && l->wtxn != NULL) {
        /* Inside ledger_transact(): read in the write transaction itself, so reads
         * see the entries appended so far (ledger__end_read leaves it open). */
        *out = l->wtxn;
        return 0;
    }
    if ((flags & MDB_RDONLY) != 0 && l->pin != NULL) {
        *out = l->pin; /* ledger_snapshot_begin(): ended by ledger_snapshot_end() */
        return 0;
    }
    rc = mdb_txn_begin(l->env, NULL, flags, out);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size. */
        rc = mdb_env_set_mapsize(l->env, 0);
        if (rc == 0)
            rc = mdb_txn_begin(l->env, NULL, flags, out);
    }
    return ledger__mdb_err(l, rc, "cannot begin transaction");
}

int ledger__read_txn(ledger *l, MDB_txn **out)
{
    return txn_begin(l, MDB_RDONLY, out);
}

void ledger__end_read(ledger *l, MDB_txn *txn)
{
    if (txn != NULL && txn != l->wtxn && txn != l->pin)
        mdb_txn_abort(txn);
}

int ledger_snapshot_begin(ledger *l)
{
    MDB_txn *txn = NULL;
    if (l->pin != NULL || l->wtxn != NULL) {
        ledger__errf(l->err, sizeof(l->err), "a snapshot or a write is already in progress");
        return LEDGER_EBUSY;
    }
    int rc = ledger__read_txn(l, &txn);
    if (rc != 0)
        return rc;
    /* the workers' transactions: kept only when on the same snapshot */
    unsigned want = ledger__threads_wanted();
    for (unsigned i = 0; want > 1 && i < want && i < LEDGER__RA_MAX_WORKERS; i++) {
        MDB_txn *wt = NULL;
        if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &wt) != 0)
            break;
        if (mdb_txn_id(wt) != mdb_txn_id(txn)) {
            mdb_txn_abort(wt);
            break;
        }
        l->pin_w[l->pin_nw] = wt;
        l->pin_lent[l->pin_nw++] = false;
    }
    l->pin = txn;
    return 0;
}

void ledger_snapshot_end(ledger *l)
{
    if (l == NULL || l->pin == NULL)
        return;
    for (unsigned i = 0; i < l->pin_nw; i++)
        mdb_txn_abort(l->pin_w[i]);
    l->pin_nw = 0;
    mdb_txn_abort(l->pin);
    l->pin = NULL;
}

void ledger_close(ledger *l)
{
    if (l == NULL)
        return;
    ledger_snapshot_end(l);
    if (l->env != NULL)
        mdb_env_close(l->env);
    free(l);
}

static int open_dbs(ledger *l, bool create, char *errbuf, size_t errlen)
{
    MDB_txn *txn = NULL;
    /* Only init creates the databases: opening some other LMDB file for an
     * append must not turn it into an empty ledger. */
    unsigned dbf = create ? MDB_CREATE : 0;
    MDB_val k = {sizeof(meta_format) - 1, (void *)meta_format}, v;
    int rc = txn_begin(l, l->rdonly ? MDB_RDONLY : 0, &txn);
    if (rc != 0)
        goto done;
    int mrc = mdb_dbi_open(txn, LEDGER__DB_ENTRIES, dbf, &l->entries);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, LEDGER__DB_META, dbf, &l->meta);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, LEDGER__DB_KEYS, dbf, &l->keys);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, LEDGER__DB_INDEX, dbf | MDB_DUPSORT, &l->index);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, LEDGER__DB_MERKLE, dbf, &l->merkle);
    if (mrc == 0)
        mrc = mdb_dbi_open(txn, LEDGER__DB_CHECKPOINTS, dbf, &l->checkpoints);
    if (mrc == MDB_NOTFOUND) {
        ledger__errf(l->err, sizeof(l->err), "not an rxledger ledger");
        rc = LEDGER_ENOTFOUND;
        goto done;
    }
    if ((rc = ledger__mdb_err(l, mrc, "cannot open databases")) != 0)
        goto done;
    mrc = mdb_get(txn, l->meta, &k, &v);
    if (mrc == MDB_NOTFOUND && !l->rdonly) {
        uint8_t fv[4] = {0, 0, 0, LEDGER_FORMAT_VERSION};
        v.mv_size = sizeof(fv);
        v.mv_data = fv;
        mrc = mdb_put(txn, l->meta, &k, &v, 0);
    } else if (mrc == 0) {
        const uint8_t *p = v.mv_data;
        uint32_t ver =
            v.mv_size == 4
                ? ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3])
                : UINT32_MAX;
        if (ver > LEDGER_FORMAT_VERSION) {
            ledger__errf(l->err, sizeof(l->err),
                         "ledger format version %u is newer than this rxledger supports (%d)",
                         (unsigned)ver, LEDGER_FORMAT_VERSION);
            rc = LEDGER_EVERSION;
            goto done;
        }
    }
    if (mrc != MDB_NOTFOUND && (rc = ledger__mdb_err(l, mrc, "cannot read format")) != 0)
        goto done;
    /* Commit even when read-only: DBI handles opened in an aborted txn are closed. */
    mrc = mdb_txn_commit(txn);
    txn = NULL;
    rc = ledger__mdb_err(l, mrc, "cannot commit");
done:
    if (txn != NULL)
        mdb_txn_abort(txn);
    if (rc != 0)
        ledger__errf(errbuf, errlen, "%s", l->err);
    return rc;
}

/* A data file shorter than the pages its meta page says are in use (a bad
 * copy, a restore cut short) would fault (SIGBUS) on first touch of the
 * missing pages: refuse it before anything reads them. */
static int check_size(MDB_env *env, const char *dir, char *errbuf, size_t errlen)
{
    MDB_envinfo info;
    MDB_stat ms;
    struct stat st;
    mdb_filehandle_t fd;
    if (mdb_env_info(env, &info) != 0 || mdb_env_stat(env, &ms) != 0 ||
        mdb_env_get_fd(env, &fd) != 0 || fstat(fd, &st) != 0) {
        ledger__errf(errbuf, errlen, "cannot open ledger '%s': cannot read its size", dir);
        return LEDGER_EIO;
    }
    /* info first: a writer extends the file before it publishes a new meta page */
    uint64_t need = ((uint64_t)info.me_last_pgno + 1) * ms.ms_psize;
    if ((uint64_t)st.st_size < need) {
        ledger__errf(errbuf, errlen,
                     "cannot open ledger '%s': data.mdb is truncated (%llu bytes, its pages "
                     "need %llu): restore it from a backup",
                     dir, (unsigned long long)st.st_size, (unsigned long long)need);
        return LEDGER_EIO;
    }
    return 0;
}

/* The meta pages, read before LMDB opens the file: LMDB would create its lock
 * file beside whatever it is given, and fault (SIGBUS) on pages a truncated
 * file lacks. @return 0 with @p need set to the bytes the newer meta page's
 * last page ends at; 1 not an LMDB file; -1 unreadable (LMDB then says why). */
static int lmdb_need(const char *path, uint64_t *need)
{
    /* a page: header (u64 pgno, u16 pad, u16 flags, u16 lower, u16 upper), then
     * the meta: u32 magic 0xBEEFC0DE, u32 version, address, mapsize, two DB
     * records of 48 bytes (the first u32 of the first is the page size),
     * u64 last page, u64 txnid; all in the writer's byte order */
    static const unsigned char le[4] = {0xde, 0xc0, 0xef, 0xbe}, be[4] = {0xbe, 0xef, 0xc0, 0xde};
    unsigned char m[2][152];
    uint64_t last[2] = {0, 0}, txnid[2] = {0, 0}, psize = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return -1;
    int rc = 1;
    for (int k = 0; k < 2; k++) {
        bool big;
        if ((k == 1 && fseeko(f, (off_t)psize, SEEK_SET) != 0) ||
            fread(m[k], 1, sizeof(m[k]), f) != sizeof(m[k]))
            goto done;
        if (memcmp(m[k] + 16, le, 4) == 0)
            big = false;
        else if (memcmp(m[k] + 16, be, 4) == 0)
            big = true;
        else
            goto done;
        uint64_t v[3] = {0, 0, 0}; /* page size, last page, txnid */
        const size_t off[3] = {40, 136, 144}, len[3] = {4, 8, 8};
        for (int x = 0; x < 3; x++)
            for (size_t y = 0; y < len[x]; y++)
                v[x] |= (uint64_t)m[k][off[x] + (big ? len[x] - 1 - y : y)] << (8 * y);
        if (k == 0)
            psize = v[0];
        if (psize < 512 || psize > (1u << 20))
            goto done;
        last[k] = v[1];
        txnid[k] = v[2];
    }
    uint64_t lp = txnid[1] > txnid[0] ? last[1] : last[0];
    *need = lp < UINT64_MAX / psize - 1 ? (lp + 1) * psize : UINT64_MAX;
    rc = 0;
done:
    fclose(f);
    return rc;
}

/* Write permission for nobody: a ledger made read-only on purpose (an archive
 * copy). No writer can change it, so reading it without LMDB's lock file is safe. */
static bool write_protected(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) == 0;
}

int ledger_open(ledger **out, const char *dir, unsigned flags, char *errbuf, size_t errlen)
{
    ledger *l = NULL;
    char path[4096];
    struct stat st;
    int rc = 0, mrc;
    const bool create = (flags & LEDGER_OPEN_CREATE) != 0;
    *out = NULL;
    if (dir == NULL || *dir == '\0' || strlen(dir) > sizeof(path) - 16) {
        ledger__errf(errbuf, errlen, "bad ledger directory name");
        return LEDGER_EINVAL;
    }
    if (create && mkdir(dir, 0700) != 0 && errno != EEXIST) {
        ledger__errf(errbuf, errlen, "cannot create '%s': %s", dir, strerror(errno));
        return errno == EACCES || errno == EROFS ? LEDGER_EACCES : LEDGER_EIO;
    }
    if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode)) {
        ledger__errf(errbuf, errlen, "'%s' is not a directory", dir);
        return create ? LEDGER_EIO : LEDGER_ENOTFOUND;
    }
    (void)snprintf(path, sizeof(path), "%s/data.mdb", dir);
    if (!create && stat(path, &st) != 0) {
        ledger__errf(errbuf, errlen, "no ledger in '%s' (run 'rxledger init')", dir);
        return LEDGER_ENOTFOUND;
    }
    if (!create && (!S_ISREG(st.st_mode) || st.st_size == 0)) {
        /* LMDB would make a new environment in an empty file: never here */
        ledger__errf(errbuf, errlen, "no ledger in '%s': data.mdb is %s", dir,
                     S_ISREG(st.st_mode) ? "empty" : "not a regular file");
        return LEDGER_ENOTFOUND;
    }
    uint64_t need = 0;
    int mrc0 = create ? -1 : lmdb_need(path, &need);
    if (mrc0 == 1) {
        ledger__errf(errbuf, errlen, "cannot open ledger '%s': data.mdb is not an LMDB file", dir);
        return LEDGER_ENOTFOUND;
    }
    /* the size after the meta pages were read: a writer may have grown the
     * file (and written a newer meta page) since the stat above; it only grows */
    if (mrc0 == 0 && (uint64_t)st.st_size < need && stat(path, &st) != 0)
        st.st_size = 0;
    if (mrc0 == 0 && (uint64_t)st.st_size < need) {
        ledger__errf(errbuf, errlen,
                     "cannot open ledger '%s': data.mdb is truncated (%llu bytes, its pages "
                     "need %llu): restore it from a backup",
                     dir, (unsigned long long)st.st_size, (unsigned long long)need);
        return LEDGER_EIO;
    }
    l = calloc(1, sizeof(*l));
    if (l == NULL)
        return LEDGER_ENOMEM;
    l->rdonly = (flags & LEDGER_OPEN_RDONLY) != 0;
    unsigned envf = MDB_NOTLS | (l->rdonly ? MDB_RDONLY : 0);
    for (int attempt = 0; attempt < 2; attempt++) {
        mrc = mdb_env_create(&l->env);
        if (mrc == 0)
            mrc = mdb_env_set_maxdbs(l->env, 8);
        if (mrc == 0)
            mrc = mdb_env_set_mapsize(l->env, ledger__initial_map_bytes);
        if (mrc == 0)
            mrc = mdb_env_open(l->env, dir, envf, 0600);
        /* Reading a write-protected ledger whose lock file we may not write
         * (LMDB itself reads a read-only file system without its lock file). */
        if (mrc == EACCES && l->rdonly && attempt == 0 && write_protected(path)) {
            mdb_env_close(l->env);
            l->env = NULL;
            envf |= MDB_NOLOCK;
            continue;
        }
        break;
    }
    if (mrc != 0) {
        rc = ledger__mdb_err(l, mrc, "cannot open ledger");
        if (mrc == MDB_INVALID || mrc == MDB_VERSION_MISMATCH)
            rc = LEDGER_EVERSION;
        ledger__errf(errbuf, errlen, "cannot open ledger '%s': %s", dir, mdb_strerror(mrc));
        goto done;
    }
    if ((rc = check_size(l->env, dir, errbuf, errlen)) != 0)
        goto done;
    /* Reader slots left by processes that died (SIGKILL) would pin old pages,
     * so the file would only grow, and would fill the reader table. */
    int dead = 0;
    (void)mdb_reader_check(l->env, &dead);
    rc = open_dbs(l, create, errbuf, errlen);
    if (rc == LEDGER_ENOTFOUND)
        ledger__errf(errbuf, errlen, "no ledger in '%s': data.mdb is not an rxledger ledger", dir);
done:
    if (rc != 0)
        ledger_close(l);
    else
        *out = l;
    return rc;
}

/* ---- head and key index ---- */

int ledger__head_read(ledger *l, MDB_txn *txn, ledger__head *h)
{
    MDB_val k = {sizeof(meta_head) - 1, (void *)meta_head}, v;
    int mrc = mdb_get(txn, l->meta, &k, &v);
    memset(h, 0, sizeof(*h));
    if (mrc == MDB_NOTFOUND)
        return 0;
    if (mrc != 0)
        return ledger__mdb_err(l, mrc, "cannot read head");
    if (v.mv_size != LEDGER__HEAD_BYTES) {
        ledger__errf(l->err, sizeof(l->err), "stored head is damaged");
        return LEDGER_EENCODING;
    }
    const uint8_t *p = v.mv_data;
    h->count = ledger__get_u64be(p);
    memcpy(h->hash, p + 8, LEDGER_HASH_BYTES);
    h->rt = (int64_t)ledger__get_u64be(p + 8 + LEDGER_HASH_BYTES);
    return 0;
}

static int head_write(ledger *l, MDB_txn *txn, const ledger__head *h)
{
    uint8_t buf[LEDGER__HEAD_BYTES];
    MDB_val k = {sizeof(meta_head) - 1, (void *)meta_head}, v = {sizeof(buf), buf};
    ledger__u64be(buf, h->count);
    memcpy(buf + 8, h->hash, LEDGER_HASH_BYTES);
    ledger__u64be(buf + 8 + LEDGER_HASH_BYTES, (uint64_t)h->rt);
    return ledger__mdb_err(l, mdb_put(txn, l->meta, &k, &v, 0), "cannot write head");
}

int ledger__keyrec_get(ledger *l, MDB_txn *txn, const uint8_t kid[KEYS_KID_BYTES],
                       uint64_t *enrolled, uint64_t *revoked)
{
    MDB_val k = {KEYS_KID_BYTES, (void *)kid}, v;
    int mrc = mdb_get(txn, l->keys, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return LEDGER_ENOTFOUND;
    if (mrc != 0)
        return ledger__mdb_err(l, mrc, "cannot read key index");
    if (v.mv_size != LEDGER__KEYREC_BYTES) {
        ledger__errf(l->err, sizeof(l->err), "key index record is damaged");
        return LEDGER_EENCODING;
    }
    *enrolled = ledger__get_u64be(v.mv_data);
    *revoked = ledger__get_u64be((const uint8_t *)v.mv_data + 8);
    return 0;
}

static int keyrec_put(ledger *l, MDB_txn *txn, const uint8_t kid[KEYS_KID_BYTES], uint64_t enrolled,
                      uint64_t revoked)
{
    uint8_t rec[LEDGER__KEYREC_BYTES];
    MDB_val k = {KEYS_KID_BYTES, (void *)kid}, v = {sizeof(rec), rec};
    ledger__u64be(rec, enrolled);
    ledger__u64be(rec + 8, revoked);
    return ledger__mdb_err(l, mdb_put(txn, l->keys, &k, &v, 0), "cannot write key index");
}

/* Decode the entry at @p seq inside @p txn (borrowing LMDB memory). */
static int entry_at(ledger *l, MDB_txn *txn, uint64_t seq, ledger_entry *e)
{
    uint8_t kb[8];
    MDB_val k = {sizeof(kb), kb}, v;
    char why[LEDGER_ERRMSG_MAX];
    int rc;
    ledger__u64be(kb, seq);
    rc = mdb_get(txn, l->entries, &k, &v);
    if (rc != 0)
        return ledger__mdb_err(l, rc, "cannot read entry");
    rc = ledger_entry_decode(e, v.mv_data, v.mv_size, why, sizeof(why));
    if (rc != 0)
        ledger__errf(l->err, sizeof(l->err), "entry %llu: %s", (unsigned long long)seq, why);
    return rc;
}

/* A key's state, read from the entries the index points at (the index holds no data). */
static int key_lookup(ledger *l, MDB_txn *txn, const uint8_t kid[KEYS_KID_BYTES],
                      ledger_keyinfo *out)
{
    uint64_t enrolled = 0, revoked = 0;
    ledger_entry e;
    ledger__effect eff;
    char why[LEDGER_ERRMSG_MAX];
    int rc = ledger__keyrec_get(l, txn, kid, &enrolled, &revoked);
    if (rc != 0)
        return rc;
    if ((rc = entry_at(l, txn, enrolled, &e)) != 0)
        return rc;
    if ((rc = ledger__effect_of(&e, &eff, why, sizeof(why))) != 0 ||
        eff.kind != LEDGER__EFF_ENROLL) {
        ledger__errf(l->err, sizeof(l->err), "key index points at a non-enrolment entry");
        return LEDGER_EENCODING;
    }
    *out = eff.key;
    if (revoked != LEDGER__NO_SEQ) {
        if ((rc = entry_at(l, txn, revoked, &e)) != 0)
            return rc;
        if (ledger__effect_of(&e, &eff, why, sizeof(why)) != 0 || eff.kind != LEDGER__EFF_REVOKE) {
            ledger__errf(l->err, sizeof(l->err), "key index points at a non-revocation entry");
            return LEDGER_EENCODING;
        }
        out->revoked = true;
        out->revoked_seq = revoked;
        out->revoked_ms = e.recorded_ms;
        memcpy(out->revoke_reason, eff.reason, sizeof(out->revoke_reason));
    }
    return 0;
}

int ledger_key_get(ledger *l, const uint8_t kid[KEYS_KID_BYTES], ledger_keyinfo *out)
{
    MDB_txn *txn = NULL;
    int rc = ledger__read_txn(l, &txn);
    if (rc == 0)
        rc = key_lookup(l, txn, kid, out);
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}

int ledger_keys_list(ledger *l, ledger_key_fn fn, void *ud)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    MDB_val k, v;
    int rc = ledger__read_txn(l, &txn), mrc;
    if (rc != 0)
        goto done;
    if ((rc = ledger__mdb_err(l, mdb_cursor_open(txn, l->keys, &cur), "cannot read keys")) != 0)
        goto done;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        ledger_keyinfo info;
        if (k.mv_size != KEYS_KID_BYTES) {
            ledger__errf(l->err, sizeof(l->err), "key index is damaged");
            rc = LEDGER_EENCODING;
            goto done;
        }
        if ((rc = key_lookup(l, txn, k.mv_data, &info)) != 0)
            goto done;
        if (fn(&info, ud) != 0)
            break;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = ledger__mdb_err(l, mrc, "cannot read keys");
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}

/* ---- append ---- */

typedef struct append_req {
    const keys_key *signer;
    const ledger_append_opts *o;
    const char *genesis_name; /* genesis: the printed name comes from the body */
} append_req;

int ledger__payload_build(ledger__buf *out, uint64_t seq, const uint8_t prev[LEDGER_HASH_BYTES],
                          const char *type, int64_t rt, int64_t et,
                          const uint8_t kid[KEYS_KID_BYTES], const char *name, const char *meaning,
                          const ledger_body *body)
{
    ledger_body *p = NULL, *empty = NULL;
    ledger__buf bb;
    int rc = ledger_body_new(&p);
    ledger__buf_init(&bb, LEDGER_MAX_ENTRY_BYTES);
    if (rc != 0)
        goto done;
    if (body == NULL) {
        if ((rc = ledger_body_new(&empty)) != 0)
            goto done;
        body = empty;
    }
    ledger__body_encode(body, &bb);
    if ((rc = bb.err) != 0)
        goto done;
    if ((rc = ledger_body_put_uint(p, "v", LEDGER_FORMAT_VERSION)) != 0 ||
        (rc = ledger_body_put_uint(p, "seq", seq)) != 0 ||
        (rc = ledger_body_put_bytes(p, "prev", prev, LEDGER_HASH_BYTES)) != 0 ||
        (rc = ledger_body_put_text(p, "type", type)) != 0 ||
        (rc = ledger_body_put_uint(p, "rt", (uint64_t)rt)) != 0 ||
        (rc = ledger_body_put_uint(p, "et", (uint64_t)et)) != 0 ||
        (rc = ledger_body_put_bytes(p, "kid", kid, KEYS_KID_BYTES)) != 0 ||
        (rc = ledger_body_put_text(p, "name", name)) != 0 ||
        (rc = ledger_body_put_text(p, "meaning", meaning)) != 0 ||
        (rc = ledger__body_put_raw(p, "body", bb.p, bb.len)) != 0)
        goto done;
    ledger__body_encode(p, out);
    rc = out->err;
done:
    ledger_body_free(p);
    ledger_body_free(empty);
    ledger__buf_release(&bb);
    return rc;
}

/* Apply an entry's effect to the key index, refusing impossible changes. */
static int apply_effect(ledger *l, MDB_txn *txn, const ledger__effect *eff, uint64_t seq)
{
    uint64_t enrolled = 0, revoked = 0;
    char kidhex[2 * KEYS_KID_BYTES + 1];
    int rc;
    if (eff->kind == LEDGER__EFF_NONE)
        return 0;
    if (eff->kind == LEDGER__EFF_REF) {
        uint8_t kb[8];
        uint8_t h[LEDGER_HASH_BYTES];
        MDB_val k = {sizeof(kb), kb}, v;
        ledger__u64be(kb, eff->ref);
        rc = mdb_get(txn, l->entries, &k, &v);
        if (rc == MDB_NOTFOUND) {
            ledger__errf(l->err, sizeof(l->err), "entry %llu does not exist",
                         (unsigned long long)eff->ref);
            return LEDGER_ENOTFOUND;
        }
        if ((rc = ledger__mdb_err(l, rc, "cannot read entry")) != 0)
            return rc;
        if ((rc = ledger__leaf_hash(h, v.mv_data, v.mv_size)) != 0)
            return rc;
        if (!keys_equal(h, eff->ref_hash, LEDGER_HASH_BYTES)) {
            ledger__errf(l->err, sizeof(l->err), "ref-hash is not the hash of entry %llu",
                         (unsigned long long)eff->ref);
            return LEDGER_EINVAL;
        }
        return 0;
    }
    if (eff->kind == LEDGER__EFF_ENROLL) {
        ledger_hex(kidhex, eff->key.kid, KEYS_KID_BYTES);
        rc = ledger__keyrec_get(l, txn, eff->key.kid, &enrolled, &revoked);
        if (rc == 0) {
            ledger__errf(l->err, sizeof(l->err), "key %s is already enrolled (seq %llu)", kidhex,
                         (unsigned long long)enrolled);
            return LEDGER_EEXIST;
        }
        if (rc != LEDGER_ENOTFOUND)
            return rc;
        return keyrec_put(l, txn, eff->key.kid, seq, LEDGER__NO_SEQ);
    }
    ledger_hex(kidhex, eff->target, KEYS_KID_BYTES);
    rc = ledger__keyrec_get(l, txn, eff->target, &enrolled, &revoked);
    if (rc == LEDGER_ENOTFOUND) {
        ledger__errf(l->err, sizeof(l->err), "key %s is not enrolled", kidhex);
        return rc;
    }
    if (rc != 0)
        return rc;
    if (enrolled == 0) {
        ledger__errf(l->err, sizeof(l->err), "the site key cannot be revoked");
        return LEDGER_EROLE;
    }
    if (revoked != LEDGER__NO_SEQ) {
        ledger__errf(l->err, sizeof(l->err), "key %s is already revoked (seq %llu)", kidhex,
                     (unsigned long long)revoked);
        return LEDGER_EEXIST;
    }
    return keyrec_put(l, txn, eff->target, enrolled, seq);
}

/* Derived lookups: patient enrolments by commitment, amendments and witnesses by
 * the seq they name. Rebuildable from the chain; never the record itself. */
int ledger__index_key(const ledger_entry *e, const ledger__effect *eff, uint8_t key[33],
                      size_t *keylen)
{
    if (strcmp(e->type, "patient.enroll") == 0) {
        const uint8_t *p;
        size_t n;
        if (ledger_entry_get_bytes(e, "patient", &p, &n) != 0 || n != 32)
            return LEDGER_EINVAL;
        key[0] = LEDGER_INDEX_PATIENT;
        memcpy(key + 1, p, n);
        *keylen = 1 + n;
        return 1;
    }
    if (strcmp(e->type, "policy.adopt") == 0) {
        char drug[17];
        if (ledger_entry_get_text(e, "drug", drug, sizeof(drug)) != 0)
            return LEDGER_EINVAL;
        key[0] = LEDGER_INDEX_POLICY;
        memcpy(key + 1, drug, strlen(drug));
        *keylen = 1 + strlen(drug);
        return 1;
    }
    if (eff->kind == LEDGER__EFF_REF) {
        key[0] = e->type[0] == 'a' ? LEDGER_INDEX_AMEND : LEDGER_INDEX_WITNESS;
        ledger__u64be(key + 1, eff->ref);
        *keylen = 1 + 8;
        return 1;
    }
    return 0;
}

static void merkle_key(uint8_t kb[9], unsigned level, uint64_t index)
{
    kb[0] = (uint8_t)level;
    ledger__u64be(kb + 1, index);
}

int ledger__merkle_get(ledger *l, MDB_txn *txn, unsigned level, uint64_t index,
                       uint8_t out[LEDGER_HASH_BYTES])
{
    uint8_t kb[9];
    MDB_val k = {sizeof(kb), kb}, v;
    merkle_key(kb, level, index);
    int rc = mdb_get(txn, l->merkle, &k, &v);
    if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != LEDGER_HASH_BYTES)) {
        ledger__errf(l->err, sizeof(l->err), "Merkle node %u/%llu is missing or damaged", level,
                     (unsigned long long)index);
        return LEDGER_EENCODING;
    }
    if (rc != 0)
        return ledger__mdb_err(l, rc, "cannot read the Merkle tree");
    memcpy(out, v.mv_data, LEDGER_HASH_BYTES);
    return 0;
}

/* Add leaf @p seq and every perfect subtree it completes (RFC 9162 nodes). */
int ledger__merkle_append(ledger *l, MDB_txn *txn, uint64_t seq,
                          const uint8_t leaf[LEDGER_HASH_BYTES])
{
    uint8_t node[LEDGER_HASH_BYTES], left[LEDGER_HASH_BYTES], kb[9];
    unsigned level = 0;
    uint64_t index = seq;
    int rc;
    memcpy(node, leaf, LEDGER_HASH_BYTES);
    for (;;) {
        MDB_val k = {sizeof(kb), kb}, v = {LEDGER_HASH_BYTES, node};
        merkle_key(kb, level, index);
        if ((rc = ledger__mdb_err(l, mdb_put(txn, l->merkle, &k, &v, 0),
                                  "cannot store the Merkle tree")) != 0)
            return rc;
        if ((index & 1) == 0)
            return 0;
        if ((rc = ledger__merkle_get(l, txn, level, index - 1, left)) != 0)
            return rc;
        ledger_merkle_node(node, left, node);
        level++;
        index >>= 1;
    }
}

static int index_entry(ledger *l, MDB_txn *txn, const ledger_entry *e, const ledger__effect *eff)
{
    uint8_t kb[33], vb[8];
    size_t kn = 0;
    int rc = ledger__index_key(e, eff, kb, &kn);
    if (rc <= 0)
        return rc;
    MDB_val k = {kn, kb}, v = {sizeof(vb), vb};
    ledger__u64be(vb, e->seq);
    return ledger__mdb_err(l, mdb_put(txn, l->index, &k, &v, 0), "cannot write index");
}

int ledger_index_each(ledger *l, char tag, const uint8_t *key, size_t keylen, ledger_index_fn fn,
                      void *ud)
{
    MDB_txn *txn = NULL;
    MDB_cursor *cur = NULL;
    uint8_t kb[1 + 32];
    MDB_val k = {1 + keylen, kb}, v;
    int rc, mrc;
    if (keylen > 32)
        return LEDGER_EINVAL;
    kb[0] = (uint8_t)tag;
    memcpy(kb + 1, key, keylen);
    if ((rc = ledger__read_txn(l, &txn)) != 0)
        goto done;
    if ((rc = ledger__mdb_err(l, mdb_cursor_open(txn, l->index, &cur), "cannot read index")) != 0)
        goto done;
    for (mrc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); mrc == 0;
         mrc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        if (v.mv_size != 8) {
            rc = LEDGER_EENCODING;
            goto done;
        }
        if (fn(ledger__get_u64be(v.mv_data), ud) != 0)
            break;
    }
    if (mrc != 0 && mrc != MDB_NOTFOUND)
        rc = ledger__mdb_err(l, mrc, "cannot read index");
done:
    if (cur != NULL)
        mdb_cursor_close(cur);
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}

/* One write transaction in progress: appends chain onto the in-memory head. */
struct ledger_txn {
    ledger *l;
    MDB_txn *txn;
    ledger__head head;
    uint64_t appended;
    bool mapfull; /* the map must grow: retry the whole transaction */
};

static int txn_append(ledger_txn *t, const append_req *req, ledger_appended *out)
{
    ledger *l = t->l;
    const ledger_append_opts *o = req->o;
    const bool genesis = req->genesis_name != NULL;
    ledger__head *h = &t->head;
    ledger_keyinfo signer;
    bool have_signer = false;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    ledger__buf payload, entry;
    ledger_entry e;
    ledger__effect eff;
    char why[LEDGER_ERRMSG_MAX];
    const ledger_rtype *t_ = ledger_rtype_find(o->type);
    int rc;

    ledger__buf_init(&payload, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    if (t_ == NULL) {
        ledger__errf(l->err, sizeof(l->err), "unknown entry type '%s'", o->type);
        rc = LEDGER_EINVAL;
        goto done;
    }
    if (genesis && h->count != 0) {
        ledger__errf(l->err, sizeof(l->err), "ledger is already initialised");
        rc = LEDGER_EEXIST;
        goto done;
    }
    if (!genesis && h->count == 0) {
        ledger__errf(l->err, sizeof(l->err), "ledger has no genesis entry (run 'rxledger init')");
        rc = LEDGER_ENOTINIT;
        goto done;
    }
    keys_key_pub(req->signer, pub);
    keys_kid(kid, pub);
    if (!genesis) {
        rc = key_lookup(l, t->txn, kid, &signer);
        if (rc != 0 && rc != LEDGER_ENOTFOUND)
            goto done;
        have_signer = rc == 0;
    }
    if (!genesis && !have_signer) {
        char kidhex[2 * KEYS_KID_BYTES + 1];
        ledger_hex(kidhex, kid, KEYS_KID_BYTES);
        ledger__errf(l->err, sizeof(l->err), "key %s is not enrolled in this ledger", kidhex);
        rc = LEDGER_ESIGNER;
        goto done;
    }
    int64_t rt = o->recorded_ms != 0 ? o->recorded_ms : ledger__now_ms();
    if (rt < h->rt) {
        char last[LEDGER_TIME_TEXT_BYTES], now[LEDGER_TIME_TEXT_BYTES];
        ledger_time_format(last, h->rt);
        ledger_time_format(now, rt);
        ledger__errf(l->err, sizeof(l->err),
                     "system clock (%s) is behind the last entry's recorded time (%s)", now, last);
        rc = LEDGER_ECLOCK;
        goto done;
    }
    int64_t et = o->event_ms != 0 ? o->event_ms : rt;
    if (et < 0 || et > rt + LEDGER_FUTURE_TOLERANCE_MS) {
        ledger__errf(l->err, sizeof(l->err), "event time is more than 5 minutes in the future");
        rc = LEDGER_EFUTURE;
        goto done;
    }
    const char *name = genesis ? req->genesis_name : signer.name;
    const char *meaning = o->meaning != NULL ? o->meaning : t_->meaning;
    rc = ledger__payload_build(&payload, h->count, h->hash, o->type, rt, et, kid, name, meaning,
                               o->body);
    if (rc != 0) {
        ledger__errf(l->err, sizeof(l->err), "cannot encode entry: %s", ledger_strerror(rc));
        goto done;
    }
    if ((rc = ledger__entry_build(&entry, req->signer, payload.p, payload.len)) != 0) {
        ledger__errf(l->err, sizeof(l->err), "cannot sign entry: %s", ledger_strerror(rc));
        goto done;
    }
    /* Decode what we built: the same strict checks verify will apply. */
    if ((rc = ledger_entry_decode(&e, entry.p, entry.len, why, sizeof(why))) != 0 ||
        (rc = ledger__check_rules(&e, have_signer ? &signer : NULL, &eff, why, sizeof(why))) != 0) {
        ledger__errf(l->err, sizeof(l->err), "%s", why);
        goto done;
    }
    if ((rc = apply_effect(l, t->txn, &eff, h->count)) != 0)
        goto done;
    if ((rc = index_entry(l, t->txn, &e, &eff)) != 0)
        goto done;
    if ((rc = ledger__merkle_append(l, t->txn, h->count, e.hash)) != 0)
        goto done;
    uint8_t kb[8];
    MDB_val k = {sizeof(kb), kb}, v = {entry.len, entry.p};
    ledger__u64be(kb, h->count);
    rc = mdb_put(t->txn, l->entries, &k, &v, MDB_APPEND);
    if (rc == MDB_KEYEXIST) {
        ledger__errf(l->err, sizeof(l->err), "entry %llu already exists: stored head is stale",
                     (unsigned long long)h->count);
        rc = LEDGER_EEXIST;
        goto done;
    }
    if ((rc = ledger__mdb_err(l, rc, "cannot store entry")) != 0)
        goto done;
    if (out != NULL) {
        out->seq = h->count;
        memcpy(out->hash, e.hash, LEDGER_HASH_BYTES);
        out->recorded_ms = rt;
    }
    h->count++;
    memcpy(h->hash, e.hash, LEDGER_HASH_BYTES);
    h->rt = rt;
    t->appended++;
    /* the head moves with every entry: reads inside the transaction see it */
    rc = head_write(l, t->txn, h);
done:
    if (rc == LEDGER__EMAPFULL)
        t->mapfull = true;
    ledger__buf_release(&payload);
    ledger__buf_release(&entry);
    return rc;
}

int ledger_txn_append(ledger_txn *t, const keys_key *signer, const ledger_append_opts *opts,
                      ledger_appended *out)
{
    if (opts == NULL || opts->type == NULL || strcmp(opts->type, "genesis") == 0) {
        ledger__errf(t->l->err, sizeof(t->l->err), "bad entry type");
        return LEDGER_EINVAL;
    }
    append_req req = {signer, opts, NULL};
    return txn_append(t, &req, out);
}

int ledger_txn_head(ledger_txn *t, uint64_t *out_count, uint8_t head[LEDGER_HASH_BYTES])
{
    *out_count = t->head.count;
    memcpy(head, t->head.hash, LEDGER_HASH_BYTES);
    return 0;
}

/* Whether the file system holding the ledger has (almost) no room left. */
static bool disk_nearly_full(ledger *l)
{
    struct statvfs st;
    mdb_filehandle_t fd;
    if (mdb_env_get_fd(l->env, &fd) != 0 || fstatvfs(fd, &st) != 0)
        return false;
    return (uint64_t)st.f_bavail * st.f_frsize < 64u * 1024u;
}

/* One attempt: begin, run fn, write the head, commit. */
static int transact_once(ledger *l, ledger_txn_fn fn, void *ud, bool *mapfull)
{
    ledger_txn t = {l, NULL, {0, {0}, 0}, 0, false};
    int rc;
    *mapfull = false;
    if ((rc = txn_begin(l, 0, &t.txn)) != 0)
        goto done;
    if ((rc = ledger__head_read(l, t.txn, &t.head)) != 0)
        goto done;
    l->wtxn = t.txn; /* reads made by fn see its own writes */
    rc = fn(&t, ud);
    l->wtxn = NULL;
    if (rc != 0)
        goto done;
    rc = mdb_txn_commit(t.txn);
    t.txn = NULL;
    if (rc == EIO && disk_nearly_full(l))
        rc = ENOSPC; /* LMDB reports a page write cut short by a full disk as EIO */
    rc = ledger__mdb_err(l, rc, "cannot commit");
done:
    if (t.txn != NULL)
        mdb_txn_abort(t.txn);
    *mapfull = t.mapfull || rc == LEDGER__EMAPFULL;
    return rc;
}

int ledger_transact(ledger *l, ledger_txn_fn fn, void *ud)
{
    int rc = LEDGER__EMAPFULL;
    bool mapfull = true;
    if (l->rdonly) {
        ledger__errf(l->err, sizeof(l->err), "ledger opened read-only");
        return LEDGER_ERDONLY;
    }
    if (l->pin != NULL) {
        ledger__errf(l->err, sizeof(l->err), "a read snapshot is pinned: end it first");
        return LEDGER_EBUSY;
    }
    l->err[0] = '\0';
    for (int i = 0; i < GROW_ATTEMPTS && mapfull; i++) {
        rc = transact_once(l, fn, ud, &mapfull);
        if (mapfull) {
            /* The map is full: double it (no transaction of ours is open) and retry. */
            MDB_envinfo info;
            int mrc = mdb_env_info(l->env, &info);
            if (mrc == 0)
                mrc = mdb_env_set_mapsize(l->env, info.me_mapsize * 2);
            if (mrc != 0)
                return ledger__mdb_err(l, mrc, "cannot grow the map");
        }
    }
    if (mapfull) {
        ledger__errf(l->err, sizeof(l->err), "ledger map is full and cannot grow");
        rc = LEDGER_EFULL;
    }
    return rc;
}

typedef struct single {
    const append_req *req;
    ledger_appended *out;
} single;

static int single_fn(ledger_txn *t, void *ud)
{
    single *s = ud;
    return txn_append(t, s->req, s->out);
}

int ledger_init(ledger *l, const keys_key *site_key, const char *site_name, const char *dea,
                ledger_appended *out)
{
    ledger_body *b = NULL;
    uint8_t pub[KEYS_PUB_BYTES];
    char why[128];
    int rc;
    if (site_name == NULL || *site_name == '\0' || strlen(site_name) > LEDGER_NAME_MAX) {
        ledger__errf(l->err, sizeof(l->err), "site name must be 1 to %d bytes", LEDGER_NAME_MAX);
        return LEDGER_EINVAL;
    }
    if (dea == NULL || ledger_dea_check(dea, why, sizeof(why)) != 0) {
        ledger__errf(l->err, sizeof(l->err), "bad dea number '%s': %s", dea ? dea : "",
                     dea ? why : "missing");
        return LEDGER_EINVAL;
    }
    keys_key_pub(site_key, pub);
    if ((rc = ledger_body_new(&b)) != 0 ||
        (rc = ledger_body_put_text(b, "site_name", site_name)) != 0 ||
        (rc = ledger_body_put_text(b, "dea", dea)) != 0 ||
        (rc = ledger_body_put_bytes(b, "site_pub", pub, sizeof(pub))) != 0) {
        ledger__errf(l->err, sizeof(l->err), "bad site name: %s", ledger_strerror(rc));
        goto done;
    }
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "genesis";
    o.body = b;
    append_req req = {site_key, &o, site_name};
    single s = {&req, out};
    rc = ledger_transact(l, single_fn, &s);
done:
    ledger_body_free(b);
    return rc;
}

int ledger_append(ledger *l, const keys_key *signer, const ledger_append_opts *opts,
                  ledger_appended *out)
{
    if (opts == NULL || opts->type == NULL || strcmp(opts->type, "genesis") == 0) {
        ledger__errf(l->err, sizeof(l->err), "bad entry type");
        return LEDGER_EINVAL;
    }
    append_req req = {signer, opts, NULL};
    single s = {&req, out};
    return ledger_transact(l, single_fn, &s);
}

int ledger_head(ledger *l, uint64_t *out_count, uint8_t head[LEDGER_HASH_BYTES])
{
    MDB_txn *txn = NULL;
    ledger__head h;
    int rc = ledger__read_txn(l, &txn);
    if (rc == 0)
        rc = ledger__head_read(l, txn, &h);
    if (rc == 0) {
        *out_count = h.count;
        memcpy(head, h.hash, LEDGER_HASH_BYTES);
    }
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}

int ledger_get(ledger *l, uint64_t seq, uint8_t *buf, size_t cap, size_t *outlen)
{
    MDB_txn *txn = NULL;
    uint8_t kb[8];
    MDB_val k = {sizeof(kb), kb}, v;
    int rc = ledger__read_txn(l, &txn);
    if (rc != 0)
        goto done;
    ledger__u64be(kb, seq);
    int mrc = mdb_get(txn, l->entries, &k, &v);
    if (mrc == MDB_NOTFOUND) {
        ledger__errf(l->err, sizeof(l->err), "no entry %llu", (unsigned long long)seq);
        rc = LEDGER_ENOTFOUND;
        goto done;
    }
    if ((rc = ledger__mdb_err(l, mrc, "cannot read entry")) != 0)
        goto done;
    if (v.mv_size > cap) {
        ledger__errf(l->err, sizeof(l->err), "entry %llu is too large", (unsigned long long)seq);
        rc = LEDGER_ETOOBIG;
        goto done;
    }
    memcpy(buf, v.mv_data, v.mv_size); /* copy out before the transaction ends */
    *outlen = v.mv_size;
done:
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}

int ledger_read_entry(ledger *l, uint64_t seq, uint8_t *buf, size_t cap, ledger_entry *out)
{
    size_t n;
    char why[LEDGER_ERRMSG_MAX];
    int rc = ledger_get(l, seq, buf, cap, &n);
    if (rc == 0 && (rc = ledger_entry_decode(out, buf, n, why, sizeof(why))) != 0)
        ledger__errf(l->err, sizeof(l->err), "entry %llu: %s", (unsigned long long)seq, why);
    return rc;
}

/* ---- iteration ---- */

/* ---- the Merkle tree over the stored nodes ---- */

typedef struct node_src {
    ledger *l;
    MDB_txn *txn;
} node_src;

static int stored_node(void *ud, unsigned level, uint64_t index, uint8_t out[LEDGER_HASH_BYTES])
{
    node_src *ns = ud;
    return ledger__merkle_get(ns->l, ns->txn, level, index, out);
}

/* Run one proof function in a read transaction, sizes checked against the head. */
static int with_tree(ledger *l, uint64_t size, node_src *ns, MDB_txn **txn)
{
    ledger__head h;
    int rc = ledger__read_txn(l, txn);
    if (rc != 0)
        return rc;
    if ((rc = ledger__head_read(l, *txn, &h)) != 0)
        return rc;
    if (size == 0 || size > h.count) {
        ledger__errf(l->err, sizeof(l->err), "tree size %llu is not between 1 and %llu",
                     (unsigned long long)size, (unsigned long long)h.count);
        return LEDGER_EINVAL;
    }
    ns->l = l;
    ns->txn = *txn;
    return 0;
}

/* One tree query in a read transaction, its size checked against the head. */
typedef enum tree_q { TREE_ROOT, TREE_INCLUSION, TREE_CONSISTENCY } tree_q;

static int tree_query(ledger *l, tree_q q, uint64_t a, uint64_t size,
                      uint8_t root[LEDGER_HASH_BYTES], uint8_t path[][LEDGER_HASH_BYTES],
                      size_t *npath)
{
    MDB_txn *txn = NULL;
    node_src ns;
    int rc = with_tree(l, size, &ns, &txn);
    if (rc == 0)
        rc = q == TREE_ROOT ? ledger_merkle_root_of(stored_node, &ns, size, root)
             : q == TREE_INCLUSION
                 ? ledger_merkle_inclusion_of(stored_node, &ns, a, size, path, npath)
                 : ledger_merkle_consistency_of(stored_node, &ns, a, size, path, npath);
    if (txn != NULL)
        ledger__end_read(l, txn);
    return rc;
}

int ledger_merkle_root(ledger *l, uint64_t size, uint8_t root[LEDGER_HASH_BYTES])
{
    return tree_query(l, TREE_ROOT, 0, size, root, NULL, NULL);
}

int ledger_merkle_inclusion(ledger *l, uint64_t index, uint64_t size,
                            uint8_t path[][LEDGER_HASH_BYTES], size_t *npath)
{
    return tree_query(l, TREE_INCLUSION, index, size, NULL, path, npath);
}

int ledger_merkle_consistency(ledger *l, uint64_t size1, uint64_t size2,
                              uint8_t path[][LEDGER_HASH_BYTES], size_t *npath)
{
    return tree_query(l, TREE_CONSISTENCY, size1, size2, NULL, path, npath);
}
