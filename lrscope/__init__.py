"""``python -m lrscope``: the `lrscope` command as a module, so that ``torchrun … -m lrscope train …`` can start it."""
