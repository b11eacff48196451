#!/usr/bin/env python3
"""Writes a small, deterministic demo image catalog for imgbackfill.

Usage: make_demo_catalog.py DIR [--count N] [--seed S]

DIR receives images/ (real JPEG and PNG files of various sizes: product
photos on plain backgrounds, alternate views of those products, and other
pictures made of gradients, shapes and noise) and manifest.csv with the
header id,location,product_id,is_primary,active, locations relative to the
manifest. The same arguments always give the same files.

Roughly a third of the images are product primary images, a quarter are
other views of a product, the rest belong to no product, and two are
inactive. Standard library and Pillow only.
"""

import argparse
import csv
import random
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

PALETTE = [
    (200, 40, 40), (30, 120, 200), (40, 160, 80), (230, 170, 30), (120, 60, 160),
    (20, 20, 20), (240, 240, 235), (150, 90, 50), (0, 150, 150), (220, 100, 160),
]


def random_color(rng):
    base = rng.choice(PALETTE)
    return tuple(max(0, min(255, c + rng.randint(-25, 25))) for c in base)


def random_size(rng, small=96, large=1600):
    width = rng.randint(small, large)
    aspect = rng.choice([1.0, 0.75, 4 / 3, 1.5, 2 / 3, 16 / 9])
    return width, max(small // 2, int(width / aspect))


def gradient(rng, size):
    """A two-color linear gradient in a random direction."""
    width, height = size
    a, b = random_color(rng), random_color(rng)
    ramp = Image.linear_gradient("L").rotate(rng.choice([0, 90, 180, 270]))
    ramp = ramp.resize((width, height))
    return Image.composite(Image.new("RGB", size, b), Image.new("RGB", size, a), ramp)


def add_shapes(rng, image, count):
    draw = ImageDraw.Draw(image)
    width, height = image.size
    for _ in range(count):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = min(width, x0 + rng.randint(width // 10 + 1, width // 2 + 2))
        y1 = min(height, y0 + rng.randint(height // 10 + 1, height // 2 + 2))
        kind = rng.choice(["rectangle", "ellipse", "polygon", "line"])
        color = random_color(rng)
        if kind == "rectangle":
            draw.rectangle([x0, y0, x1, y1], fill=color)
        elif kind == "ellipse":
            draw.ellipse([x0, y0, x1, y1], fill=color)
        elif kind == "polygon":
            points = [(rng.randrange(width), rng.randrange(height)) for _ in range(rng.randint(3, 6))]
            draw.polygon(points, fill=color)
        else:
            draw.line([x0, y0, x1, y1], fill=color, width=max(1, width // 60))
    return image


def noise(rng, size):
    """Uniform RGB noise, blurred a little so it looks like texture."""
    width, height = size
    image = Image.frombytes("RGB", size, rng.randbytes(width * height * 3))
    return image.filter(ImageFilter.GaussianBlur(rng.choice([0, 1, 2])))


def product_photo(rng, size, product_color, shape):
    """A product on a plain light background, as a catalog shot would be."""
    width, height = size
    background = tuple(rng.randint(232, 255) for _ in range(3))
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    scale = rng.uniform(0.45, 0.75)
    box_w, box_h = int(width * scale), int(height * scale)
    cx = width // 2 + rng.randint(-width // 12, width // 12)
    cy = height // 2 + rng.randint(-height // 12, height // 12)
    box = [cx - box_w // 2, cy - box_h // 2, cx + box_w // 2, cy + box_h // 2]
    shadow = [box[0] + box_w // 20, box[3] - box_h // 12, box[2] + box_w // 20, box[3] + box_h // 12]
    draw.ellipse(shadow, fill=tuple(c - 40 for c in background))
    if shape == "box":
        draw.rectangle(box, fill=product_color, outline=(30, 30, 30), width=max(1, width // 200))
    elif shape == "bottle":
        neck = [cx - box_w // 10, box[1], cx + box_w // 10, box[1] + box_h // 4]
        body = [box[0] + box_w // 5, box[1] + box_h // 4, box[2] - box_w // 5, box[3]]
        draw.rectangle(neck, fill=product_color)
        draw.rounded_rectangle(body, radius=max(1, box_w // 8), fill=product_color)
    else:  # ball
        side = min(box_w, box_h)
        draw.ellipse([cx - side // 2, cy - side // 2, cx + side // 2, cy + side // 2],
                     fill=product_color)
    label = [cx - box_w // 6, cy - box_h // 12, cx + box_w // 6, cy + box_h // 12]
    draw.rectangle(label, fill=(250, 250, 250))
    return image


def other_picture(rng, size):
    style = rng.choice(["gradient", "shapes", "noise", "mixed"])
    if style == "gradient":
        return gradient(rng, size)
    if style == "shapes":
        return add_shapes(rng, Image.new("RGB", size, random_color(rng)), rng.randint(3, 12))
    if style == "noise":
        return noise(rng, size)
    return add_shapes(rng, gradient(rng, size), rng.randint(2, 6))


def save(rng, image, path_without_suffix):
    """Saves as JPEG or PNG (sometimes grayscale or with alpha); returns the path."""
    if rng.random() < 0.6:
        path = path_without_suffix.with_suffix(".jpg")
        if rng.random() < 0.1:
            image = image.convert("L")
        image.save(path, "JPEG", quality=rng.choice([75, 85, 92]))
    else:
        path = path_without_suffix.with_suffix(".png")
        roll = rng.random()
        if roll < 0.15:
            image = image.convert("RGBA")
        elif roll < 0.3:
            image = image.convert("P", palette=Image.Palette.ADAPTIVE, colors=64)
        image.save(path, "PNG", optimize=False)
    return path


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", type=Path, help="output directory (created if missing)")
    parser.add_argument("--count", type=int, default=60, help="number of images (default 60)")
    parser.add_argument("--seed", type=int, default=20240530, help="random seed")
    args = parser.parse_args(argv)
    if args.count < 6:
        parser.error("--count must be at least 6")

    rng = random.Random(args.seed)
    images_dir = args.dir / "images"
    for sub in ("products", "other"):
        (images_dir / sub).mkdir(parents=True, exist_ok=True)

    n_primary = args.count // 3
    n_views = args.count // 4
    # Products get ids far from image ids so the two are not confused.
    products = [(1001 + i, random_color(rng), rng.choice(["box", "bottle", "ball"]))
                for i in range(n_primary)]
    roles = (["primary"] * n_primary + ["view"] * n_views +
             ["other"] * (args.count - n_primary - n_views))
    # Interleave roles so that ids do not sort by group: the backfill, not the
    # manifest order, must put product primary images first.
    rng.shuffle(roles)
    inactive = set(rng.sample(range(args.count), 2))

    rows = []
    next_primary = 0
    for index, role in enumerate(roles):
        image_id = index + 1
        size = random_size(rng)
        if role == "primary":
            product_id, color, shape = products[next_primary]
            next_primary += 1
            image = product_photo(rng, size, color, shape)
            stem = images_dir / "products" / f"p{product_id}-main-{image_id:03d}"
            product, is_primary = product_id, 1
        elif role == "view":
            product_id, color, shape = rng.choice(products)
            image = product_photo(rng, size, color, shape)
            if rng.random() < 0.5:
                image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            stem = images_dir / "products" / f"p{product_id}-view-{image_id:03d}"
            product, is_primary = product_id, 0
        else:
            image = other_picture(rng, size)
            stem = images_dir / "other" / f"img-{image_id:03d}"
            product, is_primary = "", 0
        path = save(rng, image, stem)
        rows.append([image_id, path.relative_to(args.dir).as_posix(), product, is_primary,
                     0 if index in inactive else 1])

    with open(args.dir / "manifest.csv", "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["id", "location", "product_id", "is_primary", "active"])
        writer.writerows(rows)

    counts = {role: roles.count(role) for role in ("primary", "view", "other")}
    print(f"wrote {len(rows)} images to {images_dir} ({counts['primary']} product primary, "
          f"{counts['view']} other product views, {counts['other']} without a product, "
          f"{len(inactive)} inactive) and {args.dir / 'manifest.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
