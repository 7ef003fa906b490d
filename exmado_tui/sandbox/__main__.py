"""`python -m exmado_tui.sandbox` runs the sandbox server."""

import sys

from exmado_tui.sandbox.cli import main

sys.exit(main())
