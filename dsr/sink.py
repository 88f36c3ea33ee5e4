"""Writes export files under one prefix of the export container; every write is idempotent and hashed."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, TypeVar

from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobClient, ContainerClient, ContentSettings

from dsr.canonical_json import sorted_json
from dsr.files import SHA256_METADATA, FileRecord
from dsr.redact import scrub

BLOCK_SIZE = 4 * 1024 * 1024  # staged block size for streamed files; bounds memory per stream
_CONTENT_TYPES = {
    ".json": "application/json",
    ".jsonl": "application/x-ndjson",
    ".html": "text/html; charset=utf-8",
}
T = TypeVar("T")


def content_type_for(path: str) -> str:
    """The Content-Type for an export file, by extension."""
    for ext, content_type in _CONTENT_TYPES.items():
        if path.endswith(ext):
            return content_type
    return "application/octet-stream"


def json_bytes(obj: Any) -> bytes:
    """Stable, readable JSON (UTF-8, sorted keys) so a rewritten file hashes the same; secrets scrubbed."""
    return json.dumps(scrub(obj), indent=2, sort_keys=True, ensure_ascii=False).encode("utf-8") + b"\n"


def jsonl_line(obj: Any) -> bytes:
    """One JSON Lines record; secrets scrubbed."""
    return sorted_json(scrub(obj)) + b"\n"


class ExportSink:
    """Files under `{prefix}/` in one container; paths given to methods are relative to the prefix."""

    def __init__(self, container: ContainerClient, prefix: str, *, makes_container: dict[str, str] | None = None,
                 ) -> None:
        """`makes_container`: the container's metadata, when the first write that finds it missing makes it (a
        request's scratch container, dsr/scratch.py)."""
        self.container = container
        self.prefix = prefix.strip("/")
        self.makes_container = makes_container

    def _upload(self, call: Callable[[], T]) -> T:
        """One upload call; if this sink makes its container and the container is missing, make it and call again."""
        try:
            return call()
        except ResourceNotFoundError as exc:
            if self.makes_container is None or exc.error_code != "ContainerNotFound":
                raise
        with contextlib.suppress(ResourceExistsError):
            self.container.create_container(metadata=self.makes_container)
        return call()

    def name(self, path: str) -> str:
        """The blob name of `path`."""
        return f"{self.prefix}/{path.lstrip('/')}"

    def blob(self, path: str) -> BlobClient:
        return self.container.get_blob_client(self.name(path))

    def write_bytes(self, path: str, data: bytes, *, content_type: str | None = None) -> FileRecord:
        """Upload `data` (replacing any earlier attempt) with its sha256 in metadata."""
        digest = hashlib.sha256(data).hexdigest()
        self._upload(lambda: self.blob(path).upload_blob(
            data,
            overwrite=True,
            metadata={SHA256_METADATA: digest},
            content_settings=ContentSettings(content_type=content_type or content_type_for(path)),
        ))
        return FileRecord(path=path, size=len(data), sha256=digest)

    def write_json(self, path: str, obj: Any) -> FileRecord:
        return self.write_bytes(path, json_bytes(obj))

    def write_stream(self, path: str, chunks: Iterable[bytes], *, content_type: str | None = None) -> FileRecord:
        """Upload a stream as staged blocks (bounded memory), committed once with its sha256."""
        blob = self.blob(path)
        digest = hashlib.sha256()
        size = 0
        block_ids: list[str] = []
        for block in _rechunk(chunks, BLOCK_SIZE):
            block_id = base64.b64encode(f"{len(block_ids):08d}".encode()).decode()
            self._upload(partial(blob.stage_block, block_id, block, length=len(block)))
            block_ids.append(block_id)
            digest.update(block)
            size += len(block)
        hexdigest = digest.hexdigest()
        self._upload(lambda: blob.commit_block_list(
            [BlobBlock(block_id=b) for b in block_ids],
            metadata={SHA256_METADATA: hexdigest},
            content_settings=ContentSettings(content_type=content_type or content_type_for(path)),
        ))
        return FileRecord(path=path, size=size, sha256=hexdigest)

    def write_lines(self, path: str, records: Iterable[Any]) -> tuple[FileRecord, int]:
        """Write records as JSON Lines; returns the file and the number of records."""
        count = 0

        def lines() -> Iterator[bytes]:
            nonlocal count
            for record in records:
                count += 1
                yield jsonl_line(record)

        return self.write_stream(path, lines()), count

    def read_lines(self, path: str) -> Iterator[Any]:
        """Stream a JSON Lines file record by record; a missing file yields nothing."""
        try:
            downloader = self.blob(path).download_blob()
        except ResourceNotFoundError:
            return
        pending = b""
        for chunk in downloader.chunks():
            pending += chunk
            *complete, pending = pending.split(b"\n")
            for line in complete:
                if line:
                    yield json.loads(line)
        if pending.strip():
            yield json.loads(pending)

    def read_json(self, path: str) -> Any | None:
        try:
            return json.loads(self.blob(path).download_blob().readall())
        except ResourceNotFoundError:
            return None

    def find(self, path_stem: str) -> FileRecord | None:
        """The completed file `{path_stem}.{any extension}`, if an earlier write finished it."""
        start = len(self.prefix) + 1
        for item in self.container.list_blobs(name_starts_with=self.name(path_stem) + ".", include=["metadata"]):
            digest = (item.metadata or {}).get(SHA256_METADATA)
            if digest and "/" not in item.name[len(self.name(path_stem)) :]:
                return FileRecord(path=item.name[start:], size=item.size, sha256=digest)
        return None

    def list_files(self) -> Iterator[FileRecord]:
        """Every file under the prefix, with size and sha256 (hashing any file written without one)."""
        for page, _ in self.list_file_pages():
            yield from page

    def list_file_pages(self, token: str | None = None, *, per_page: int | None = None
                        ) -> Iterator[tuple[list[FileRecord], str | None]]:
        """`list_files` page by page from `token` (where an earlier listing stopped), each page with the token that
        continues after it (None after the last)."""
        start = len(self.prefix) + 1
        pages = self.container.list_blobs(name_starts_with=self.prefix + "/", include=["metadata"],
                                          results_per_page=per_page).by_page(continuation_token=token)
        for items in pages:
            page = []
            for item in items:
                path = item.name[start:]
                digest = (item.metadata or {}).get(SHA256_METADATA) or self.hash_blob(path)[1]
                page.append(FileRecord(path=path, size=item.size, sha256=digest))
            yield page, pages.continuation_token or None

    def hash_blob(self, path: str) -> tuple[int, str]:
        """Stream a blob and return (size, sha256) without holding it in memory."""
        digest = hashlib.sha256()
        size = 0
        for chunk in self.blob(path).download_blob().chunks():
            digest.update(chunk)
            size += len(chunk)
        return size, digest.hexdigest()

    def delete_all(self) -> int:
        """Delete every blob under the prefix (scratch areas); returns how many."""
        names = [b.name for b in self.container.list_blobs(name_starts_with=self.prefix + "/")]
        for start in range(0, len(names), 256):
            batch = names[start : start + 256]
            try:
                self.container.delete_blobs(*batch)
            except HttpResponseError:
                for name in batch:  # batch API unavailable: delete one by one
                    with contextlib.suppress(ResourceNotFoundError):
                        self.container.delete_blob(name)
        return len(names)


def _rechunk(chunks: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup a byte stream into pieces of `size` bytes (the last may be shorter, none empty)."""
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
