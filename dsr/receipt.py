"""`python -m dsr.receipt verify|summary FILE`: check a signed delete receipt, as every receipt's summary says.

`--jwks URL|FILE` gives the issuer's public keys (GET /api/keys); receipts issued before ES256 are checked with
the old HMAC key (`--key-file PATH` or RECEIPT_SIGNING_KEY). `summary` also writes a short HTML page for the
data subject (`-o OUT.html`, else stdout). Exit 0 valid, 1 invalid, 2 when it cannot check (no key given,
unreadable file or key set). The receipt itself: dsr/delete/receipt*.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from dsr import signing
from dsr.delete.receipt_hmac import KEY_ENV
from dsr.delete.receipt_page import render_summary
from dsr.delete.receipt_signature import check


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """`verify FILE` / `summary FILE` with `--jwks URL|FILE` (or the HMAC key): 0 valid, 1 invalid, 2 cannot check."""
    parser = argparse.ArgumentParser(prog="python -m dsr.receipt", description="Check a signed delete receipt.")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("verify", "check a receipt's signature"),
                       ("summary", "check it and write a short HTML summary for the data subject")):
        command = commands.add_parser(name, help=text)
        command.add_argument("file", type=Path, help="the receipt JSON file")
        command.add_argument("--jwks", help="the issuer's public keys: URL of GET /api/keys, or a JWKS file")
        command.add_argument("--key-file", type=Path,
                             help=f"HMAC receipts (issued before ES256): file holding the key (default: env {KEY_ENV})")
        if name == "summary":
            command.add_argument("-o", "--output", type=Path, help="where to write the HTML (default: stdout)")
    args = parser.parse_args(argv)
    env = os.environ if env is None else env
    try:
        receipt = json.loads(args.file.read_text("utf-8"))
    except OSError as exc:
        print(f"error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    except ValueError:
        print(f"INVALID: {args.file} is not JSON", file=sys.stderr)
        return 1
    if not isinstance(receipt, dict):
        print(f"INVALID: {args.file} is not a receipt object", file=sys.stderr)
        return 1
    try:
        keys = signing.key_set(signing.load_jwks(args.jwks)) if args.jwks else None
        hmac_key = args.key_file.read_text("utf-8").rstrip("\r\n") if args.key_file else env.get(KEY_ENV)
        valid, reason = check(receipt, keys=keys, hmac_key=hmac_key)
    except (OSError, ValueError) as exc:  # ReceiptKeyError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.command == "summary":
        source = args.jwks or "the HMAC key"
        html = render_summary(receipt, valid=valid, reason=reason, keys_source=source)
        if args.output:
            args.output.write_text(html, "utf-8")
        else:
            sys.stdout.write(html)
    if valid:
        print(f"valid: receipt {receipt.get('requestId')}: {reason}", file=sys.stderr if args.command == "summary"
              and not args.output else sys.stdout)
        return 0
    print(f"INVALID: {args.file}: {reason}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
