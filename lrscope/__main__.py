"""``python -m lrscope ARGS`` runs ``lrscope ARGS`` (what torchrun's ``-m lrscope`` starts on every rank)."""

import sys

from .command import main

if __name__ == "__main__":
    sys.exit(main())
