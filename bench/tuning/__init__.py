"""The tuning-quality study: held-out variants, a grid search on each, and every way lrscope picks an LR."""
