"""`python -m dsr.signing jwks|rotate [--key-dir DIR]`: operators show the public key set or rotate a local key."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from dsr.settings import KEY_DIR_SETTING, KEY_VAULT_SETTING, Settings
from dsr.signing.keys import signer_for
from dsr.signing.local import LocalKeySigner
from dsr.signing.tokens import SigningError, jwks


def main(argv: Sequence[str] | None = None, *, env: Mapping[str, str] | None = None) -> int:
    """`jwks` prints the public key set; `rotate` makes a new local key (retired keys stay in the JWKS)."""
    parser = argparse.ArgumentParser(prog="python -m dsr.signing", description=main.__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("jwks", "print the JWKS"), ("rotate", "new current local key; the old one is retired")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--key-dir", type=Path, help=f"local key directory (default: {KEY_DIR_SETTING})")
    args = parser.parse_args(argv)
    env = dict(os.environ if env is None else env)
    if args.key_dir:
        env[KEY_DIR_SETTING], env[KEY_VAULT_SETTING] = str(args.key_dir), ""
    try:
        signer = signer_for(Settings.from_env(env))
        if args.command == "rotate":
            if not isinstance(signer, LocalKeySigner):
                print("error: rotate a Key Vault key in the vault (az keyvault key rotate)", file=sys.stderr)
                return 2
            print(f"new signing key {signer.rotate()} in {signer.directory}")
            return 0
        print(json.dumps(jwks(signer), indent=2))
        return 0
    except SigningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
