"""lrscope's engine: data, models, training, schedules, range test and run store.

Pure Python and PyTorch; it never imports Qt. Importing this package is cheap:
torch is imported only by the modules that train.
"""

__version__ = "0.1.0"
