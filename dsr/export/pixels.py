"""An image's format and pixel size, read from the first bytes of its file (Pillow reads the header, decodes nothing).

The Training API lists the size of the resized copy (it fits 900 x 1600); the exported file is the original, whose
size only its bytes tell. Pillow (pinned in requirements.txt) knows every format Custom Vision accepts (JPEG, PNG,
BMP, GIF, WebP, TIFF) and their header quirks (JPEG segments before the frame header), which a hand-written
parser would have to relearn.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image as PilImage
from PIL import UnidentifiedImageError

HEADER_BYTES = 256 * 1024  # enough for a JPEG frame header after large EXIF/ICC segments
_EXTENSIONS = {"JPEG": "jpg", "MPO": "jpg", "PNG": "png", "GIF": "gif", "BMP": "bmp", "WEBP": "webp", "TIFF": "tif"}


@dataclass(frozen=True)
class Pixels:
    """What an image file's header says: its format's file extension and its size in pixels (as stored)."""

    ext: str
    width: int
    height: int


def probe(head: bytes) -> Pixels | None:
    """Format and pixel size from the first bytes of an image file; None when they are not an image Pillow knows."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", PilImage.DecompressionBombWarning)  # huge is fine: nothing is decoded
            with PilImage.open(io.BytesIO(head)) as image:
                width, height = image.size
                fmt = (image.format or "").upper()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, PilImage.DecompressionBombError):
        return None
    ext = _EXTENSIONS.get(fmt)
    if ext is None or width <= 0 or height <= 0:
        return None
    return Pixels(ext=ext, width=width, height=height)
