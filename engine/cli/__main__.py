"""``python -m engine.cli ARGS``: the headless commands without the window's entry point (used to start child runs)."""

import sys

from . import ignore_signals, run_cli

if __name__ == "__main__":
    status = run_cli(sys.argv[1:])
    ignore_signals()
    sys.exit(status)
