#!/usr/bin/python3
"""The disk after a power cut, rebuilt from a pc_shim journal.

The journal (tests/powercut/pc_shim.c) holds, in the order they happened,
every write to the journaled files under the ledger directory (inode, offset,
bytes, O_DSYNC or not), every fsync/fdatasync, every directory fsync, file
creation, rename and unlink, plus the driver's marks (which command printed
which acknowledgement, and when).

A power cut at moment X (a record index: records [0, X) happened) leaves:

- for each file, its content as of the last barrier before X (fsync or
  fdatasync of that file; an O_DSYNC write makes its own 4 KiB pages durable),
  plus any mix of the writes made since: each unit of the file (a whole write,
  a 4 KiB page or a 512-byte sector, by mode) independently holds its durable
  content or its content after any later write that touched it, as a page
  cache written back at random times and torn by the cut would leave it; the
  file's size is its durable size or the size after any later write (a grown
  file whose new blocks were never written reads as zeros there);
- for names, those made durable by a directory fsync (or sync), plus a prefix
  of the later creations, renames and unlinks, in order, as a metadata
  journal commits them.

Modes: durable (nothing unsynced), all (everything written, as after a
crash of the processes alone), writes (a random subset of whole writes),
pages (per 4 KiB page), sectors (per 512-byte sector).

usage: pc_replay.py dump JOURNAL
       pc_replay.py image JOURNAL CUT MODE SEED OUTDIR
The second writes the image a run reported (same journal, cut, mode and seed)
into OUTDIR, to reproduce a failure by hand.
"""
import json
import os
import posixpath
import random
import struct
import sys

HDR = struct.Struct("<IIIIQQQII")  # magic type pid flags ino off len plen pad
MAGIC = 0x314A4350
CREATE, WRITE, SYNC, DIRSYNC, RENAME, UNLINK, TRUNC, GSYNC, MARK, BAD = range(1, 11)
NAMES = {CREATE: "CREATE", WRITE: "WRITE", SYNC: "SYNC", DIRSYNC: "DIRSYNC", RENAME: "RENAME",
         UNLINK: "UNLINK", TRUNC: "TRUNC", GSYNC: "GSYNC", MARK: "MARK", BAD: "BAD"}
F_DSYNC = 1
SECTOR = 512
PAGE = 4096
MODES = ("durable", "all", "writes", "pages", "sectors")


class JournalError(Exception):
    pass


class Rec:
    __slots__ = ("type", "pid", "flags", "ino", "off", "len", "path", "path2", "data")


def read_journal(path):
    """Every record of the journal, in order."""
    with open(path, "rb") as f:
        buf = f.read()
    view = memoryview(buf)
    recs, pos = [], 0
    while pos < len(buf):
        if len(buf) - pos < HDR.size:
            raise JournalError(f"journal ends inside a record header at byte {pos}")
        magic, typ, pid, flags, ino, off, ln, plen, _ = HDR.unpack_from(buf, pos)
        if magic != MAGIC or typ not in NAMES:
            raise JournalError(f"not a record at byte {pos}")
        pos += HDR.size
        r = Rec()
        r.type, r.pid, r.flags, r.ino, r.off = typ, pid, flags, ino, off
        names = bytes(view[pos:pos + plen]).decode("utf-8", "surrogateescape").split("\0")
        pos += plen
        r.path = names[0] if names[0] else None
        r.path2 = names[1] if len(names) > 1 else None
        r.len = ln if typ == WRITE else 0
        r.data = view[pos:pos + r.len] if typ == WRITE else None
        pos += r.len
        if pos > len(buf):
            raise JournalError("journal ends inside a record's data")
        recs.append(r)
    return recs


def mark_bytes(payload):
    """A MARK record carrying the JSON object @payload (written by the driver)."""
    p = json.dumps(payload, sort_keys=True).encode()
    return HDR.pack(MAGIC, MARK, os.getpid(), 0, 0, 0, 0, len(p), 0) + p


def gsync_bytes():
    return HDR.pack(MAGIC, GSYNC, os.getpid(), 0, 0, 0, 0, 0, 0)


class Inode:
    """One file's durable content and the writes not yet known durable."""

    def __init__(self):
        self.durable = bytearray()
        self.ops = []  # (off, bytes) writes, or (None, size) truncations
        self.sizes = []  # the file size after each op
        self.touch = {}  # sector -> indices of ops that changed it
        self.floor = {}  # sector -> every op up to this index is durable there
        self.size_floor = -1  # the size after this op is durable (-1: the durable size)

    def size(self):
        return self.sizes[-1] if self.sizes else len(self.durable)

    def write(self, off, data, dsync):
        i = len(self.ops)
        self.ops.append((off, bytes(data)))
        self.sizes.append(max(self.size(), off + len(data)))
        for s in range(off // SECTOR, (off + len(data) + SECTOR - 1) // SECTOR):
            self.touch.setdefault(s, []).append(i)
        if dsync:
            # an O_DSYNC write returns once its pages and the size are on disk
            first, last = off // PAGE * (PAGE // SECTOR), (off + len(data) - 1) // PAGE
            for s in range(first, (last + 1) * (PAGE // SECTOR)):
                self.floor[s] = i
            self.size_floor = i

    def truncate(self, size, dsync):
        i = len(self.ops)
        old = self.size()
        self.ops.append((None, size))
        self.sizes.append(size)
        for s in range(size // SECTOR, (old + SECTOR - 1) // SECTOR):
            self.touch.setdefault(s, []).append(i)
        if dsync:
            self.size_floor = i

    def sync(self):
        """fsync/fdatasync: everything written is durable."""
        if self.ops:
            self.durable = self.content(lambda s, lo, ch: ch[-1], len(self.ops) - 1)
        self.ops, self.sizes, self.touch, self.floor, self.size_floor = [], [], {}, {}, -1

    def choices(self, s):
        """The versions sector @s may hold: op indices, -1 for its durable bytes."""
        t = self.touch.get(s, [])
        f = self.floor.get(s, -1)
        lo = max([j for j in t if j <= f], default=-1)
        return lo, [lo] + [j for j in t if j > lo]

    def sector_at(self, s, k):
        """Sector @s as it was after op @k (-1: durable)."""
        a, b = s * SECTOR, (s + 1) * SECTOR
        sec = bytearray(self.durable[a:b])
        sec.extend(bytes(SECTOR - len(sec)))
        for j in self.touch.get(s, []):
            if j > k:
                break
            off, data = self.ops[j]
            if off is None:  # truncation: bytes past the new size read as zeros
                cut = max(data - a, 0)
                if cut < SECTOR:
                    sec[cut:] = bytes(SECTOR - cut)
                continue
            lo, hi = max(off, a), min(off + len(data), b)
            if lo < hi:
                sec[lo - a:hi - a] = data[lo - off:hi - off]
        return sec

    def content(self, pick, size_op):
        """The file with sector s holding version pick(s, lo, choices), sized
        as after op @size_op (-1: the durable size)."""
        size = self.sizes[size_op] if size_op >= 0 else len(self.durable)
        out = bytearray(self.durable[:size])
        out.extend(bytes(size - len(out)))
        for s in sorted(self.touch):
            if s * SECTOR >= size:
                continue
            lo, ch = self.choices(s)
            k = pick(s, lo, ch)
            sec = self.sector_at(s, k)
            end = min((s + 1) * SECTOR, size)
            out[s * SECTOR:end] = sec[:end - s * SECTOR]
        return out

    def image(self, mode, rng):
        """This file's content after a power cut, in @mode."""
        if not self.ops:
            return bytearray(self.durable)
        n = len(self.ops)
        sizes = list(range(self.size_floor, n))
        if mode == "durable":
            return self.content(lambda s, lo, ch: lo, self.size_floor)
        if mode == "all":
            return self.content(lambda s, lo, ch: ch[-1], n - 1)
        if mode == "writes":
            keep = {j for j in range(n) if rng.random() < 0.5}
            size_op = max([j for j in keep if j >= self.size_floor], default=self.size_floor)
            return self.content(
                lambda s, lo, ch: max([j for j in ch if j in keep or j == lo]), size_op)
        if mode == "pages":
            per = PAGE // SECTOR
            chosen = {}

            def pick_page(s, lo, ch):
                p = s // per
                if p not in chosen:
                    # the page's versions: the union of its sectors' versions
                    los, union = [], set()
                    for t in range(p * per, (p + 1) * per):
                        tlo, tch = self.choices(t)
                        los.append(tlo)
                        union.update(tch)
                    plo = max(los)
                    chosen[p] = rng.choice([plo] + sorted(j for j in union if j > plo))
                k = chosen[p]
                return max([j for j in ch if j <= k], default=lo) if k >= lo else lo

            return self.content(pick_page, rng.choice(sizes))
        if mode == "sectors":
            return self.content(lambda s, lo, ch: rng.choice(ch), rng.choice(sizes))
        raise ValueError(f"unknown mode {mode}")


class Disk:
    """Files by inode, names by path: what is durable and what is pending."""

    def __init__(self):
        self.by_ino = {}
        self.names = {}  # durable: path -> Inode
        self.pending = []  # ("create", path, inode) / ("rename", a, b) / ("unlink", a)
        self.marks = []  # (record index, payload)

    def inode(self, r):
        ino = self.by_ino.get(r.ino)
        if ino is None:
            raise JournalError(f"{NAMES[r.type]} to inode {r.ino}, never created in the journal")
        return ino

    def apply(self, idx, r):
        if r.type == CREATE:
            ino = Inode()
            self.by_ino[r.ino] = ino
            self.pending.append(("create", r.path, ino))
        elif r.type == WRITE:
            self.inode(r).write(r.off, r.data, r.flags & F_DSYNC)
        elif r.type == TRUNC:
            self.inode(r).truncate(r.off, r.flags & F_DSYNC)
        elif r.type == SYNC:
            self.inode(r).sync()
        elif r.type == RENAME:
            self.pending.append(("rename", r.path, r.path2))
        elif r.type == UNLINK:
            self.pending.append(("unlink", r.path))
        elif r.type == DIRSYNC:
            # the names in that directory, and (a journal commits in order)
            # every name change before them
            last = -1
            for i, op in enumerate(self.pending):
                if any(posixpath.dirname(p) == r.path for p in op[1:] if isinstance(p, str)):
                    last = i
            self.commit(last + 1)
        elif r.type == GSYNC:
            for ino in self.by_ino.values():
                ino.sync()
            self.commit(len(self.pending))
        elif r.type == MARK:
            self.marks.append((idx, json.loads(r.path)))
        elif r.type == BAD:
            raise JournalError(f"the shim could not follow pid {r.pid}: {r.path}")

    @staticmethod
    def name_op(names, op):
        if op[0] == "create":
            names[op[1]] = op[2]
        elif op[0] == "rename":
            if op[1] in names:
                names[op[2]] = names.pop(op[1])
        elif op[0] == "unlink":
            names.pop(op[1], None)

    def commit(self, n):
        for op in self.pending[:n]:
            self.name_op(self.names, op)
        del self.pending[:n]

    def image(self, outdir, mode, rng):
        """Write the disk after a power cut now, in @mode, under @outdir (the
        journaled paths re-rooted there). Returns what was chosen, for reports."""
        names = dict(self.names)
        n = {"durable": 0, "all": len(self.pending)}.get(mode)
        if n is None:
            n = rng.randint(0, len(self.pending))
        for op in self.pending[:n]:
            self.name_op(names, op)
        files = {}
        for path in sorted(names):
            ino = names[path]
            if id(ino) not in files:
                files[id(ino)] = ino.image(mode, rng)
            dst = outdir + path
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            with open(dst, "wb") as f:
                f.write(files[id(ino)])
        unsynced = sum(len(i.ops) for i in set(names.values()))
        return {"names_pending": len(self.pending), "names_applied": n,
                "unsynced_writes": unsynced}


def replay(recs, cuts, on_cut):
    """Walk the journal once; at each cut X (records [0, X) happened) call
    on_cut(X, disk). @cuts is a set of indices in 0..len(recs)."""
    disk = Disk()
    for idx, r in enumerate(recs):
        if idx in cuts:
            on_cut(idx, disk)
        disk.apply(idx, r)
    if len(recs) in cuts:
        on_cut(len(recs), disk)
    return disk


def main(argv):
    if len(argv) == 3 and argv[1] == "dump":
        for i, r in enumerate(read_journal(argv[2])):
            extra = r.path or ""
            if r.path2:
                extra += " -> " + r.path2
            print(f"{i:6} {NAMES[r.type]:8} pid {r.pid:<7} ino {r.ino:<10} off {r.off:<9} "
                  f"len {r.len:<7} {'dsync ' if r.flags & F_DSYNC else ''}{extra}")
        return 0
    if len(argv) == 7 and argv[1] == "image":
        recs = read_journal(argv[2])
        cut, mode, seed, out = int(argv[3]), argv[4], argv[5], argv[6]
        info = {}
        replay(recs, {cut}, lambda x, d: info.update(d.image(out, mode, random.Random(seed))))
        print(json.dumps(info))
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
