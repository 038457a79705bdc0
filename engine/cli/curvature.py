"""`lrscope curvature`: λmax of the training loss and the LR bound it implies, for a fresh or stored model."""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..curvature.settings import BN_MODES, MAX_ITER, CurvatureSettings
from ..events import CurvatureMeasured, HealthLogged
from .common import RUNS_DIR_HELP, CliError, add_training_options, cache_dir, config_from, path_arg, say, say_log

FEW_PROBE_IMAGES = 16  # under this, a probe batch's λmax is rough: 6 images gave 3.4× the full set's


def add_parser(commands) -> None:
    """Register the command."""
    parser = commands.add_parser(
        "curvature", help="measure λmax of the loss and the stability bound on the LR",
        description="Measure the largest Hessian eigenvalue of the training loss on a fixed batch (Lanczos iteration) "
                    "and the LR above which the optimizer is unstable in theory, for fresh weights or a stored run.")
    add_training_options(parser)
    parser.add_argument("--checkpoint", metavar="RUN", help="measure a stored run's newest checkpoint (its own config and data)")
    parser.add_argument("--runs-dir", type=path_arg, help=RUNS_DIR_HELP)
    defaults = CurvatureSettings()
    parser.add_argument("--bn-mode", choices=BN_MODES, default=defaults.bn_mode,
                        help="BatchNorm on the probe batch's statistics (as in training) or on its running averages")
    parser.add_argument("--tol", type=float, default=defaults.tol, help=f"stop once λmax is known to this relative error (default {defaults.tol:g})")
    parser.add_argument("--max-iter", type=int, default=defaults.max_iter, help=f"cap on Hessian-vector products, 2 to {MAX_ITER}; each keeps one model-sized vector (default {defaults.max_iter})")
    parser.add_argument("--json", action="store_true", help="print the measurement as one JSON object")
    for action in parser._actions:
        if action.dest == "data":
            action.required = False  # a stored run brings its own
    parser.set_defaults(handler=run)


def _session(args: argparse.Namespace) -> tuple:
    """A fresh session from the options, or a stored run's session at its newest checkpoint."""
    # Imported here: they load torch, which building the parser (every command) must not wait for.
    from ..models.setup import weights_label
    from ..resume import load_run
    from ..store.paths import runs_root
    from ..store.reader import find_run
    from ..training.session import build_session
    from ..training.state import restore
    from .setup import open_dataset

    if args.checkpoint:
        run_dir = find_run(runs_root(args.runs_dir), args.checkpoint)
        setup = load_run(run_dir, cache_dir(args), warn=lambda text: say(f"warning: {text}"))
        # One process measures, whatever number trained the run (its global batch kept, as `resume --nproc` does).
        session = build_session(setup.config.for_world(1), setup.dataset, log=say_log)
        restore(session, setup.checkpoint["state"])
        return session, {"run": run_dir.name, "checkpoint_step": int(setup.checkpoint["step"]), "weights": None}
    if args.data is None:
        raise CliError("give --data DIR (a dataset folder) or --checkpoint RUN (a stored run)")
    config = config_from(args)
    origin = {"run": None, "checkpoint_step": None, "weights": weights_label(config.model, config.pretrained, config.weights)}
    return build_session(config, open_dataset(config, args), log=say_log), origin


def run(args: argparse.Namespace) -> int:
    """Measure once and print the result."""
    settings = CurvatureSettings(tol=args.tol, max_iter=args.max_iter, bn_mode=args.bn_mode)
    try:
        settings.validate()
    except ValueError as error:
        raise CliError(f"curvature: {error}") from None
    from ..curvature.probe import CurvatureProbe

    session, origin = _session(args)
    measurement = CurvatureProbe(settings, seed=session.config.seed).measure(session, origin["checkpoint_step"] or 0, trigger="cli")
    if args.json:
        print(json.dumps({**measurement.to_dict(), **origin}))
    else:
        print_measurement(measurement, origin)
    return 0


def print_measurement(m: CurvatureMeasured, origin: dict) -> None:
    """The measurement in words."""
    # "fresh weights" was said of ImageNet weights loaded with --pretrained: only the new head is fresh then.
    where = (f"{origin['run']} at step {origin['checkpoint_step']}" if origin["run"] else
             f"{origin['weights']}, a new head" if origin["weights"] else "fresh weights")
    state = "converged" if m.converged else "did NOT converge (raise --max-iter)"
    print(f"λmax {m.lambda_max:.4g} ({where}): {m.iterations} Hessian-vector products, {state}; "
          f"BatchNorm on {m.bn_mode} statistics; probe batch of {m.batch_size}; {m.seconds:.2f} s")
    if m.preconditioned:
        print("  λmax is Adam's preconditioned sharpness λ(P⁻¹H), with its current P")
    elif m.optimizer.startswith("adam"):
        print("  Adam has taken no step yet, so its preconditioner does not exist: λmax is the plain Hessian's and there is no bound")
    print(f"optimizer {m.optimizer}: stable in theory while LR < {m.formula} (LR·λ < {m.constant:.3g}); a guide, not a law")
    # Fresh weights are measured against the schedule's peak (the optimizer's LR before the first step): "LR 0.2" read as
    # the LR of step 0, a one-cycle's 0.008.
    lr_word = "LR" if origin["run"] else "peak LR"
    for group, lr, bound, dead in zip(m.groups, m.lrs, m.bounds, m.dead_relu):
        share = f"{100 * lr / bound:.0f}% of it" if np.isfinite(bound) and bound > 0 else "no bound"
        dead_text = f", dead ReLU units {100 * dead:.1f}%" if np.isfinite(dead) else ""
        print(f"  {group:<10} {lr_word} {lr:<9.3g} bound {bound:<9.3g} ({share}){dead_text}")
    if not np.isfinite(m.dead_relu).any():  # the column was missing without a word
        print("  dead units: not counted (the model has no nn.ReLU or nn.ReLU6 layers)")
    if m.batch_size < FEW_PROBE_IMAGES:  # it was reported as any other
        print(f"  a probe batch of {m.batch_size} images gives a rough λmax: with more images per class it is steadier")
    if np.any(m.lrs > m.bounds):  # 299% of the bound for a fine-tune's default LR, with no word of what that means
        print("  an LR above its bound is a warning from theory: networks with BatchNorm often train above it "
              "(docs/curvature.md says when it holds); the loss tells")


class CurvatureRecord:
    """Collects a run's curvature measurements and its latest optimizer health, for ``--json``."""

    def __init__(self):
        self.measurements: list[dict] = []
        self.health: dict | None = None

    def __call__(self, event) -> None:
        if isinstance(event, CurvatureMeasured):
            self.measurements.append(event.to_dict())
        elif isinstance(event, HealthLogged) and len(event.steps):
            self.health = {"step": int(event.steps[-1]), "groups": list(event.groups),
                           "grad_norm": event.grad_norm[-1].tolist(), "update_ratio": event.update_ratio[-1].tolist()}

    def to_dict(self) -> dict:
        """``curvature``: every measurement; ``health``: the last health values per group (None if none)."""
        return {"curvature": self.measurements, "health": self.health}
