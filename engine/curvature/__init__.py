"""Curvature of the training loss (λmax by Lanczos iteration on Hessian-vector products), the LR bound it
implies for the optimizer in use, and optimizer health; see docs/curvature.md.

Submodules are imported by name: ``cadence`` and ``settings`` stay free of torch, so the window can use them.
"""
