"""lrscope: tune the learning-rate schedule of an image classifier for its dataset.

`python main.py ARGS` in a checkout is `lrscope ARGS` (the command lives in lrscope/command.py).
"""

import sys

from lrscope.command import main

if __name__ == "__main__":
    sys.exit(main())
