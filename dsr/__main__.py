"""`python -m dsr`: the command-line client of the request API (see dsr/cli.py)."""

from dsr.cli import main

raise SystemExit(main())
