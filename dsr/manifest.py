"""`python -m dsr.manifest verify DIR --jwks URL|FILE`: check a downloaded export, as every signed index.html says
(the signature, the signed statement, then every file's size and sha256; dsr/export/manifest.py).

Exit 0 valid, 1 invalid, 2 cannot check (no usable key set).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from dsr import signing
from dsr.export.manifest import verify_export


def main(argv: Sequence[str] | None = None) -> int:
    """`verify DIR --jwks URL|FILE`: 0 valid, 1 invalid, 2 cannot check."""
    parser = argparse.ArgumentParser(prog="python -m dsr.manifest", description="Check a downloaded export.")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check manifest.json's signature, then every file against it")
    verify.add_argument("folder", type=Path, help="the export's folder (holding manifest.json)")
    verify.add_argument("--jwks", required=True, help="the issuer's public keys: URL of GET /api/keys, or a file")
    args = parser.parse_args(argv)
    try:
        keys = signing.key_set(signing.load_jwks(args.jwks))
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    valid, findings = verify_export(args.folder, keys)
    for line in findings:
        print(line, file=sys.stdout if valid else sys.stderr)
    print(("valid: " if valid else "INVALID: ") + str(args.folder), file=sys.stdout if valid else sys.stderr)
    return 0 if valid else 1


if __name__ == "__main__":
    sys.exit(main())
