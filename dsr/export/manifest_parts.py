"""The export's file list for manifest.json, listed in bounded parts before the manifest is written.

Listing is the long part of writing a manifest (3.3-4.1 s per 10,000 files here, the Blob SDK's XML parsing: about
an hour at 10 M files, past what one function execution should hold). So each activity call lists up to `PART_FILES`
files from where the previous part stopped and writes them to the scratch area as one JSON-lines part; the
continuation token stays in the scratch area too (never in orchestration history). `read_parts` gives them back in
order, and checks each part still holds the files its listing counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TypedDict

from azure.core.exceptions import ResourceNotFoundError

from dsr.files import FileRecord
from dsr.layout import INDEX, MANIFEST, manifest_part
from dsr.sink import ExportSink

PART_FILES = 200_000  # files a part lists at most: 70-80 s at the listing's pace above
PAGE = 5_000  # the Blob service's largest listing page


class ManifestPart(TypedDict):
    part: int
    files: int  # records written to the part
    done: bool  # the listing reached the last file


class PartMissing(RuntimeError):
    """A part of the file list no longer holds what its listing wrote (the scratch area was changed)."""


def list_part(sink: ExportSink, work: ExportSink, part: int, *, max_files: int = PART_FILES) -> ManifestPart:
    """List the export's files from where part `part - 1` stopped, up to about `max_files` (whole pages), into
    the scratch part `part`; idempotent (a retry lists the same files again)."""
    token = None
    if part:
        try:
            token = work.blob(manifest_part(part - 1, continuation=True)).download_blob().readall().decode()
        except ResourceNotFoundError:
            raise PartMissing(f"part {part - 1} of the export's file list did not say where part {part} starts: "
                              "list the export again") from None
    after: str | None = None
    count = 0

    def lines() -> Iterator[bytes]:
        nonlocal after, count
        listed = 0
        for page, continuation in sink.list_file_pages(token, per_page=min(PAGE, max_files)):
            after = continuation
            listed += len(page)
            for record in page:
                if record["path"] not in (MANIFEST, INDEX):  # an earlier attempt's: written again after
                    count += 1
                    yield (json.dumps(record) + "\n").encode("utf-8")
            if listed >= max_files:
                return

    work.write_stream(manifest_part(part), lines())
    if after:
        work.write_bytes(manifest_part(part, continuation=True), after.encode())
    return ManifestPart(part=part, files=count, done=after is None)


def read_parts(work: ExportSink, files_per_part: list[int]) -> Iterator[FileRecord]:
    """Every record of the parts, in order (sorted by path, as storage lists them); `PartMissing` when a part
    does not hold the number of files its listing wrote."""
    for part, expected in enumerate(files_per_part):
        found = 0
        for record in work.read_lines(manifest_part(part)):
            found += 1
            yield FileRecord(path=record["path"], size=record["size"], sha256=record["sha256"])
        if found != expected:
            raise PartMissing(f"part {part} of the export's file list holds {found} files, its listing wrote "
                              f"{expected}: list the export again")
