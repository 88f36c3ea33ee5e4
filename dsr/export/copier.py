"""Copies images and model files from SAS URLs into the export, server-side when possible, and verifies them.

The source is read once, in chunks, to compute the sha256 the manifest records (and checked against the
size and MD5 the source reports). A small file (at most `SMALL_FILE` bytes, i.e. nearly every image) is then
uploaded from that same read in one Put Blob with its MD5: two storage requests per image, the fewest that
both copy and hash it. A larger one is written server-side (Put Block From URL, each block checked by the
service against the MD5 of the bytes that were hashed, then Put Block List), so its bytes are never held
whole. When the source refuses that copy, the bytes are streamed through in staged blocks instead.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobBlock, ContentSettings

from dsr.files import SHA256_METADATA, FileRecord
from dsr.redact import strip_query
from dsr.sink import ExportSink
from dsr.storage import source_blob

SERVER_BLOCK = 64 * 1024 * 1024  # bytes per Put Block From URL (the service allows up to 4,000 MiB)
SMALL_FILE = 4 * 1024 * 1024  # up to this size a file is uploaded from the bytes read to hash it (as one staged
# block of a streamed file: the same memory bound per copy thread)
_EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/jpg": "jpg",
    "image/png": "png",
    "image/bmp": "bmp",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
}


class CopyVerificationError(RuntimeError):
    """The written blob does not match what the source reported."""

    error_code = "CopyVerificationFailed"


def extension_for(content_type: str, url: str) -> str:
    """File extension from the source's content type, else from its URL path, else `bin`."""
    known = _EXTENSIONS.get(content_type.split(";")[0].strip().lower())
    if known:
        return known
    path = strip_query(url).rsplit("/", 1)[-1]
    if "." in path:
        return path.rsplit(".", 1)[-1].lower()
    guessed = mimetypes.guess_extension(content_type or "")
    return guessed.lstrip(".") if guessed else "bin"


class Copier:
    """Copies source URLs to paths of one sink; thread-safe, so an activity can run many at once."""

    def __init__(self, sink: ExportSink, *, server_side: bool = True) -> None:
        self.sink = sink
        self.server_side = server_side

    def copy(self, source_url: str, path_stem: str, *, reuse: bool = False) -> FileRecord:
        """Copy `source_url` to `{path_stem}.{ext}`; with `reuse`, a verified earlier copy is kept."""
        if reuse:
            existing = self.sink.find(path_stem)
            if existing is not None:
                return existing
        source = source_blob(source_url)
        download = source.download_blob()
        props = download.properties
        content_type = props.content_settings.content_type or ""
        path = f"{path_stem}.{extension_for(content_type, source_url)}"
        if props.size <= SMALL_FILE:
            return self._upload_small(path, download.readall(), props.size, props.content_settings.content_md5,
                                      content_type)
        if self.server_side:
            digest = _digest(download.chunks(), SERVER_BLOCK)
            _check(path, digest.size, digest.md5, props.size, props.content_settings.content_md5)
            if self._server_copy(source_url, path, digest, content_type):
                return FileRecord(path=path, size=digest.size, sha256=digest.sha256)
            download = source.download_blob()
        record = self.sink.write_stream(path, download.chunks(), content_type=content_type or None)
        _check(path, record["size"], None, props.size, None)
        return record

    def _upload_small(self, path: str, data: bytes, expected_size: int, expected_md5: bytes | bytearray | None,
                      content_type: str) -> FileRecord:
        """One Put Block Blob of bytes already read and checked, carrying their MD5 (the service verifies it)."""
        md5 = hashlib.md5(data, usedforsecurity=False).digest()
        _check(path, len(data), md5, expected_size, expected_md5)
        sha256 = hashlib.sha256(data).hexdigest()
        settings = ContentSettings(content_type=content_type or None, content_md5=bytearray(md5))
        self.sink.blob(path).upload_blob(data, overwrite=True, metadata={SHA256_METADATA: sha256},
                                         content_settings=settings, validate_content=True)
        return FileRecord(path=path, size=len(data), sha256=sha256)

    def _server_copy(self, source_url: str, path: str, digest: Digest, content_type: str) -> bool:
        """Put Block From URL for each block, each checked by the service against the MD5 of the bytes hashed,
        then one Put Block List with the sha256; False when the destination can't copy from this source.

        (Copy Blob From URL would be one call, but the service then keeps the source URL, SAS signature
        included, in the blob's x-ms-copy-source property: a secret in the export.)"""
        blob = self.sink.blob(path)
        settings = ContentSettings(content_type=content_type or None, content_md5=bytearray(digest.md5))
        metadata = {SHA256_METADATA: digest.sha256}
        try:
            if digest.size == 0:
                blob.upload_blob(b"", overwrite=True, metadata=metadata, content_settings=settings)
                return True
            blocks = []
            for number, block_md5 in enumerate(digest.block_md5s):
                block_id = f"{number:06d}"
                offset = number * SERVER_BLOCK
                length = min(SERVER_BLOCK, digest.size - offset)
                blob.stage_block_from_url(block_id, source_url, source_offset=offset, source_length=length,
                                          source_content_md5=block_md5)
                blocks.append(BlobBlock(block_id=block_id))
            blob.commit_block_list(blocks, metadata=metadata, content_settings=settings)
            return True
        except HttpResponseError as exc:
            if exc.status_code in (400, 403, 404, 409, 412, 501) or exc.status_code is None:
                return False  # the destination can't reach or won't copy this source: stream it instead
            raise


@dataclass(frozen=True)
class Digest:
    """What reading the source once established: size, sha256 (hex), MD5 of the whole and of each block."""

    size: int
    sha256: str
    md5: bytes
    block_md5s: list[bytes]


def _digest(chunks: Iterable[bytes], block: int) -> Digest:
    """Hash a byte stream chunk by chunk, with an MD5 per `block` bytes for the service to check each copy."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    blocks: list[bytes] = []
    current = hashlib.md5(usedforsecurity=False)
    in_block = size = 0
    for chunk in chunks:
        sha.update(chunk)
        md5.update(chunk)
        size += len(chunk)
        view = memoryview(chunk)
        while view:
            take = min(len(view), block - in_block)
            current.update(view[:take])
            in_block += take
            view = view[take:]
            if in_block == block:
                blocks.append(current.digest())
                current, in_block = hashlib.md5(usedforsecurity=False), 0
    if in_block:
        blocks.append(current.digest())
    return Digest(size=size, sha256=sha.hexdigest(), md5=md5.digest(), block_md5s=blocks)


def _check(path: str, size: int, md5: bytes | None, expected_size: int, expected_md5: bytes | bytearray | None) -> None:
    if size != expected_size or (md5 is not None and expected_md5 and md5 != bytes(expected_md5)):
        raise CopyVerificationError(f"{path}: read {size} bytes, source said {expected_size} (or its MD5 differs)")
