"""`python -m dsr.signing`: see dsr/signing/command.py."""

import sys

from dsr.signing.command import main

sys.exit(main())
