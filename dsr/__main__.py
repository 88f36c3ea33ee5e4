"""`python -m dsr`: the command-line client of the request API (the `cli` package; installed as `dsr`)."""

from cli.main import main

raise SystemExit(main())
