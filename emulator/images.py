"""Real image bytes, made cheaply and deterministically: tiny PNGs via zlib, drawn pictures via Pillow."""

from __future__ import annotations

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


def drawn_picture(seed: int, *, kind: str = "jpeg", width: int = 160, height: int = 120) -> Picture:
    """A small drawn scene (sky, ground, a few shapes) as JPEG or PNG, deterministic from `seed`."""
    rng = random.Random(seed)
    img = PilImage.new("RGB", (width, height), (rng.randrange(120, 256), rng.randrange(120, 256), 255))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(rng.randrange(60), rng.randrange(100, 200), 40))
    for _ in range(rng.randrange(2, 5)):
        x, y = rng.randrange(width - 20), rng.randrange(height - 20)
        size = rng.randrange(10, 40)
        color = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        if rng.random() < 0.5:
            draw.ellipse((x, y, x + size, y + size), fill=color)
        else:
            draw.rectangle((x, y, x + size, y + size * 2 // 3), fill=color)
    return encode(img, kind)


def encode(img: PilImage.Image, kind: str) -> Picture:
    """Encode a Pillow image as `jpeg` or `png`."""
    out = io.BytesIO()
    if kind == "jpeg":
        img.convert("RGB").save(out, format="JPEG", quality=80)
        content_type = "image/jpeg"
    else:
        img.save(out, format="PNG", optimize=True)
        content_type = "image/png"
    return Picture(out.getvalue(), img.width, img.height, content_type)


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
