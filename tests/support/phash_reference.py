#!/usr/bin/env python3
"""Independent pHash reference for tests/phash_test.cpp.

Writes a fixed set of generated images (numpy RNG seeded, PIL encoders) into
DIR and prints "HASH FILE" for each, computed the way Python's
imagehash.phash does: PIL convert("L"), resize to 32x32 with Lanczos, 2-D
DCT-II (written out with numpy, equal to scipy.fftpack.dct on both axes up to
a constant factor), the top-left 8x8, bits above their median, row-major,
most significant first. Uses only Debian's python3-pil and python3-numpy.
"""
import sys

import numpy as np
from PIL import Image


def phash(path):
    img = Image.open(path).convert("L").resize((32, 32), Image.LANCZOS)
    pixels = np.asarray(img, dtype=np.float64)
    n = 32
    k = np.arange(n)
    d = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n))  # d[u, x]
    low = (d @ pixels @ d.T)[:8, :8]
    bits = (low > np.median(low)).flatten()
    return "%016x" % int("".join("1" if b else "0" for b in bits), 2)


def images(rng):
    """(name, PIL image) pairs: exact 32x32 gray ones need no resize."""
    out = []
    for i in range(6):
        out.append((f"gray32-noise-{i}.png",
                    Image.fromarray(rng.integers(0, 256, (32, 32), dtype=np.uint8), "L")))
    for i in range(6):
        h, w = 192, 256
        y, x = np.mgrid[0:h, 0:w]
        base = np.stack([(x * (i + 1)) % 256, (y * (7 - i)) % 256, ((x + y) * 2) % 256], axis=-1)
        blocks = rng.integers(0, 256, (h // 32, w // 32, 3)).repeat(32, 0).repeat(32, 1)
        rgb = ((base + blocks) // 2).astype(np.uint8)
        out.append((f"rgb-{i}.png", Image.fromarray(rgb, "RGB")))
        out.append((f"rgb-{i}.jpg", Image.fromarray(rgb, "RGB")))
    return out


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "make":
        sys.exit("usage: phash_reference.py make DIR")
    rng = np.random.default_rng(20261123)
    for name, image in images(rng):
        path = f"{sys.argv[2]}/{name}"
        if name.endswith(".jpg"):
            image.save(path, quality=95)
        else:
            image.save(path)
        print(phash(path), path)


if __name__ == "__main__":
    main()
