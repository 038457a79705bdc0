"""``python -m engine.cli ARGS``: the headless commands without the window's entry point (used to start child runs)."""

import sys

from . import run_cli

if __name__ == "__main__":
    sys.exit(run_cli(sys.argv[1:]))
