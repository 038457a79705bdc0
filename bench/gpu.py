"""10. On an NVIDIA GPU: lrscope's job against a bare PyTorch loop, mixed precision, and the GPU against the CPU.

A GPU runs a step's kernels while Python queues the next step's, so any step that waits for the
GPU (reading the loss, a NaN check) costs the whole queue. The job reads its loss once per event
block, not per step; these rows check that on a launch-bound small model and on a compute-bound
larger one. Only whole runs are timed (train_seconds, validation excluded): a step's duration on a
GPU means nothing without a synchronization that would itself change what is measured.

Without CUDA there are no rows: the module says so and returns none.
"""

from __future__ import annotations

import torch

from engine.data import prepare_dataset

from .common import Row, alternate, median_spread, ratio_row
from .workloads import SAMPLE, bare_loop, config, lrscope_job

# (label, settings changes, image size, what mixed precision must give): the small CNN is launch-bound on any GPU,
# so autocast's extra casts may cost more than they save; ResNet-50 at 96 px and batch 256 keeps the GPU's matrix
# units busy, which is where mixed precision must pay.
SMALL = ("small CNN, 32 px, batch 64", {"model": "small_cnn", "batch_size": 64}, 32, None)
LARGE = ("ResNet-50, 96 px, batch 256", {"model": "resnet50", "batch_size": 256}, 96, 1.0)


def run(quick: bool) -> list:
    """Rows: job ÷ bare loop on the GPU (small and large model, float32 and mixed precision), AMP ÷ float32, GPU ÷ CPU."""
    if not torch.cuda.is_available():
        print("gpu: no CUDA GPU here; no rows", flush=True)
        return []
    repeats = 1 if quick else 3
    name = torch.cuda.get_device_name(0)
    rows = []
    for label, changes, size, amp_target in (SMALL, LARGE):
        dataset = prepare_dataset(SAMPLE, resolution=size)
        epochs = 1 if quick else (10 if size == 32 else 12)
        per_epoch = len(dataset.train_index) // changes["batch_size"]
        steps = epochs * per_epoch
        timings = {}
        for amp in (False, True):
            settings = config(epochs=epochs, device="cuda", amp=amp, **changes)
            bare_loop(dataset, settings, per_epoch)  # warm-up: cuDNN's algorithm search, the allocator's pool
            lrscope_job(dataset, config(epochs=1, device="cuda", amp=amp, **changes))
            ours, bare = timings[amp] = _job_and_loop(dataset, settings, steps, repeats)
            precision = "bfloat16 autocast" if amp else "float32"
            rows.append(ratio_row("gpu", f"steps/s, lrscope job ÷ bare loop, {label}, {precision}", bare, ours, target=0.98,
                                  at_least=True, note=f"{name}; {steps} steps a run; {1000 * min(ours) / steps:.2f} ms a step (lrscope, best run)"))
        rows.append(ratio_row("gpu", f"steps/s, mixed precision ÷ float32, lrscope job, {label}", timings[False][0], timings[True][0],
                              target=amp_target, note="bfloat16 autocast, no grad scaler (the GPU supports bfloat16); the two "
                              "precisions measured one after the other, not interleaved"))
    rows.append(_gpu_over_cpu(repeats if not quick else 1, name))
    return rows


def _job_and_loop(dataset, settings, steps: int, repeats: int) -> tuple[list[float], list[float]]:
    """Seconds of whole runs, lrscope's job and the bare loop interleaved."""
    return alternate(lambda: lrscope_job(dataset, settings).train_seconds, lambda: bare_loop(dataset, settings, steps), repeats)


def _gpu_over_cpu(repeats: int, name: str) -> Row:
    """Samples/s of the job on the GPU ÷ on this machine's CPU, small CNN: what a user gains by having a GPU at all."""
    dataset = prepare_dataset(SAMPLE)
    ratios = []
    for _ in range(repeats):
        cpu = lrscope_job(dataset, config(epochs=3, device="cpu")).train_seconds
        gpu = lrscope_job(dataset, config(epochs=3, device="cuda")).train_seconds
        ratios.append(cpu / gpu)
    value, spread = median_spread(ratios)
    return Row("gpu", "steps/s, lrscope job on the GPU ÷ on the CPU, small CNN, 32 px, batch 64", value, spread, "", "", None,
               f"{name} against {torch.get_num_threads()} CPU threads; a model this small leaves the GPU mostly idle")


