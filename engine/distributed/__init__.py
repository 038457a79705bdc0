"""Training on several processes with PyTorch's own DistributedDataParallel, started by torchrun.

``world`` says which process this is; ``sharding`` is how a global batch is split; ``model`` wraps
the network in DDP; ``command_sync`` keeps every rank's commands at the same step; ``launcher`` is
`lrscope train --nproc N`.
"""
