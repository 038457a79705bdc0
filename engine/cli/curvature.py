"""`lrscope curvature`: λmax of the training loss and the LR bound it implies, for a fresh or stored model."""

from __future__ import annotations

import argparse
import json

import numpy as np

from ..curvature.settings import BN_MODES, MAX_ITER, CurvatureSettings
from ..errors import SettingError
from ..events import CurvatureMeasured, HealthLogged
from .common import RUNS_DIR_HELP, CliError, add_training_options, cache_dir, config_from, path_arg, say, say_log

FEW_PROBE_IMAGES = 16  # under this, a probe batch's λmax is rough: 6 images gave 3.4× the full set's


def add_parser(commands) -> None:
    """Register the command."""
    parser = commands.add_parser(
        "curvature", help="measure λmax of the loss and the stability bound on the LR",
        description="Measure the largest Hessian eigenvalue of the training loss on a fixed batch (Lanczos iteration) "
                    "and the LR above which the optimizer is unstable in theory, for fresh weights or a stored run.")
    add_training_options(parser, schedule_file=False)
    parser.add_argument("--checkpoint", metavar="RUN", help="measure a stored run's newest checkpoint (its own config and data)")
    parser.add_argument("--runs-dir", type=path_arg, help=RUNS_DIR_HELP)
    defaults = CurvatureSettings()
    parser.add_argument("--bn-mode", choices=BN_MODES, default=defaults.bn_mode,
                        help=f"BatchNorm on the probe batch's statistics (as in training) or on its running averages "
                             f"(default {defaults.bn_mode})")
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
    from ..schedules.history_codec import run_schedule_from_dict
    from ..store.paths import runs_root
    from ..store.reader import find_run
    from ..training.job import default_run_schedule
    from ..training.session import build_session
    from ..training.state import restore
    from .setup import open_dataset

    if args.checkpoint:
        refuse_unused_with_checkpoint(args)
        run_dir = find_run(runs_root(args.runs_dir), args.checkpoint)
        setup = load_run(run_dir, cache_dir(args), warn=lambda text: say(f"warning: {text}"), log=say)
        # One process measures, whatever number trained the run (its global batch kept, as `resume --nproc` does).
        session = build_session(setup.config.for_world(1), setup.dataset, log=say_log)
        restore(session, setup.checkpoint["state"])
        step = int(setup.checkpoint["step"])
        timeline = run_schedule_from_dict(json.loads(setup.checkpoint["run_schedule"])).timeline
        finished = step >= timeline.total_steps
        # A finished run plans nothing more: its own peak, for the next run (its last, annealed LR told nothing).
        return session, {"run": run_dir.name, "checkpoint_step": step, "weights": None, "finished": finished}, \
            timeline, 0 if finished else step
    if args.data is None:
        raise CliError("give --data DIR (a dataset folder) or --checkpoint RUN (a stored run)")
    config = config_from(args)
    session = build_session(config, open_dataset(config, args), log=say_log)
    origin = {"run": None, "checkpoint_step": None, "weights": weights_label(config.model, config.pretrained, config.weights),
              "finished": False}
    return session, origin, default_run_schedule(config, session.steps_per_epoch, session.group_names).timeline, 0


# What --checkpoint still uses of the training options: where the stored run's images are decoded.
USED_WITH_CHECKPOINT = ("cache_dir", "no_cache")


def refuse_unused_with_checkpoint(args: argparse.Namespace) -> None:
    """CliError naming the training options given with --checkpoint, which measures the stored run with its own config
    and data: `--model resnet18 --image-size 32` measured the run's small_cnn at 8 px without a word (helper-82)."""
    options = argparse.ArgumentParser(add_help=False)
    add_training_options(options)
    given = [action.option_strings[0] for action in options._actions
             if action.dest not in USED_WITH_CHECKPOINT and getattr(args, action.dest) != action.default]
    if given:
        raise CliError(f"{', '.join(given)}: not used with --checkpoint, which measures the stored run with its own config "
                       f"and data; leave {'them' if len(given) > 1 else 'it'} out, or leave out --checkpoint to measure fresh weights")


def peaks(timeline, names: tuple[str, ...], step: int) -> list[int]:
    """Where to weigh the LRs against the bound: the highest LR ``timeline`` plans from ``step`` on, and, when some group
    is frozen there (a fine-tune's head-only phase), the highest once every group trains. A fine-tune was weighed at
    one LR for every group, its frozen ones too (330% of the bound for a stem that trains 200× lower: helper-77)."""
    from ..schedules.sampling import highest_from, steps_from

    first, _ = highest_from(timeline, step)
    steps = steps_from(timeline, first)
    frozen = timeline.group_settings(steps, names)[1].any(axis=1)
    if not frozen[0] or frozen.all():
        return [first]
    return [first, highest_from(timeline, int(steps[np.argmin(frozen)]))[0]]


def set_step(session, timeline, step: int) -> None:
    """The optimizer's LRs and momentum as ``timeline`` plans them at ``step`` (a frozen group's LR is 0)."""
    from ..training.plan import Plan
    from ..training.step import apply_hyperparameters

    apply_hyperparameters(session.optimizer, Plan(timeline, session.group_names, session.config.momentum).at(step))


def run(args: argparse.Namespace) -> int:
    """Measure once and print the result."""
    settings = CurvatureSettings(tol=args.tol, max_iter=args.max_iter, bn_mode=args.bn_mode)
    try:
        settings.validate()
    except SettingError as error:  # every setting is the option of its name: "iteration cap" did not say --max-iter
        raise CliError(f"--{error.field.replace('_', '-')}: {error.reason}") from None
    from ..curvature.probe import CurvatureProbe

    session, origin, timeline, step = _session(args)
    probe, measured = CurvatureProbe(settings, seed=session.config.seed), []
    for peak in peaks(timeline, session.group_names, step):
        set_step(session, timeline, peak)
        measured.append((peak, probe.measure(session, origin["checkpoint_step"] or 0, trigger="cli")))
    if args.json:  # the head-only phase's, and the phase after every group is unfrozen as "after_unfreeze"
        shown = [{**m.to_dict(), **origin, "lrs_at_step": peak} for peak, m in measured]
        # "state" and "exit_status" as every command's object has them (only its error object had them: helper-82)
        print(json.dumps({"state": "finished", "exit_status": 0, **shown[0], "after_unfreeze": shown[1] if len(shown) > 1 else None}))
    else:
        for index, (peak, m) in enumerate(measured):
            print_measurement(m, origin, peak, again=index > 0)
    return 0


def print_measurement(m: CurvatureMeasured, origin: dict, step: int, again: bool = False) -> None:
    """The measurement in words, against each group's LR at ``step``; ``again``: the one once every group trains."""
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
    # Measured against the schedule's highest LRs, the groups' own: "LR 0.2" read as the LR of step 0, a one-cycle's 0.008.
    planned = ("the highest once every group trains" if again else "its peak (it has finished)" if origin["finished"] else
               "the highest it still plans" if origin["run"] else "the schedule's peak")
    print(f"each group's LR at {planned}, step {step} (a frozen group has none, and no bound)")
    for group, lr, bound, dead in zip(m.groups, m.lrs, m.bounds, m.dead_relu):
        share = f"{100 * lr / bound:.0f}% of it" if np.isfinite(bound) and bound > 0 else "no bound"
        dead_text = f", dead ReLU units {100 * dead:.1f}%" if np.isfinite(dead) else ""
        bound_text = f"{bound:<9.3g}" if np.isfinite(bound) else f"{'–':<9}"
        print(f"  {group:<10} peak LR {lr:<9.3g} bound {bound_text} ({share}){dead_text}")
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
