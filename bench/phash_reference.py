#!/usr/bin/env python3
"""The Python side of bench/phash.cpp: imagehash.phash on each image, timed.

Usage: phash_reference.py [--no-draft] LIST
  LIST        a file naming one image per line
  --no-draft  decode every JPEG at full size, as imagehash.phash(Image.open(f))
              does when called as its README shows

Prints, once the timed loop is over (so printing is not timed):
  hash<TAB>16 hex digits<TAB>path     one line per image, in LIST's order
  timing<TAB>images<TAB>cpu seconds<TAB>wall seconds
CPU time is the whole process's (time.process_time); both cover the loop
only: not the interpreter's start-up, the imports, nor one untimed warm-up
image (Pillow registers its plugins on the first open).

The hash is imagehash.phash with its defaults (hash_size=8,
highfreq_factor=4), restated here because Debian packages no imagehash:
imagehash 4.3.2, imagehash/__init__.py, def phash (JohannesBuchner/imagehash
on GitHub):
    image = image.convert('L').resize((img_size, img_size), ANTIALIAS)
    pixels = numpy.asarray(image)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    dctlowfreq = dct[:hash_size, :hash_size]
    med = numpy.median(dctlowfreq)
    diff = dctlowfreq > med
and str(hash) writes the 64 bits row-major, the first one most significant
(_binary_array_to_hex). ANTIALIAS is Image.Resampling.LANCZOS there.
"""

import sys
import time

import numpy
import scipy.fftpack
from PIL import Image

HASH_SIZE = 8
IMG_SIZE = HASH_SIZE * 4  # highfreq_factor

try:
    LANCZOS = Image.Resampling.LANCZOS
except AttributeError:  # Pillow before 9.1
    LANCZOS = Image.ANTIALIAS


def phash_hex(image):
    image = image.convert("L").resize((IMG_SIZE, IMG_SIZE), LANCZOS)
    pixels = numpy.asarray(image)
    dct = scipy.fftpack.dct(scipy.fftpack.dct(pixels, axis=0), axis=1)
    low = dct[:HASH_SIZE, :HASH_SIZE]
    bits = (low > numpy.median(low)).flatten()
    return "%016x" % int("".join("1" if b else "0" for b in bits), 2)


def hash_file(path, draft):
    with Image.open(path) as image:
        if draft:
            # libjpeg then decodes at 1/2, 1/4 or 1/8 scale, straight to gray.
            # Asking for twice the 32x32 target leaves the final Lanczos
            # resize a margin, as libvips' shrink-on-load does; on the
            # benchmark's 1920x1080 images both decode at 1/8, 240x135
            # (VIPS_INFO=1 shows libvips' choice), so both sides resize from
            # the same size. imagehash itself does not call draft:
            # --no-draft is what its users get by default.
            image.draft("L", (2 * IMG_SIZE, 2 * IMG_SIZE))
        return phash_hex(image)


def main():
    args = sys.argv[1:]
    draft = True
    if args and args[0] == "--no-draft":
        draft = False
        args = args[1:]
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0]) as listing:
        paths = [line.rstrip("\n") for line in listing if line.strip()]
    if not paths:
        print("phash_reference.py: %s names no image" % args[0], file=sys.stderr)
        return 2

    hash_file(paths[0], draft)
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    hashes = [hash_file(path, draft) for path in paths]
    cpu, wall = time.process_time() - cpu_start, time.perf_counter() - wall_start

    out = sys.stdout
    for path, value in zip(paths, hashes):
        out.write("hash\t%s\t%s\n" % (value, path))
    out.write("timing\t%d\t%.6f\t%.6f\n" % (len(paths), cpu, wall))
    return 0


if __name__ == "__main__":
    sys.exit(main())
