/* pc_shim: an LD_PRELOAD layer that journals what reaches the disk, for the
 * power-cut simulation (tests/powercut/pc_replay.py builds "the disk after a
 * power cut at moment X" from the journal).
 *
 * Every call passes through unchanged; for files under $PC_ROOT (an absolute
 * path without symlinks; lock.mdb excepted: it only holds the reader table,
 * which LMDB rebuilds when it finds no process holding it) the shim
 * also appends one record per event to $PC_JOURNAL, after the call returned:
 *   CREATE   open(O_CREAT) made a new file: a new inode at a path
 *   WRITE    write/pwrite/writev/pwritev: inode, offset, the bytes written,
 *            and whether the fd is O_DSYNC/O_SYNC (durable when it returns)
 *   SYNC     fsync/fdatasync of a file: everything written to it is durable
 *   DIRSYNC  fsync of a directory under the root: its names are durable
 *   RENAME, UNLINK   name changes (durable at the next DIRSYNC)
 *   TRUNC    ftruncate
 *   GSYNC    sync()/syncfs(): everything is durable
 *   BAD      something the model cannot follow (a shared writable mapping of
 *            a journaled file, an fd past the table): the replay refuses it
 * One record is one write(2) on an O_APPEND file, so records from several
 * processes never interleave. Unset $PC_JOURNAL and the shim does nothing.
 *
 * $PC_FAULT plants a durability bug, for the harness to prove it finds one:
 *   nosync   fsync/fdatasync of journaled files do nothing (and are not journaled)
 *   nodsync  journaled files open without O_DSYNC/O_SYNC (LMDB's meta page
 *            writes are then not durable on return)
 *
 * Record: pc_rec header, then plen bytes of path(s) (RENAME: "old\0new"),
 * then len bytes of data (WRITE only). Little-endian, the host's layout.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define PC_MAGIC    0x314a4350u /* "PCJ1" */
#define PC_MAX_FDS  1024
#define PC_PATH_MAX 4096
#define PC_IOV_MAX  1000 /* data iovecs per record; the kernel takes 1024 in all */

enum pc_type {
    PC_CREATE = 1,
    PC_WRITE = 2,
    PC_SYNC = 3,
    PC_DIRSYNC = 4,
    PC_RENAME = 5,
    PC_UNLINK = 6,
    PC_TRUNC = 7,
    PC_GSYNC = 8,
    PC_MARK = 9, /* written by the driver, never by the shim */
    PC_BAD = 10,
};

#define PC_F_DSYNC 1u

typedef struct pc_rec {
    uint32_t magic;
    uint32_t type;
    uint32_t pid;
    uint32_t flags;
    uint64_t ino;
    uint64_t off;
    uint64_t len;
    uint32_t plen;
    uint32_t pad;
} pc_rec;

typedef struct pc_fd {
    int kind; /* 0 untracked, 1 journaled file, 2 directory under the root */
    int dsync;
    uint64_t ino;
    char path[PC_PATH_MAX]; /* directories only */
} pc_fd;

static int jfd = -1;
static int fault_nosync, fault_nodsync;
static char root[PC_PATH_MAX];
static size_t rootlen;
static pc_fd *fds;

#define REAL(name)                                                                                 \
    static __typeof__(name) *real_##name;                                                          \
    if (real_##name == NULL)                                                                       \
        real_##name = (__typeof__(name) *)dlsym(RTLD_NEXT, #name);

static ssize_t real_writev_once(int fd, const struct iovec *iov, int n)
{
    REAL(writev);
    return real_writev(fd, iov, n);
}

/* Append one record; a journal that cannot be written ends the process, so a
 * gap in the journal can never pass for a quiet disk. */
static void journal(uint32_t type, uint32_t flags, uint64_t ino, uint64_t off, const char *p1,
                    const char *p2, const struct iovec *data, int ndata, uint64_t len)
{
    struct iovec iov[PC_IOV_MAX + 4];
    size_t l1 = p1 != NULL ? strlen(p1) : 0, l2 = p2 != NULL ? strlen(p2) + 1 : 0;
    pc_rec r = {PC_MAGIC, type, (uint32_t)getpid(), flags, ino, off, len, 0, 0};
    int n = 0, saved = errno;
    size_t total;
    ssize_t w;
    if (jfd < 0)
        return;
    r.plen = (uint32_t)(l1 + l2);
    iov[n++] = (struct iovec){&r, sizeof(r)};
    if (l1 > 0)
        iov[n++] = (struct iovec){(void *)p1, l1};
    if (l2 > 0) {
        iov[n++] = (struct iovec){(void *)"", 1};
        iov[n++] = (struct iovec){(void *)p2, l2 - 1};
    }
    total = sizeof(r) + l1 + l2;
    for (int i = 0; i < ndata; i++) { /* ndata <= PC_IOV_MAX */
        iov[n++] = data[i];
        total += data[i].iov_len;
    }
    do
        w = real_writev_once(jfd, iov, n);
    while (w < 0 && errno == EINTR);
    if (w < 0 || (size_t)w != total) {
        /* a short append would interleave with other processes' records */
        static const char msg[] = "pc_shim: cannot append to the journal\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        abort();
    }
    errno = saved;
}

__attribute__((constructor)) static void pc_init(void)
{
    const char *j = getenv("PC_JOURNAL"), *r = getenv("PC_ROOT");
    REAL(open);
    /* The root may not exist yet (init makes it): give it absolute and free
     * of symlinks, as abspath() below resolves every other path. */
    if (j == NULL || r == NULL || r[0] != '/' || strlen(r) >= sizeof(root))
        return;
    const char *fault = getenv("PC_FAULT");
    fault_nosync = fault != NULL && strcmp(fault, "nosync") == 0;
    fault_nodsync = fault != NULL && strcmp(fault, "nodsync") == 0;
    (void)snprintf(root, sizeof(root), "%s", r);
    rootlen = strlen(root);
    while (rootlen > 1 && root[rootlen - 1] == '/')
        root[--rootlen] = '\0';
    fds = calloc(PC_MAX_FDS, sizeof(*fds));
    if (fds == NULL)
        return;
    jfd = real_open(j, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (jfd < 0) {
        static const char msg[] = "pc_shim: cannot open $PC_JOURNAL\n";
        (void)!write(2, msg, sizeof(msg) - 1);
        abort();
    }
}

/* The absolute, symlink-free path of @p path (relative to @p dirfd): its
 * directory resolved, its last component kept. 0, or -1 if not resolvable. */
static int abspath(char out[PC_PATH_MAX], int dirfd, const char *path)
{
    char dir[PC_PATH_MAX], base[PC_PATH_MAX], res[PC_PATH_MAX];
    const char *slash;
    int n;
    if (path[0] == '/') {
        n = snprintf(dir, sizeof(dir), "%s", path);
    } else if (dirfd == AT_FDCWD) {
        if (getcwd(res, sizeof(res)) == NULL)
            return -1;
        n = snprintf(dir, sizeof(dir), "%s/%s", res, path);
    } else {
        char link[64];
        ssize_t m;
        (void)snprintf(link, sizeof(link), "/proc/self/fd/%d", dirfd);
        if ((m = readlink(link, res, sizeof(res) - 1)) < 0)
            return -1;
        res[m] = '\0';
        n = snprintf(dir, sizeof(dir), "%s/%s", res, path);
    }
    if (n < 0 || n >= (int)sizeof(dir))
        return -1;
    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    slash = strrchr(dir, '/');
    (void)snprintf(base, sizeof(base), "%s", slash + 1);
    if (slash == dir)
        dir[1] = '\0';
    else
        dir[slash - dir] = '\0';
    if (realpath(dir, res) == NULL)
        return -1;
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return realpath(path, out) == NULL ? -1 : 0;
    n = snprintf(out, PC_PATH_MAX, "%s/%s", strcmp(res, "/") == 0 ? "" : res, base);
    return n < 0 || n >= PC_PATH_MAX ? -1 : 0;
}

static int under_root(const char *abs)
{
    return jfd >= 0 && strncmp(abs, root, rootlen) == 0 &&
           (abs[rootlen] == '/' || abs[rootlen] == '\0');
}

static int journaled_name(const char *abs)
{
    const char *b = strrchr(abs, '/');
    return under_root(abs) && abs[rootlen] == '/' && strcmp(b + 1, "lock.mdb") != 0;
}

static void bad(const char *what)
{
    journal(PC_BAD, 0, 0, 0, what, NULL, NULL, 0, 0);
}

static void track_open(int fd, int dirfd, const char *path, int flags, int created)
{
    char abs[PC_PATH_MAX];
    struct stat st;
    if (fd < 0 || jfd < 0 || abspath(abs, dirfd, path) != 0 || !under_root(abs))
        return;
    if (fd >= PC_MAX_FDS) {
        bad("fd beyond the shim's table");
        return;
    }
    if (fstat(fd, &st) != 0)
        return;
    fds[fd].ino = (uint64_t)st.st_ino;
    if (S_ISDIR(st.st_mode)) {
        fds[fd].kind = 2;
        (void)snprintf(fds[fd].path, sizeof(fds[fd].path), "%s", abs);
        return;
    }
    if (!S_ISREG(st.st_mode) || !journaled_name(abs))
        return;
    fds[fd].kind = 1;
    fds[fd].dsync = (flags & (O_DSYNC | O_SYNC)) != 0;
    if (created)
        journal(PC_CREATE, 0, fds[fd].ino, 0, abs, NULL, NULL, 0, 0);
}

static pc_fd *tracked(int fd)
{
    return jfd >= 0 && fd >= 0 && fd < PC_MAX_FDS && fds[fd].kind == 1 ? &fds[fd] : NULL;
}

/* Does @p path not exist yet (so that O_CREAT will make it)? */
static int absent(int dirfd, const char *path, int flags)
{
    struct stat st;
    if (jfd < 0 || (flags & O_CREAT) == 0)
        return 0;
    return fstatat(dirfd, path, &st, 0) != 0 && errno == ENOENT;
}

static int do_openat(int dirfd, const char *path, int flags, mode_t mode)
{
    REAL(openat);
    int created = absent(dirfd, path, flags), saved, fd;
    if (fault_nodsync && (flags & (O_DSYNC | O_SYNC)) != 0) {
        char abs[PC_PATH_MAX];
        if (abspath(abs, dirfd, path) == 0 && journaled_name(abs))
            flags &= ~(O_DSYNC | O_SYNC);
    }
    fd = real_openat(dirfd, path, flags, mode);
    saved = errno;
    track_open(fd, dirfd, path, flags, created);
    errno = saved;
    return fd;
}

static mode_t mode_arg(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) != 0 ? (mode_t)va_arg(ap, int) : 0;
}

int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(AT_FDCWD, path, flags, m);
}

int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(AT_FDCWD, path, flags, m);
}

int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(dirfd, path, flags, m);
}

int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t m = mode_arg(flags, ap);
    va_end(ap);
    return do_openat(dirfd, path, flags, m);
}

int creat(const char *path, mode_t mode)
{
    return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}

int close(int fd)
{
    REAL(close);
    if (jfd >= 0 && fd == jfd) {
        errno = EBADF; /* the journal is ours */
        return -1;
    }
    if (jfd >= 0 && fd >= 0 && fd < PC_MAX_FDS)
        fds[fd].kind = 0;
    return real_close(fd);
}

static void dup_track(int from, int to)
{
    if (jfd >= 0 && to >= 0 && to < PC_MAX_FDS && from >= 0 && from < PC_MAX_FDS)
        fds[to] = fds[from];
}

int dup(int fd)
{
    REAL(dup);
    int r = real_dup(fd);
    dup_track(fd, r);
    return r;
}

int dup2(int fd, int to)
{
    REAL(dup2);
    int r = real_dup2(fd, to);
    dup_track(fd, r);
    return r;
}

int dup3(int fd, int to, int flags)
{
    REAL(dup3);
    int r = real_dup3(fd, to, flags);
    dup_track(fd, r);
    return r;
}

/* The first @p n bytes of @p iov went to the file at @p off. */
static void log_write(pc_fd *f, const struct iovec *iov, int cnt, off_t off, ssize_t n)
{
    struct iovec part[PC_IOV_MAX];
    size_t left = (size_t)n;
    int k = 0;
    if (n <= 0)
        return;
    if (cnt > PC_IOV_MAX) {
        bad("writev with more iovecs than the shim takes");
        return;
    }
    for (int i = 0; i < cnt && left > 0; i++) {
        size_t take = iov[i].iov_len < left ? iov[i].iov_len : left;
        part[k++] = (struct iovec){iov[i].iov_base, take};
        left -= take;
    }
    journal(PC_WRITE, f->dsync ? PC_F_DSYNC : 0, f->ino, (uint64_t)off, NULL, NULL, part, k,
            (uint64_t)n);
}

/* Where the last @p n bytes written through @p fd's file position started. */
static off_t pos_before(int fd, ssize_t n)
{
    REAL(lseek);
    off_t p = real_lseek(fd, 0, SEEK_CUR);
    return p < 0 ? 0 : p - (off_t)n;
}

ssize_t write(int fd, const void *buf, size_t count)
{
    REAL(write);
    ssize_t n = real_write(fd, buf, count);
    pc_fd *f = tracked(fd);
    if (f != NULL && n > 0) {
        int saved = errno;
        struct iovec v = {(void *)buf, count};
        log_write(f, &v, 1, pos_before(fd, n), n);
        errno = saved;
    }
    return n;
}

ssize_t pwrite(int fd, const void *buf, size_t count, off_t off)
{
    REAL(pwrite);
    ssize_t n = real_pwrite(fd, buf, count, off);
    pc_fd *f = tracked(fd);
    if (f != NULL && n > 0) {
        struct iovec v = {(void *)buf, count};
        log_write(f, &v, 1, off, n);
    }
    return n;
}

ssize_t pwrite64(int fd, const void *buf, size_t count, off_t off)
{
    REAL(pwrite64);
    ssize_t n = real_pwrite64(fd, buf, count, off);
    pc_fd *f = tracked(fd);
    if (f != NULL && n > 0) {
        struct iovec v = {(void *)buf, count};
        log_write(f, &v, 1, off, n);
    }
    return n;
}

ssize_t writev(int fd, const struct iovec *iov, int cnt)
{
    REAL(writev);
    ssize_t n = real_writev(fd, iov, cnt);
    pc_fd *f = tracked(fd);
    if (f != NULL && n > 0) {
        int saved = errno;
        log_write(f, iov, cnt, pos_before(fd, n), n);
        errno = saved;
    }
    return n;
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(pwritev);
    ssize_t n = real_pwritev(fd, iov, cnt, off);
    pc_fd *f = tracked(fd);
    if (f != NULL && n > 0)
        log_write(f, iov, cnt, off, n);
    return n;
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off_t off)
{
    REAL(pwritev64);
    ssize_t n = real_pwritev64(fd, iov, cnt, off);
    pc_fd *f = tracked(fd);
    if (f != NULL && n > 0)
        log_write(f, iov, cnt, off, n);
    return n;
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags)
{
    REAL(pwritev2);
    ssize_t n = real_pwritev2(fd, iov, cnt, off, flags);
    pc_fd *f = tracked(fd);
    if (f != NULL && n > 0)
        bad("pwritev2 on a journaled file");
    return n;
}

static void log_sync(int fd)
{
    if (jfd < 0 || fd < 0 || fd >= PC_MAX_FDS)
        return;
    if (fds[fd].kind == 1)
        journal(PC_SYNC, 0, fds[fd].ino, 0, NULL, NULL, NULL, 0, 0);
    else if (fds[fd].kind == 2)
        journal(PC_DIRSYNC, 0, fds[fd].ino, 0, fds[fd].path, NULL, NULL, 0, 0);
}

/* PC_FAULT=nosync: the sync of a journaled file is skipped. */
static int skip_sync(int fd)
{
    return fault_nosync && jfd >= 0 && fd >= 0 && fd < PC_MAX_FDS && fds[fd].kind == 1;
}

int fsync(int fd)
{
    REAL(fsync);
    if (skip_sync(fd))
        return 0;
    int r = real_fsync(fd);
    if (r == 0)
        log_sync(fd);
    return r;
}

int fdatasync(int fd)
{
    REAL(fdatasync);
    if (skip_sync(fd))
        return 0;
    int r = real_fdatasync(fd);
    if (r == 0)
        log_sync(fd);
    return r;
}

void sync(void)
{
    REAL(sync);
    real_sync();
    journal(PC_GSYNC, 0, 0, 0, NULL, NULL, NULL, 0, 0);
}

int syncfs(int fd)
{
    REAL(syncfs);
    int r = real_syncfs(fd);
    if (r == 0)
        journal(PC_GSYNC, 0, 0, 0, NULL, NULL, NULL, 0, 0);
    return r;
}

int ftruncate(int fd, off_t len)
{
    REAL(ftruncate);
    int r = real_ftruncate(fd, len);
    pc_fd *f = tracked(fd);
    if (r == 0 && f != NULL)
        journal(PC_TRUNC, f->dsync ? PC_F_DSYNC : 0, f->ino, (uint64_t)len, NULL, NULL, NULL, 0, 0);
    return r;
}

/* Stores through a shared writable mapping never pass through here: refuse
 * to model them (LMDB maps its data file read-only unless MDB_WRITEMAP). */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    REAL(mmap);
    void *p = real_mmap(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED && tracked(fd) != NULL && (prot & PROT_WRITE) != 0 &&
        (flags & MAP_SHARED) != 0)
        bad("shared writable mapping of a journaled file");
    return p;
}

int msync(void *addr, size_t len, int flags)
{
    REAL(msync);
    return real_msync(addr, len, flags);
}

/* Name changes: journaled when either name is journaled. */
static void log_names(uint32_t type, int d1, const char *p1, int d2, const char *p2)
{
    char a1[PC_PATH_MAX], a2[PC_PATH_MAX];
    int saved = errno;
    if (jfd < 0 || abspath(a1, d1, p1) != 0)
        return;
    if (p2 != NULL && abspath(a2, d2, p2) != 0)
        return;
    if (journaled_name(a1) || (p2 != NULL && journaled_name(a2)))
        journal(type, 0, 0, 0, a1, p2 != NULL ? a2 : NULL, NULL, 0, 0);
    errno = saved;
}

int rename(const char *from, const char *to)
{
    REAL(rename);
    char a1[PC_PATH_MAX];
    int pre = jfd >= 0 && abspath(a1, AT_FDCWD, from) == 0; /* 'from' stops resolving after */
    int r = real_rename(from, to);
    if (r == 0 && pre)
        log_names(PC_RENAME, AT_FDCWD, a1, AT_FDCWD, to);
    return r;
}

int renameat(int d1, const char *from, int d2, const char *to)
{
    REAL(renameat);
    char a1[PC_PATH_MAX];
    int pre = jfd >= 0 && abspath(a1, d1, from) == 0;
    int r = real_renameat(d1, from, d2, to);
    if (r == 0 && pre)
        log_names(PC_RENAME, AT_FDCWD, a1, d2, to);
    return r;
}

int renameat2(int d1, const char *from, int d2, const char *to, unsigned flags)
{
    REAL(renameat2);
    char a1[PC_PATH_MAX];
    int pre = jfd >= 0 && abspath(a1, d1, from) == 0;
    int r = real_renameat2(d1, from, d2, to, flags);
    if (r == 0 && pre) {
        if (flags != 0)
            bad("renameat2 with flags");
        log_names(PC_RENAME, AT_FDCWD, a1, d2, to);
    }
    return r;
}

int unlink(const char *path)
{
    REAL(unlink);
    char a1[PC_PATH_MAX];
    int pre = jfd >= 0 && abspath(a1, AT_FDCWD, path) == 0;
    int r = real_unlink(path);
    if (r == 0 && pre)
        log_names(PC_UNLINK, AT_FDCWD, a1, AT_FDCWD, NULL);
    return r;
}

int unlinkat(int dirfd, const char *path, int flags)
{
    REAL(unlinkat);
    char a1[PC_PATH_MAX];
    int pre = jfd >= 0 && (flags & AT_REMOVEDIR) == 0 && abspath(a1, dirfd, path) == 0;
    int r = real_unlinkat(dirfd, path, flags);
    if (r == 0 && pre)
        log_names(PC_UNLINK, AT_FDCWD, a1, AT_FDCWD, NULL);
    return r;
}
