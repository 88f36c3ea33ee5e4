"""Records of the files an export writes: path relative to the request prefix, size, sha256."""

from typing import TypedDict


class FileRecord(TypedDict):
    """One exported file, as listed in manifest.json."""

    path: str
    size: int
    sha256: str


SHA256_METADATA = "sha256"  # blob metadata key holding a file's hex sha256, set when it is written
