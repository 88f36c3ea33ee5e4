"""Real image bytes, made cheaply and deterministically: PNGs via zlib, drawn pictures via Pillow."""

from __future__ import annotations

import functools
import io
import random
import struct
import zipfile
import zlib
from dataclasses import dataclass

from PIL import Image as PilImage
from PIL import ImageDraw

THUMBNAIL_SIZE = 100  # longest side of a thumbnail, like the service's small previews
MAX_IMAGE_BYTES = 6 * 1024 * 1024  # the Training API's upload limit
# The service's resized copy fits a 900 x 1600 box either way round (recorded sizes: 900x1600, 839x1600,
# 900x1206, 1600x900, 1260x900 in GetTaggedImages.json / GetArtifacts.json / DeleteImages.json).
RESIZED_SHORT_SIDE, RESIZED_LONG_SIDE = 900, 1600


@dataclass(frozen=True)
class Picture:
    """Encoded image bytes with their pixel size and MIME type."""

    data: bytes
    width: int
    height: int
    content_type: str

    @property
    def ext(self) -> str:
        return {"image/png": "png", "image/jpeg": "jpg", "image/gif": "gif", "image/bmp": "bmp"}.get(
            self.content_type, "bin"
        )


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def tiny_png(serial: int, *, width: int = 16, height: int = 12) -> Picture:
    """A small RGB PNG unique to `serial` (its low bits are painted into the first rows), ~100 bytes."""
    rng = random.Random(serial)
    base = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    accent = tuple(255 - c for c in base)
    rows = []
    for y in range(height):
        row = bytearray([0])  # filter type: none
        for x in range(width):
            if y < 3:
                pixel = accent if (serial >> (y * width + x)) & 1 else base
            elif (x // 4 + y // 4) % 2:
                pixel = accent
            else:
                pixel = base
            row += bytes(pixel)
        rows.append(bytes(row))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
        + _png_chunk(b"IEND", b"")
    )
    return Picture(data, width, height, "image/png")


def fitted_size(width: int, height: int) -> tuple[int, int]:
    """The size of the service's resized copy: scaled down (never up) to fit 900 x 1600 either way round."""
    scale = min(1.0, RESIZED_SHORT_SIDE / min(width, height), RESIZED_LONG_SIDE / max(width, height))
    return max(1, round(width * scale)), max(1, round(height * scale))


def sized_png(serial: int, width: int, height: int) -> Picture:
    """A 1-bit PNG of any size, unique to `serial`, made in microseconds: the pixel data (stripes, one of four
    widths) is shared by every picture of that size and kind, the uniqueness is a `tEXt` chunk."""
    body = _striped_body(width, height, serial % 4)
    text = _png_chunk(b"tEXt", b"Comment\x00emulator image " + str(serial).encode())
    data = b"\x89PNG\r\n\x1a\n" + body[0] + text + body[1] + _png_chunk(b"IEND", b"")
    return Picture(data, width, height, "image/png")


@functools.lru_cache(maxsize=256)
def _striped_body(width: int, height: int, variant: int) -> tuple[bytes, bytes]:
    """(IHDR chunk, IDAT chunk) of a 1-bit grayscale picture of diagonal-ish stripes."""
    row_bytes = (width + 7) // 8
    period = 8 << variant  # rows per stripe
    rows = [b"\x00" + bytes([0b11110000 >> (y // period % 4)]) * row_bytes for y in range(4 * period)]
    raw = b"".join(rows[y % len(rows)] for y in range(height))
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return _png_chunk(b"IHDR", header), _png_chunk(b"IDAT", zlib.compress(raw, 1))


def drawn_picture(seed: int, *, kind: str = "jpeg", width: int = 160, height: int = 120) -> Picture:
    """A drawn scene (sky, ground, a few shapes) as JPEG or PNG, deterministic from `seed`; the same scene
    at any size (shapes are placed in proportions of the picture)."""
    rng = random.Random(seed)
    img = PilImage.new("RGB", (width, height), (rng.randrange(120, 256), rng.randrange(120, 256), 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(rng.randrange(60), rng.randrange(100, 200), 40))
    unit = min(width, height) / 120
    for _ in range(rng.randrange(2, 5)):
        x, y = rng.random() * (width - 20 * unit), rng.random() * (height - 20 * unit)
        size = rng.randrange(10, 40) * unit
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + size, y + size), fill=color)
        else:
            draw.rectangle((x, y, x + size, y + size * 2 / 3), fill=color)
    return encode(img, kind)


def encode(img: PilImage.Image, kind: str) -> Picture:
    """Encode a Pillow image as `jpeg` or `png` (fast settings: seeds make many)."""
    out = io.BytesIO()
    if kind == "jpeg":
        img.convert("RGB").save(out, format="JPEG", quality=80)
        content_type = "image/jpeg"
    else:
        img.save(out, format="PNG", compress_level=1)
        content_type = "image/png"
    return Picture(out.getvalue(), img.width, img.height, content_type)


def resized(picture: Picture) -> Picture:
    """The service's resized copy of an uploaded picture: itself when it already fits the box."""
    size = fitted_size(picture.width, picture.height)
    if size == (picture.width, picture.height):
        return picture
    with PilImage.open(io.BytesIO(picture.data)) as img:
        img.draft("RGB", size)
        copy = img.convert("RGB").resize(size)
    return encode(copy, "jpeg" if picture.content_type == "image/jpeg" else "png")


def inspect(data: bytes) -> Picture:
    """Decode uploaded bytes far enough to know their format and size; ValueError when not an image."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ValueError("image exceeds 6 MB")
    try:
        with PilImage.open(io.BytesIO(data)) as img:
            fmt = (img.format or "").upper()
            width, height = img.size
    except Exception as exc:  # Pillow raises many types for garbage input
        raise ValueError("not a supported image") from exc
    types = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "BMP": "image/bmp"}
    if fmt not in types:
        raise ValueError(f"unsupported image format {fmt or 'unknown'}")
    return Picture(data, width, height, types[fmt])


def thumbnail(picture: Picture) -> Picture:
    """A thumbnail no larger than THUMBNAIL_SIZE; small pictures are their own thumbnail."""
    if max(picture.width, picture.height) <= THUMBNAIL_SIZE:
        return picture
    with PilImage.open(io.BytesIO(picture.data)) as img:
        img.thumbnail((THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        return encode(img.convert("RGB"), "jpeg")


def model_package(label: str) -> bytes:
    """A small, deterministic zip standing in for an exported model."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        info = zipfile.ZipInfo("model/README.txt", date_time=(2025, 1, 1, 0, 0, 0))
        zf.writestr(info, f"Custom Vision emulator export: {label}\n")
        info = zipfile.ZipInfo("model/labels.txt", date_time=(2025, 1, 1, 0, 0, 0))
        zf.writestr(info, label.replace(" ", "\n") + "\n")
    return out.getvalue()
