/* rxl-tamper: plant damage in a ledger's LMDB records, for tests and the demo.
 * It writes underneath the library on purpose; nothing in rxledger uses it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

static int die(const char *msg)
{
    fprintf(stderr, "rxl-tamper: %s\n", msg);
    return 1;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

static MDB_val seqkey(uint8_t kb[8], uint64_t seq)
{
    ledger__u64be(kb, seq);
    MDB_val k = {8, kb};
    return k;
}

/* Read entry @p seq into a malloc'd copy. */
static int get_copy(ledger *l, MDB_txn *txn, uint64_t seq, uint8_t **out, size_t *len)
{
    uint8_t kb[8];
    MDB_val k = seqkey(kb, seq), v;
    if (mdb_get(txn, l->entries, &k, &v) != 0)
        return -1;
    *out = malloc(v.mv_size);
    if (*out == NULL)
        return -1;
    memcpy(*out, v.mv_data, v.mv_size);
    *len = v.mv_size;
    return 0;
}

static int put(ledger *l, MDB_txn *txn, uint64_t seq, const uint8_t *p, size_t n)
{
    uint8_t kb[8];
    MDB_val k = seqkey(kb, seq), v = {n, (void *)p};
    return mdb_put(txn, l->entries, &k, &v, 0);
}

static int flip(ledger *l, MDB_txn *txn, uint64_t seq, const char *where)
{
    uint8_t *p = NULL;
    size_t n = 0, off;
    ledger_entry e;
    const uint8_t *prot, *payload;
    size_t protlen, plen;
    int rc = 1;
    if (get_copy(l, txn, seq, &p, &n) != 0)
        return die("no such entry");
    if (ledger_entry_decode(&e, p, n, NULL, 0) != 0 ||
        ledger__entry_spans(&e, &prot, &protlen, &payload, &plen) != 0) {
        free(p);
        return die("entry does not decode");
    }
    if (strcmp(where, "hdr") == 0)
        off = (size_t)(prot - p) + protlen - 1; /* last byte of the kid */
    else if (strcmp(where, "payload") == 0)
        off = (size_t)(payload - p) + plen / 2;
    else if (strcmp(where, "sig") == 0)
        off = n - 1;
    else {
        uint64_t v;
        if (parse_u64(where, &v) != 0 || v >= n) {
            free(p);
            return die("bad offset");
        }
        off = (size_t)v;
    }
    p[off] ^= 0x01;
    if (put(l, txn, seq, p, n) == 0)
        rc = 0;
    free(p);
    return rc;
}

static int swap(ledger *l, MDB_txn *txn, uint64_t a, uint64_t b)
{
    uint8_t *pa = NULL, *pb = NULL;
    size_t na = 0, nb = 0;
    int rc = 1;
    if (get_copy(l, txn, a, &pa, &na) == 0 && get_copy(l, txn, b, &pb, &nb) == 0 &&
        put(l, txn, a, pb, nb) == 0 && put(l, txn, b, pa, na) == 0)
        rc = 0;
    free(pa);
    free(pb);
    return rc;
}

static int put_file(ledger *l, MDB_txn *txn, uint64_t seq, const char *path)
{
    static uint8_t buf[LEDGER_MAX_ENTRY_BYTES];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return die("cannot open file");
    size_t n = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return put(l, txn, seq, buf, n) == 0 ? 0 : 1;
}

/* Append a note signed by @p keypath with no checks at all, and move the head. */
static int forge(ledger *l, MDB_txn *txn, const char *keypath, const char *text)
{
    const char *pass = getenv("RXLEDGER_PASSPHRASE");
    keys_key *k = NULL;
    ledger_body *b = NULL;
    ledger__head h;
    ledger__buf payload, entry;
    uint8_t pub[KEYS_PUB_BYTES], kid[KEYS_KID_BYTES];
    ledger_entry e;
    int rc = 1;
    ledger__buf_init(&payload, LEDGER_MAX_ENTRY_BYTES);
    ledger__buf_init(&entry, LEDGER_MAX_ENTRY_BYTES);
    if (pass == NULL || keys_load(&k, keypath, pass, strlen(pass), NULL, 0) != 0) {
        rc = die("cannot load key (set RXLEDGER_PASSPHRASE)");
        goto done;
    }
    if (ledger__head_read(l, txn, &h) != 0 || ledger_body_new(&b) != 0 ||
        ledger_body_put_text(b, "text", text) != 0)
        goto done;
    keys_key_pub(k, pub);
    keys_kid(kid, pub);
    int64_t now = ledger__now_ms();
    if (now < h.rt)
        now = h.rt;
    const char *name = keys_key_name(k);
    if (ledger__payload_build(&payload, h.count, h.hash, "note", now, now, kid, name, "authored",
                              b) != 0 ||
        ledger__entry_build(&entry, k, payload.p, payload.len) != 0 ||
        ledger_entry_decode(&e, entry.p, entry.len, NULL, 0) != 0)
        goto done;
    if (put(l, txn, h.count, entry.p, entry.len) != 0 ||
        ledger__merkle_append(l, txn, h.count, e.hash) != 0) /* a thorough forger */
        goto done;
    uint8_t hb[LEDGER__HEAD_BYTES];
    ledger__u64be(hb, h.count + 1);
    memcpy(hb + 8, e.hash, LEDGER_HASH_BYTES);
    ledger__u64be(hb + 8 + LEDGER_HASH_BYTES, (uint64_t)now);
    MDB_val hk = {4, "head"}, hv = {sizeof(hb), hb};
    if (mdb_put(txn, l->meta, &hk, &hv, 0) != 0)
        goto done;
    printf("forged seq %llu\n", (unsigned long long)h.count);
    rc = 0;
done:
    ledger__buf_release(&payload);
    ledger__buf_release(&entry);
    ledger_body_free(b);
    keys_free(k);
    return rc;
}

static int set_format(ledger *l, MDB_txn *txn, uint64_t v)
{
    uint8_t fv[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    MDB_val k = {6, "format"}, val = {4, fv};
    return mdb_put(txn, l->meta, &k, &val, 0) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    ledger *l = NULL;
    MDB_txn *txn = NULL;
    char err[512];
    uint64_t a = 0, b = 0;
    int rc = 2;
    if (argc < 4) {
        fputs("usage: rxl-tamper DIR flip SEQ hdr|payload|sig|OFFSET\n"
              "       rxl-tamper DIR delete SEQ | swap A B | put SEQ FILE\n"
              "       rxl-tamper DIR forge KEY TEXT | set-format N\n",
              stderr);
        return 2;
    }
    if (ledger_open(&l, argv[1], 0, err, sizeof(err)) != 0)
        return die(err);
    if (mdb_txn_begin(l->env, NULL, 0, &txn) != 0) {
        ledger_close(l);
        return die("cannot begin");
    }
    const char *op = argv[2];
    if (strcmp(op, "flip") == 0 && argc == 5 && parse_u64(argv[3], &a) == 0)
        rc = flip(l, txn, a, argv[4]);
    else if (strcmp(op, "delete") == 0 && argc == 4 && parse_u64(argv[3], &a) == 0) {
        uint8_t kb[8];
        MDB_val k = seqkey(kb, a);
        rc = mdb_del(txn, l->entries, &k, NULL) == 0 ? 0 : die("no such entry");
    } else if (strcmp(op, "swap") == 0 && argc == 5 && parse_u64(argv[3], &a) == 0 &&
               parse_u64(argv[4], &b) == 0)
        rc = swap(l, txn, a, b);
    else if (strcmp(op, "put") == 0 && argc == 5 && parse_u64(argv[3], &a) == 0)
        rc = put_file(l, txn, a, argv[4]);
    else if (strcmp(op, "forge") == 0 && argc == 5)
        rc = forge(l, txn, argv[3], argv[4]);
    else if (strcmp(op, "set-format") == 0 && argc == 4 && parse_u64(argv[3], &a) == 0)
        rc = set_format(l, txn, a);
    else
        rc = die("bad arguments");
    if (rc == 0 && mdb_txn_commit(txn) != 0)
        rc = die("cannot commit");
    else if (rc != 0)
        mdb_txn_abort(txn);
    ledger_close(l);
    return rc;
}
