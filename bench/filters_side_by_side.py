#!/usr/bin/env python3
"""Puts the first-layer filter grids of several runs side by side in one PNG (numpy + zlib only).

usage: python3 bench/filters_side_by_side.py OUT.png RUN_DIR [RUN_DIR ...]
Each RUN_DIR must hold report/filters.png (written by `autoencoder train`).
"""
import struct, sys, zlib
import numpy as np


def read_png(path):
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', path
    pos, idat, w = 8, b'', None
    while pos < len(data):
        n = struct.unpack('>I', data[pos:pos + 4])[0]
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        if kind == b'IHDR':
            w, h, depth, color = struct.unpack('>IIBB', body[:10])
            assert depth == 8 and color == 2, 'expects 8-bit RGB'
        elif kind == b'IDAT':
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = 3 * w
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)], dtype=np.uint8).astype(np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for x in range(stride):
            a = cur[x - 3] if x >= 3 else 0
            b = prev[x]
            c = prev[x - 3] if x >= 3 else 0
            if f == 0: v = line[x]
            elif f == 1: v = line[x] + a
            elif f == 2: v = line[x] + b
            elif f == 3: v = line[x] + (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                v = line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)
            cur[x] = v & 0xFF
        out[y] = cur
        prev = cur
    return out.reshape(h, w, 3)


def write_png(path, img):
    h, w, _ = img.shape
    raw = b''.join(b'\x00' + img[y].tobytes() for y in range(h))
    chunk = lambda k, b: struct.pack('>I', len(b)) + k + b + struct.pack('>I', zlib.crc32(k + b) & 0xFFFFFFFF)
    png = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
    png += chunk(b'IDAT', zlib.compress(raw, 9)) + chunk(b'IEND', b'')
    open(path, 'wb').write(png)


def main():
    out, runs = sys.argv[1], sys.argv[2:]
    imgs = [read_png(f'{r}/report/filters.png') for r in runs]
    h = max(i.shape[0] for i in imgs)
    gap = np.full((h, 12, 3), 255, dtype=np.uint8)
    parts = []
    for i in imgs:
        pad = np.full((h - i.shape[0], i.shape[1], 3), 255, dtype=np.uint8)
        parts += [np.vstack([i, pad]), gap]
    write_png(out, np.hstack(parts[:-1]))
    print(out)


if __name__ == '__main__':
    main()
