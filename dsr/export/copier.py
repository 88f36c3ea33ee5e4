"""Copies images and model files into the export, server-side when possible, and verifies them.

A source is a SAS URL, or (images with relative URIs, docs/real-service.md) a path the Training API serves through
GetArtifact. The source is read once, in chunks, to compute the sha256 the manifest records (and checked against
the size and MD5 a blob source reports). A small file (at most `SMALL_FILE` bytes, i.e. nearly every image) is
then uploaded from that same read in one Put Blob with its MD5: two storage requests per image, the fewest that
both copy and hash it. A larger blob is written server-side (Put Block From URL, each block checked by the
service against the MD5 of the bytes that were hashed, then Put Block List), so its bytes are never held
whole. When the source refuses that copy, or is GetArtifact, the bytes are streamed through in staged blocks.

An image's file extension and pixel size come from its own first bytes (`pixels.probe`): GetArtifact answers
every file as application/octet-stream, and only the original's bytes know its size.
"""

from __future__ import annotations

import hashlib
import itertools
import mimetypes
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobBlock, ContentSettings

from customvision import is_relative_uri
from dsr.export.pixels import HEADER_BYTES, Pixels, probe
from dsr.files import SHA256_METADATA, FileRecord
from dsr.redact import strip_query
from dsr.sink import ExportSink
from dsr.storage import source_blob

Artifact = Callable[[str], Iterable[bytes]]  # relative URI -> its bytes (GetArtifact through the Training client)

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


@dataclass(frozen=True)
class ImageFile:
    """An exported image: its file record and, when its header could be read, its pixel size."""

    file: FileRecord
    pixels: Pixels | None


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

    def copy(self, source_url: str, path_stem: str, *, reuse: bool = False,
             artifact: Artifact | None = None) -> FileRecord:
        """Copy the file at `source_url` (a SAS URL, or a relative URI read through `artifact`) to
        `{path_stem}.{ext}` (extension from its content type or URL); with `reuse`, a verified earlier copy is kept."""
        if reuse:
            existing = self.sink.find(path_stem)
            if existing is not None:
                return existing
        if is_relative_uri(source_url):
            if artifact is None:
                raise ValueError("a relative URI needs GetArtifact")
            path = f"{path_stem}.{extension_for('', source_url)}"
            return self.sink.write_stream(path, artifact(source_url), content_type=_content_type(path))
        return self._copy_blob(source_url, path_stem, image=False)[0]

    def copy_image(self, uri: str, path_stem: str, *, artifact: Artifact | None = None,
                   reuse: bool = False) -> ImageFile:
        """Copy an image to `{path_stem}.{ext}` (extension from its bytes) and read its pixel size: from a SAS URL,
        or through `artifact` for a relative URI. With `reuse`, a verified earlier copy is kept (and probed)."""
        if reuse:
            existing = self.sink.find(path_stem)
            if existing is not None:
                head = self.sink.blob(existing["path"]).download_blob(offset=0, length=HEADER_BYTES).readall()
                return ImageFile(existing, probe(head))
        if not is_relative_uri(uri):
            return ImageFile(*self._copy_blob(uri, path_stem, image=True))
        if artifact is None:
            raise ValueError("a relative image URI needs GetArtifact")
        head, chunks = _peek(iter(artifact(uri)), HEADER_BYTES)
        pixels = probe(head)
        path = f"{path_stem}.{pixels.ext if pixels else 'bin'}"
        small, rest = _peek(chunks, SMALL_FILE + 1, head)
        if len(small) <= SMALL_FILE:
            return ImageFile(self._upload_small(path, small, len(small), None, _content_type(path)), pixels)
        return ImageFile(self.sink.write_stream(path, itertools.chain([small], rest),
                                                content_type=_content_type(path)), pixels)

    def _copy_blob(self, source_url: str, path_stem: str, *, image: bool) -> tuple[FileRecord, Pixels | None]:
        source = source_blob(source_url)
        download = source.download_blob()
        props = download.properties
        content_type = props.content_settings.content_type or ""
        if props.size <= SMALL_FILE:
            data = download.readall()
            pixels = probe(data[:HEADER_BYTES]) if image else None
            path = f"{path_stem}.{pixels.ext if pixels else extension_for(content_type, source_url)}"
            record = self._upload_small(path, data, props.size, props.content_settings.content_md5, content_type)
            return record, pixels
        head, chunks = _peek(download.chunks(), HEADER_BYTES)
        pixels = probe(head) if image else None
        path = f"{path_stem}.{pixels.ext if pixels else extension_for(content_type, source_url)}"
        if self.server_side:
            digest = _digest(itertools.chain([head], chunks), SERVER_BLOCK)
            _check(path, digest.size, digest.md5, props.size, props.content_settings.content_md5)
            if self._server_copy(source_url, path, digest, content_type):
                return FileRecord(path=path, size=digest.size, sha256=digest.sha256), pixels
            chunks, head = source.download_blob().chunks(), b""
        record = self.sink.write_stream(path, itertools.chain([head], chunks), content_type=content_type or None)
        _check(path, record["size"], None, props.size, None)
        return record, pixels

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


def _peek(chunks: Iterator[bytes], size: int, prefix: bytes = b"") -> tuple[bytes, Iterator[bytes]]:
    """At least `size` bytes from the front of a stream (fewer if it ends), and the rest of the stream."""
    buffer = bytearray(prefix)
    for chunk in chunks:
        buffer += chunk
        if len(buffer) >= size:
            break
    return bytes(buffer), chunks


def _content_type(path: str) -> str:
    return mimetypes.guess_type(path)[0] or "application/octet-stream"


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
