#!/usr/bin/env python3
"""Generates the photo-like JPEGs that bench/phash.cpp hashes.

Usage: phash_images.py --out DIR --count N [--width W] [--height H] [--seed S]

Image i is made from its own generator, seeded with (seed, i), so a
directory can grow: only the missing images are generated, and a smaller
--count reuses the first ones of a larger set. Each file is written under a
temporary name and renamed, so an interrupted run leaves no half image.

A flat or purely random image would make a poor test of the hash: on the
first, most of the 64 low-frequency coefficients sit at the median and the
bits are decided by rounding; on the second, the low frequencies carry
nothing. So each image has what a photograph's low frequencies have: a
smooth colour gradient, soft large-scale "lighting" and a finer texture,
6 to 15 overlapping shapes of many sizes with blurred edges, and sensor-like noise on top, saved
at a typical camera quality with 4:2:0 chroma subsampling.

The bytes depend on the installed Pillow and numpy (Debian 12's here): the
cache directory is named by seed and generator version, not by library.
"""

import argparse
import os
import sys

import numpy
from PIL import Image, ImageDraw, ImageFilter


def make_image(rng, width, height):
    # Gradient between two random colours along a random direction.
    angle = rng.uniform(0, 2 * numpy.pi)
    ys, xs = numpy.mgrid[0:height, 0:width].astype(numpy.float32)
    t = (xs / width - 0.5) * numpy.cos(angle) + (ys / height - 0.5) * numpy.sin(angle)
    t = (t - t.min()) / (t.max() - t.min())
    c0 = rng.uniform(0, 255, 3).astype(numpy.float32)
    c1 = rng.uniform(0, 255, 3).astype(numpy.float32)
    pixels = c0 + t[..., None] * (c1 - c0)

    # Large-scale lighting and a finer texture: coarse random grids,
    # upsampled smoothly.
    for cells, amplitude in ((rng.integers(3, 7), 40), (48, 12)):
        grid = rng.uniform(-amplitude, amplitude, (cells * height // width + 1, cells))
        layer = Image.fromarray(grid.astype(numpy.float32), mode="F")
        pixels += numpy.asarray(layer.resize((width, height), Image.Resampling.BICUBIC))[..., None]

    image = Image.fromarray(numpy.clip(pixels, 0, 255).astype(numpy.uint8), mode="RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(int(rng.integers(6, 16))):
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        # Sizes from a twentieth to most of the frame, spread evenly in log.
        w, h = (width * numpy.exp(rng.uniform(numpy.log(0.05), numpy.log(0.7), 2))).astype(int)
        cx, cy = int(rng.integers(0, width)), int(rng.integers(0, height))
        x0, y0, x1, y1 = cx - w // 2, cy - h // 2, cx + w // 2, cy + h // 2
        kind = rng.integers(0, 3)
        if kind == 0:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        else:
            points = [(int(rng.integers(x0, x1 + 1)), int(rng.integers(y0, y1 + 1)))
                      for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=colour)
    # Photographs have no perfectly sharp edges.
    image = image.filter(ImageFilter.GaussianBlur(2))

    noisy = numpy.asarray(image, dtype=numpy.float32)
    noisy += rng.normal(0, 5, noisy.shape).astype(numpy.float32)
    return Image.fromarray(numpy.clip(noisy, 0, 255).astype(numpy.uint8), mode="RGB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--width", type=int, default=1920)
    parser.add_argument("--height", type=int, default=1080)
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    made = 0
    for i in range(args.count):
        path = os.path.join(args.out, "img-%05d.jpg" % i)
        if os.path.exists(path):
            continue
        rng = numpy.random.default_rng([args.seed, i])
        image = make_image(rng, args.width, args.height)
        temporary = path + ".tmp"
        image.save(temporary, format="JPEG", quality=88, subsampling="4:2:0")
        os.replace(temporary, path)
        made += 1
    print("generated %d of %d images in %s" % (made, args.count, args.out), file=sys.stderr)


if __name__ == "__main__":
    main()
