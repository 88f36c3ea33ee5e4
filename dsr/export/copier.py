"""Copies images and model files from SAS URLs into the export, server-side when possible, and verifies them.

The preferred path is a synchronous server-side copy (Blob "Copy From URL"), so the bytes go storage to
storage. When the source refuses it (not a blob URL, or a service that can't reach the source), the bytes
are streamed through in chunks with bounded memory. Either way the written blob is read back once to
record its sha256 and checked against the size (and MD5, where known) the source reported.
"""

from __future__ import annotations

import hashlib
import mimetypes
from dataclasses import dataclass

from azure.core.exceptions import HttpResponseError
from azure.storage.blob import BlobClient, ContentSettings

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
STREAM_CHUNK = 1024 * 1024


class CopyVerificationError(RuntimeError):
    """The written blob does not match what the source reported."""

    error_code = "CopyVerificationFailed"


@dataclass(frozen=True)
class SourceInfo:
    """What the source reports about itself before the copy."""

    size: int
    content_type: str
    md5: bytes | None


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

    def source_info(self, source_url: str) -> SourceInfo:
        props = BlobClient.from_blob_url(source_url).get_blob_properties()
        settings = props.content_settings
        md5 = bytes(settings.content_md5) if settings.content_md5 else None
        return SourceInfo(size=props.size, content_type=settings.content_type or "", md5=md5)

    def copy(self, source_url: str, path_stem: str) -> FileRecord:
        """Copy `source_url` to `{path_stem}.{ext}`; an existing verified copy of the same size is kept."""
        source = self.source_info(source_url)
        path = f"{path_stem}.{extension_for(source.content_type, source_url)}"
        existing = self.sink.existing(path)
        if existing is not None and existing["size"] == source.size:
            return existing
        copied = self.server_side and self._server_copy(source_url, path)
        if not copied:
            self._stream_copy(source_url, path, source)
        return self._verify(path, source)

    def _server_copy(self, source_url: str, path: str) -> bool:
        try:
            self.sink.blob(path).start_copy_from_url(source_url, requires_sync=True)
            return True
        except HttpResponseError as exc:
            if exc.status_code in (400, 403, 404, 409, 501) or exc.status_code is None:
                return False  # the destination can't reach or won't copy this source: stream it instead
            raise

    def _stream_copy(self, source_url: str, path: str, source: SourceInfo) -> None:
        download = BlobClient.from_blob_url(source_url).download_blob()
        self.sink.blob(path).upload_blob(
            download.chunks(),
            length=source.size,
            overwrite=True,
            content_settings=ContentSettings(content_type=source.content_type or None),
        )

    def _verify(self, path: str, source: SourceInfo) -> FileRecord:
        blob = self.sink.blob(path)
        digest = hashlib.sha256()
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        for chunk in blob.download_blob().chunks():
            digest.update(chunk)
            md5.update(chunk)
            size += len(chunk)
        if size != source.size or (source.md5 is not None and md5.digest() != source.md5):
            blob.delete_blob()
            raise CopyVerificationError(f"{path}: copy has {size} bytes, source said {source.size} (or MD5 differs)")
        sha = digest.hexdigest()
        blob.set_blob_metadata({SHA256_METADATA: sha})
        return FileRecord(path=path, size=size, sha256=sha)
