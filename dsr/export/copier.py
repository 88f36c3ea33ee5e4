"""Copies images and model files from SAS URLs into the export, server-side when possible, and verifies them.

The source is read once, in chunks, to compute the sha256 the manifest records (and checked against the
size and MD5 the source reports). The bytes are then written by a synchronous server-side copy (Blob
"Copy From URL", pinned to the source ETag that was hashed), so they never pass through the function on
the way in. When the source refuses that copy, the bytes are streamed through in staged blocks with
bounded memory instead.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient

from dsr.files import SHA256_METADATA, FileRecord
from dsr.redact import strip_query
from dsr.sink import ExportSink

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
        source = BlobClient.from_blob_url(source_url)
        download = source.download_blob()
        props = download.properties
        content_type = props.content_settings.content_type or ""
        path = f"{path_stem}.{extension_for(content_type, source_url)}"
        if self.server_side:
            size, sha, md5 = _digest(download.chunks())
            _check(path, size, md5, props.size, props.content_settings.content_md5)
            if self._server_copy(source_url, path, props.etag, sha):
                return FileRecord(path=path, size=size, sha256=sha)
            download = source.download_blob()
        record = self.sink.write_stream(path, download.chunks(), content_type=content_type or None)
        _check(path, record["size"], None, props.size, None)
        return record

    def _server_copy(self, source_url: str, path: str, etag: str, sha: str) -> bool:
        """Copy From URL, pinned to the source version that was hashed; False when the source can't be copied."""
        try:
            self.sink.blob(path).start_copy_from_url(
                source_url,
                metadata={SHA256_METADATA: sha},
                requires_sync=True,
                source_etag=etag,
                source_match_condition=MatchConditions.IfNotModified,
            )
            return True
        except HttpResponseError as exc:
            if exc.status_code in (400, 403, 404, 409, 412, 501) or exc.status_code is None:
                return False  # the destination can't reach or won't copy this source: stream it instead
            raise


def _digest(chunks: Iterable[bytes]) -> tuple[int, str, bytes]:
    """(size, sha256 hex, md5) of a byte stream, read chunk by chunk."""
    sha = hashlib.sha256()
    md5 = hashlib.md5(usedforsecurity=False)
    size = 0
    for chunk in chunks:
        sha.update(chunk)
        md5.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest(), md5.digest()


def _check(path: str, size: int, md5: bytes | None, expected_size: int, expected_md5: bytes | bytearray | None) -> None:
    if size != expected_size or (md5 is not None and expected_md5 and md5 != bytes(expected_md5)):
        raise CopyVerificationError(f"{path}: read {size} bytes, source said {expected_size} (or its MD5 differs)")
