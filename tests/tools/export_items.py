#!/usr/bin/python3
"""Cut and splice the items of an rxledger export (a CBOR sequence) for the
tamper tests. Items are found by decoding one after another with cbor2 and
noting the offsets; the bytes are copied, never re-encoded.

usage: export_items.py IN count
       export_items.py IN bounds                 (item start offsets, one per line)
       export_items.py IN OUT keep N             (the first N items)
       export_items.py IN OUT cut OFFSET         (the first OFFSET bytes)
       export_items.py IN OUT flip ITEM DELTA    (xor 0x01 into byte DELTA of item ITEM)
       export_items.py IN OUT swap I J           (exchange items I and J)
       export_items.py IN OUT drop I
       export_items.py IN OUT dup I              (item I twice)
       export_items.py IN OUT header FROM        (item 0 replaced by item 0 of FROM)
       export_items.py IN OUT drop-context I     (context entry I removed from the header)
Items count from 0 (the header).
"""
import io
import sys

import cbor2


def items(data):
    out, f = [], io.BytesIO(data)
    dec = cbor2.CBORDecoder(f)
    while f.tell() < len(data):
        start = f.tell()
        dec.decode()
        out.append(data[start:f.tell()])
    return out


def main(a):
    data = open(a[0], "rb").read()
    if a[1] == "count":
        print(len(items(data)))
        return
    if a[1] == "bounds":
        off = 0
        for it in items(data):
            print(off)
            off += len(it)
        return
    out, op, it = a[1], a[2], items(data)
    if op == "keep":
        res = b"".join(it[:int(a[3])])
    elif op == "cut":
        res = data[:int(a[3])]
    elif op == "flip":
        i, d = int(a[3]), int(a[4])
        b = bytearray(it[i])
        b[d % len(b)] ^= 0x01
        it[i] = bytes(b)
        res = b"".join(it)
    elif op == "swap":
        i, j = int(a[3]), int(a[4])
        it[i], it[j] = it[j], it[i]
        res = b"".join(it)
    elif op == "drop":
        del it[int(a[3])]
        res = b"".join(it)
    elif op == "dup":
        i = int(a[3])
        it.insert(i, it[i])
        res = b"".join(it)
    elif op == "header":
        it[0] = items(open(a[3], "rb").read())[0]
        res = b"".join(it)
    elif op == "drop-context":
        h = cbor2.loads(it[0])
        del h["context"][int(a[3])]
        it[0] = cbor2.dumps(h, canonical=True)
        res = b"".join(it)
    else:
        sys.exit("unknown operation " + op)
    open(out, "wb").write(res)


main(sys.argv[1:])
