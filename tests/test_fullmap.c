/* A full LMDB map, and a full map on a full disk. The map starts at 1 GiB
 * (ledger__initial_map_bytes), too much to cross in a test, so these tests
 * lower it, as test_ledger's map test does: appends that do not fit grow the
 * map (doubling, within the one transaction's retries) and nothing is lost;
 * another process that grew the map is followed; and when the disk is full
 * too, the append fails with LEDGER_EFULL and one line of detail, the
 * committed chain is untouched and verifies, and the ledger reopens as it was.
 * The disk is a 384 KiB tmpfs in a mount namespace of this process (as root,
 * or in a user namespace); where neither works that test is skipped. */
#define _GNU_SOURCE 1 /* unshare(), mount namespaces */
/* cmocka needs these headers before it, in this order */
// clang-format off
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
// clang-format on

#include "test_util.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ledger/ledger.h"
#include "store_int.h"

#define SMALL_MAP ((size_t)64 * 1024)

static char disk[64]; /* the tmpfs mount point, "" when there is none */

typedef struct fx {
    char dir[128];
    ledger *l;
    keys_key *site, *pharm;
    char text[LEDGER_TEXT_MAX + 1];
} fx;

static int note(fx *f, int i)
{
    ledger_body *b = NULL;
    int rc;
    f->text[0] = (char)('a' + i % 26); /* each entry differs */
    assert_int_equal(ledger_body_new(&b), 0);
    assert_int_equal(ledger_body_put_text(b, "text", f->text), 0);
    ledger_append_opts o = LEDGER_APPEND_INIT;
    o.type = "note";
    o.body = b;
    rc = ledger_append(f->l, f->pharm, &o, NULL);
    ledger_body_free(b);
    return rc;
}

static uint64_t verified(fx *f)
{
    ledger_verify_result r;
    assert_int_equal(rxt_verify(f->l, &r), 0);
    return r.entries;
}

static size_t mapsize(fx *f)
{
    MDB_envinfo info;
    assert_int_equal(mdb_env_info(f->l->env, &info), 0);
    return info.me_mapsize;
}

/* A ledger in @p parent with genesis and a pharmacist, opened with a small map. */
static fx *make(const char *parent)
{
    fx *f = calloc(1, sizeof(*f));
    char err[256];
    assert_non_null(f);
    (void)snprintf(f->dir, sizeof(f->dir), "%s/rxl-fullmap-XXXXXX", parent);
    assert_non_null(mkdtemp(f->dir));
    assert_int_equal(keys_generate(&f->site), 0);
    assert_int_equal(keys_generate(&f->pharm), 0);
    memset(f->text, 'x', LEDGER_TEXT_MAX);
    f->text[LEDGER_TEXT_MAX] = '\0';
    size_t saved = ledger__initial_map_bytes;
    ledger__initial_map_bytes = SMALL_MAP;
    assert_int_equal(ledger_open(&f->l, f->dir, LEDGER_OPEN_CREATE, err, sizeof(err)), 0);
    ledger__initial_map_bytes = saved;
    assert_int_equal(ledger_init(f->l, f->site, "Juniper Clinic", "BJ6125341", NULL), 0);
    assert_int_equal(rxt_enroll(f->l, f->site, f->pharm, "Pat Doe, PharmD", "pharmacist", 1, 0, 0),
                     0);
    return f;
}

static void reopen_small(fx *f)
{
    char err[256];
    size_t saved = ledger__initial_map_bytes;
    ledger_close(f->l);
    ledger__initial_map_bytes = SMALL_MAP;
    assert_int_equal(ledger_open(&f->l, f->dir, 0, err, sizeof(err)), 0);
    ledger__initial_map_bytes = saved;
}

static void done(fx *f)
{
    ledger_close(f->l);
    keys_free(f->site);
    keys_free(f->pharm);
    assert_int_equal(rxt_rm_rf(f->dir), 0);
    free(f);
}

/* The map fills again and again: each time it grows and the append goes in. */
static void test_fullmap_grows_and_nothing_is_lost(void **state)
{
    (void)state;
    fx *f = make("/tmp");
    size_t first = mapsize(f);
    assert_true(first <= 2 * SMALL_MAP);
    for (int i = 0; i < 300; i++) /* ~1.3 MB of notes: 20 times the first map */
        assert_int_equal(note(f, i), 0);
    assert_true(mapsize(f) >= 16 * first);
    assert_int_equal(verified(f), 302);
    /* opened again with the small map: LMDB takes the file's size, and grows on */
    reopen_small(f);
    assert_int_equal(verified(f), 302);
    size_t again = mapsize(f);
    for (int i = 0; i < 100; i++)
        assert_int_equal(note(f, i), 0);
    assert_true(mapsize(f) > again);
    assert_int_equal(verified(f), 402);
    done(f);
}

/* Another process grows the map; this handle, opened before with the small
 * map, follows it (MDB_MAP_RESIZED) instead of failing. */
static void test_fullmap_grown_by_another_process(void **state)
{
    (void)state;
    fx *f = make("/tmp");
    size_t before = mapsize(f);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char err[256];
        ledger *l = NULL;
        ledger__initial_map_bytes = SMALL_MAP;
        /* LMDB: a forked child must not use the parent's environment */
        if (ledger_open(&l, f->dir, 0, err, sizeof(err)) != 0)
            _exit(2);
        ledger *mine = f->l;
        f->l = l;
        for (int i = 0; i < 100; i++)
            if (note(f, i) != 0)
                _exit(3);
        f->l = mine;
        ledger_close(l);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(note(f, i), 0);
    assert_true(mapsize(f) > before);
    assert_int_equal(verified(f), 112);
    done(f);
}

/* An append refused by a full disk: LEDGER_EFULL and "No space left on device",
 * also when LMDB's write of the transaction's pages was cut short by the full
 * disk (it reports that short write as EIO; the ledger says what it was).
 * One line. */
static void full_disk(fx *f, int rc)
{
    const char *msg = ledger_errmsg(f->l);
    if (rc != LEDGER_EFULL)
        fail_msg("append on a full disk: %d %s", rc, msg);
    assert_non_null(strstr(msg, "No space left on device"));
    assert_null(strchr(msg, '\n'));
}

/* Full map and full disk at once: the map may grow (address space) but the
 * file cannot. The append fails cleanly and nothing committed changes. */
static void test_fullmap_on_a_full_disk(void **state)
{
    (void)state;
    if (disk[0] == '\0')
        skip();
    fx *f = make(disk);
    uint64_t count = 0, count2 = 0;
    uint8_t head[LEDGER_HASH_BYTES], head2[LEDGER_HASH_BYTES];
    int rc = 0, ok = 0;
    for (int i = 0; i < 1000 && (rc = note(f, i)) == 0; i++)
        ok++;
    full_disk(f, rc);
    assert_true(ok > 10);
    assert_true(mapsize(f) > SMALL_MAP); /* the map did fill and grow before the disk did */
    assert_int_equal(ledger_head(f->l, &count, head), 0);
    assert_int_equal(count, (uint64_t)ok + 2);
    assert_int_equal(verified(f), count);
    /* again: the same failure, the same head */
    full_disk(f, note(f, 0));
    assert_int_equal(ledger_head(f->l, &count2, head2), 0);
    assert_int_equal(count2, count);
    assert_memory_equal(head2, head, sizeof(head));
    /* and a fresh process sees exactly what was committed */
    reopen_small(f);
    assert_int_equal(verified(f), count);
    assert_int_equal(ledger_head(f->l, &count2, head2), 0);
    assert_memory_equal(head2, head, sizeof(head));
    done(f);
}

/* A tmpfs of 384 KiB at a fresh directory, in a mount namespace of this
 * process: as root directly, otherwise inside a user namespace. */
static void small_disk(void)
{
    char dir[] = "/tmp/rxl-fullmap-disk-XXXXXX";
    disk[0] = '\0';
    if (mkdtemp(dir) == NULL)
        return;
    if (geteuid() != 0) {
        uid_t uid = geteuid();
        gid_t gid = getegid();
        char map[64];
        int fd;
        if (unshare(CLONE_NEWUSER) != 0)
            goto fail;
        if ((fd = open("/proc/self/setgroups", O_WRONLY)) >= 0) {
            (void)!write(fd, "deny", 4);
            close(fd);
        }
        int n = snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
        if ((fd = open("/proc/self/uid_map", O_WRONLY)) < 0 || write(fd, map, (size_t)n) != n)
            goto fail;
        close(fd);
        n = snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
        if ((fd = open("/proc/self/gid_map", O_WRONLY)) < 0 || write(fd, map, (size_t)n) != n)
            goto fail;
        close(fd);
    }
    if (unshare(CLONE_NEWNS) != 0 || mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0 ||
        mount("tmpfs", dir, "tmpfs", 0, "size=384k") != 0)
        goto fail;
    (void)snprintf(disk, sizeof(disk), "%s", dir);
    return;
fail:
    fprintf(stderr, "test_fullmap: no small file system here (%s): the full-disk test is skipped\n",
            strerror(errno));
    (void)rmdir(dir);
}

int main(void)
{
    /* before anything starts a thread: unshare(CLONE_NEWUSER) needs one thread */
    small_disk();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fullmap_grows_and_nothing_is_lost),
        cmocka_unit_test(test_fullmap_grown_by_another_process),
        cmocka_unit_test(test_fullmap_on_a_full_disk),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (disk[0] != '\0') {
        (void)umount(disk);
        (void)rmdir(disk);
    }
    return rc;
}
