"""What every command shares: the training options, errors as one line, and the exit statuses."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from ..config import MODEL_NAMES, OPTIMIZER_NAMES, PRETRAINED_LR, TrainConfig, field_error
from ..distributed.launcher import launched_by_torchrun, tell_the_launcher_why
from ..files import NotARegularFile, refuse_to_replace
from ..schedules.presets import PRESETS
from ..schedules.schedule_file import ScheduleFile, load_schedule
from ..store.paths import cache_root, tunes_root
from ..text import printable

# Exit statuses, documented in the README.
FINISHED = 0
FAILED = 1  # an unexpected error ended the run (its message is printed)
NO_RESULT = FAILED  # a tune with no winner, a range test with no recommendation: nothing to use (why is printed)
USAGE_ERROR = 2  # bad options or unusable input (a dataset, a schedule file, a run folder)
FAULT_STOPPED = 3  # the run stopped on a fault (loss blow-up after the rollbacks, out of memory, dataset gone)
STORE_FAILED = 4  # the run store could not be written (disk full…); what was written stays resumable
RUN_IN_USE = 5  # another process owns the run
NOT_ANSWERED = 124  # ctl: sent, but not answered within --timeout (as `timeout` exits); the run applies it at its next step unless it stops first
INTERRUPTED = 130  # stopped before its end (Ctrl-C, SIGTERM, a Stop command); resumable


class CliError(Exception):
    """A usage or data problem: printed as one line, exit status 2."""


def add_training_options(parser: argparse.ArgumentParser, *, schedule_file: bool = True, data_required: bool = True) -> None:
    """The options that define a training run (shared by train, tune, range-test and curvature). ``schedule_file``: the
    command has --schedule, whose file may set some defaults (its help says so only then); ``tune --resume`` takes its
    tune's data, so --data is not required there."""
    d = TrainConfig()

    def or_file(alternative: str) -> str:
        return f", or {alternative}" if schedule_file else ""

    parser.add_argument("--data", required=data_required, type=path_arg, help="dataset folder (ImageFolder layout: one subfolder per class)")
    parser.add_argument("--model", default=d.model, metavar="MODEL",
                        help=f"one of {', '.join(MODEL_NAMES)}, or timm:NAME with timm installed (default {d.model})")
    parser.add_argument("--optimizer", default=d.optimizer, choices=OPTIMIZER_NAMES,
                        help=f"sgd (with --momentum and --nesterov), adam or adamw (default {d.optimizer})")
    parser.add_argument("--lr", type=float, default=None, help=f"peak learning rate (default {d.lr}; {PRETRAINED_LR} with --pretrained)")
    parser.add_argument("--momentum", type=float,
                        help=f"SGD momentum or Adam beta1 (default {d.momentum:g}" + or_file("the one a --schedule file was trained with") + ")")
    parser.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    parser.add_argument("--weight-decay", type=float,
                        help=f"L2 weight decay (default {d.weight_decay:g}" + or_file("the one a --schedule file's tune chose") + ")")
    parser.add_argument("--batch-size", type=int, help=f"images per step, per process when several processes train (default "
                        f"{d.batch_size}" + or_file("the global batch a --schedule file was tuned at, split over the processes") + ")")
    parser.add_argument("--epochs", type=int, help=f"length of the run (default {d.epochs}" + or_file("a --schedule file's") + ")")
    parser.add_argument("--shape", choices=PRESETS,
                        help=f"schedule shape{' when no --schedule file is given' if schedule_file else ''} (default {d.shape})")
    parser.add_argument("--group-lr", action="append", default=[], metavar="GROUP=MULT",
                        help="LR multiplier of a layer group by name, e.g. head=10 or all=0.1 (repeatable; groups not named get 1)")
    parser.add_argument("--image-size", type=int, help="training resolution in pixels (0: automatic from the images; "
                        f"default {d.image_size}" + or_file("the one a --schedule file was tuned at") + ")")
    parser.add_argument("--val-fraction", type=float, default=d.val_fraction,
                        help=f"share of the images held out for validation when the folder has no val/ split (default {d.val_fraction:g})")
    parser.add_argument("--device", default=d.device, help=f"auto, cpu, cuda, cuda:N or mps (default {d.device}: a GPU when there is one)")
    parser.add_argument("--seed", type=int, default=d.seed, help=f"seed of the initial weights and the data order (default {d.seed})")
    parser.add_argument("--amp", action="store_true", help="mixed precision (CUDA GPUs only; elsewhere the run says so and trains in float32)")
    parser.add_argument("--augment", default=d.augment, choices=("none", "shift", "shift+flip"),
                        help="training images moved at random by up to an eighth of their size (shift), and mirrored left-right "
                             f"at random too (shift+flip), or left as they are (none) (default {d.augment})")
    parser.add_argument("--workers", type=int, default=d.workers, help=f"loader processes for datasets that stream from disk (default {d.workers})")
    parser.add_argument("--memory-budget-mb", type=int, default=d.memory_budget_mb, metavar="MB",
                        help=f"decoded images are kept in memory up to this size, else they stream from disk (default {d.memory_budget_mb})")
    parser.add_argument("--curvature-every", default=d.curvature_every, metavar="N|auto|off",
                        help="measure λmax and the stability bound every N steps; auto (default) keeps it within 5%% of training time")
    parser.add_argument("--weights", default=d.weights, help="local PyTorch weights file to start from (with --pretrained: "
                        "the pretrained weights, read from this file instead of the torch hub cache)")
    tuning = parser.add_argument_group("fine-tuning a pretrained model (see docs/fine-tuning.md)")
    tuning.add_argument("--pretrained", nargs="?", const="auto", default=d.pretrained, metavar="WEIGHTS",
                        help="start from the model's ImageNet weights (torchvision's, from the torch hub cache $TORCH_HOME, "
                             "downloaded only where there is a network); WEIGHTS names others, e.g. IMAGENET1K_V1")
    tuning.add_argument("--freeze-epochs", type=int, default=d.freeze_epochs, metavar="N",
                        help="train the head alone for N epochs, then every group (fastai's fine_tune)")
    spread = tuning.add_mutually_exclusive_group()
    spread.add_argument("--lr-spread", metavar="LO:HI", help="once unfrozen, LRs from LO (first group) to HI (head), geometrically")
    spread.add_argument("--layer-decay", type=float, default=d.layer_decay, metavar="F",
                        help="each group's LR is F times the next one's towards the head (timm-style; 0.75 is usual)")
    tuning.add_argument("--gradual-unfreeze", type=int, default=d.gradual_unfreeze, metavar="E",
                        help="unfreeze one more group every E epochs from the head back, LRs ÷2.6 per group (ULMFiT)")
    tuning.add_argument("--frozen-bn", default=d.frozen_bn, choices=("train", "freeze"),
                        help="BatchNorm layers of frozen groups keep updating their statistics (train, fastai's default) or hold them")
    parser.add_argument("--cache-dir", type=path_arg, default=None, help=CACHE_DIR_HELP)
    parser.add_argument("--no-cache", action="store_true", help="decode images without reading or writing the cache")


def add_serve_option(parser: argparse.ArgumentParser) -> None:
    """--serve: let `lrscope watch`/`ctl` and the window follow and steer the run while it trains."""
    parser.add_argument("--serve", nargs="?", const="127.0.0.1:0", metavar="HOST:PORT", type=_serve_address,
                        help="serve the run so that `lrscope watch`, `lrscope ctl` and the window can follow and steer it; "
                             "by default on this machine only, at a free port (the address and a token are printed and "
                             "kept in the run folder)")


def add_every_option(parser: argparse.ArgumentParser, stream: str) -> None:
    """--every (train, resume and watch): with ``stream``, the progress's, not a terminal, a step line every N steps."""
    parser.add_argument("--every", type=_steps_between, default=0, metavar="N",
                        help=f"with {stream} into a file or pipe, a line every N steps besides the epoch lines (default: "
                             "about ten an epoch); on a terminal the step line is redrawn in place instead")


def _steps_between(text: str) -> int:
    """--every: a whole number of steps, 1 or more (argparse reports anything else as a usage error)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of steps, 1 or more, got {text[:20]!r}")
    return value


def add_checkpoint_seconds_option(parser: argparse.ArgumentParser, *, resumed: bool = False) -> None:
    """--checkpoint-seconds (train and resume): a checkpoint whenever S seconds passed since the last one. ``resumed``:
    unset, the run keeps the interval it was started with."""
    if resumed:
        default = None
        said = ("default: the run's own, 60 unless it was started with another; 0: only at epoch ends, and every "
                "`train --checkpoint-every` steps if it was started with that")
    else:
        default = TrainConfig().checkpoint_seconds
        said = f"default {default:g}; 0: only at epoch ends and --checkpoint-every"
    parser.add_argument("--checkpoint-seconds", type=_checkpoint_seconds, default=default, metavar="S",
                        help="also checkpoint whenever S seconds passed since the last checkpoint, so a kill loses at most "
                             f"about that much training ({said})")


def _checkpoint_seconds(text: str) -> float:
    """--checkpoint-seconds's value, checked as the config checks it (argparse reports a bad one as a usage error)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text[:20]!r}") from None
    reason = field_error("checkpoint_seconds", value)
    if reason is not None:
        raise argparse.ArgumentTypeError(f"{reason}, got {text[:20]!r}")
    return value


RUNS_DIR_HELP = "where runs are stored (default: $LRSCOPE_RUNS_DIR or the user data folder)"
LIBRARY_DIR_HELP = "the tuned-schedule library (default: $LRSCOPE_LIBRARY_DIR or the user data folder)"
CACHE_DIR_HELP = "where decoded images are cached (default: the user cache folder)"
TUNES_DIR_HELP = "where tunes keep their search records (default: $LRSCOPE_TUNES_DIR, or a tunes folder beside the runs folder)"


def folder_options(args: argparse.Namespace) -> list[str]:
    """The --tunes-dir and --runs-dir ``args`` were given, as options for a command line printed for the user to run:
    without them it would look for the tune or its runs in the default folders."""
    return [f"--{name.replace('_', '-')} {shlex.quote(str(getattr(args, name)))}" for name in ("tunes_dir", "runs_dir")
            if getattr(args, name, None)]


def _serve_address(text: str) -> str:
    """--serve's value, checked as the line is read (not after the dataset is decoded)."""
    from ..serve.wire import tcp_address

    try:
        tcp_address(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def config_from(args: argparse.Namespace) -> TrainConfig:
    """A validated TrainConfig from parsed options; CliError names the option at fault."""
    d = TrainConfig()
    config = TrainConfig(
        data=os.path.abspath(args.data), model=args.model, optimizer=args.optimizer, momentum=d.momentum if args.momentum is None else args.momentum,
        lr=args.lr if args.lr is not None else (PRETRAINED_LR if args.pretrained else TrainConfig.lr),
        nesterov=args.nesterov, weight_decay=d.weight_decay if args.weight_decay is None else args.weight_decay,
        batch_size=d.batch_size if args.batch_size is None else args.batch_size,
        epochs=d.epochs if args.epochs is None else args.epochs,
        shape=args.shape or d.shape, group_lr=group_multipliers(args.group_lr), image_size=d.image_size if args.image_size is None else args.image_size,
        val_fraction=args.val_fraction, device=args.device, seed=args.seed, amp=args.amp, augment=args.augment,
        workers=args.workers, weights=args.weights, memory_budget_mb=args.memory_budget_mb,
        checkpoint_every=getattr(args, "checkpoint_every", 0), checkpoint_seconds=getattr(args, "checkpoint_seconds", d.checkpoint_seconds),
        curvature_every=_cadence(args.curvature_every),
        pretrained=args.pretrained, freeze_epochs=args.freeze_epochs, lr_spread=lr_spread(args.lr_spread),
        layer_decay=args.layer_decay or 0.0, gradual_unfreeze=args.gradual_unfreeze, frozen_bn=args.frozen_bn,
    )
    errors = config.errors()
    if errors:
        name, reason = next(iter(errors.items()))
        raise CliError(f"--{name.replace('_', '-')}: {reason}")
    if config.amp:
        _check_amp(config.device)
    return config


def _check_amp(device: str) -> None:
    """Warned, not refused: the same command line may train on a GPU machine, and a run started there resumes anywhere."""
    from ..device import resolve_device

    resolved = resolve_device(device)
    if resolved.type != "cuda":
        say(f"warning: --amp (mixed precision) works on CUDA GPUs only; this run trains in float32 on the {resolved.type.upper()}")


def _cadence(value: str) -> int | str:
    """--curvature-every as the config wants it (a number of steps, or the word)."""
    return int(value) if isinstance(value, str) and value.strip().isdigit() else value



def lr_spread(text: str | None) -> list[float]:
    """``--lr-spread LO:HI`` as [lo, hi]; CliError for text of another form."""
    if not text:
        return []
    try:
        lo, hi = (float(part) for part in text.split(":"))
    except ValueError:
        raise CliError(f"--lr-spread: expected LO:HI such as 1e-5:1e-3, got {text!r}") from None
    return [lo, hi]


def group_multipliers(items: list[str]) -> dict[str, float]:
    """``--group-lr NAME=MULT`` options as a dict; CliError for one that is not of that form."""
    result = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            result[name.strip()] = float(value)
        except ValueError:
            raise CliError(f"--group-lr: expected GROUP=MULTIPLIER such as head=10, got {item!r}") from None
    return result


def path_arg(text: str) -> Path:
    """A path option's value; an empty one is refused (`--data ""` read the current folder as the dataset)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a folder or file")
    return Path(text)


def tunes_folder(args: argparse.Namespace) -> Path:
    """Where the command's tunes are kept: --tunes-dir, $LRSCOPE_TUNES_DIR, or beside its --runs-dir (or runs folder)."""
    return tunes_root(args.tunes_dir, args.runs_dir)


def cache_dir(args: argparse.Namespace) -> Path | None:
    """The decode cache folder (--cache-dir, $LRSCOPE_CACHE_DIR or the user cache folder); None with --no-cache."""
    if getattr(args, "no_cache", False):
        return None
    return cache_root(getattr(args, "cache_dir", None))


_quiet = False


def quiet() -> None:
    """From now on ``say`` says nothing (a distributed run's ranks but 0); errors are still printed."""
    global _quiet
    _quiet = True


def quiet_rank() -> bool:
    """Whether this process is a distributed run's rank other than 0: ``quiet()`` was called, or torchrun started it as
    one (an error before the run is joined, such as Ctrl-C at startup, is every rank's, and rank 0 says it)."""
    return _quiet or ("WORLD_SIZE" in os.environ and os.environ.get("RANK", "0") != "0")


def check_writable(path: Path) -> None:
    """CliError now, rather than after a run, when ``path`` cannot be written (its folder is missing or read-only)."""
    if str(path) == "-":  # the Unix habit for standard output wrote a file named "-"
        raise CliError("-: lrscope writes this to a file, not to standard output; give a file name")
    folder = Path(path).expanduser().parent
    if not folder.is_dir():
        raise CliError(f"{path}: its folder {folder} does not exist; create it or choose another file")
    if Path(path).is_dir():
        raise CliError(f"{path}: is a folder; choose a file")
    try:  # a device or a FIFO: a file written in its place would remove it (as root, /dev/full), or writing would block
        refuse_to_replace(Path(path).expanduser())
    except NotARegularFile as error:
        raise CliError(f"{path}: {error}; choose a file") from None
    try:  # the way the file will be written (a temporary file beside it): permissions alone miss /proc, root, quotas
        fd, probe = tempfile.mkstemp(prefix=f".{Path(path).name}.", suffix=".check", dir=folder)
    except OSError as error:
        raise CliError(f"{path}: cannot be written there ({error.strerror or error}); choose another file") from None
    os.close(fd)
    os.unlink(probe)


def say(text: str) -> None:
    """A line for the user, on stderr (stdout is kept for --json and CSV)."""
    if not _quiet:
        write(sys.stderr, text + "\n")


def ignore_signals() -> None:
    """Ctrl-C and SIGTERM do nothing while a command's process ends: its result and exit status are said (one arriving
    then killed the process by SIGINT after --json said "finished")."""
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, signal.SIG_IGN)


@contextlib.contextmanager
def signals_interrupt() -> Iterator[None]:
    """SIGTERM (a `kill`, a logout, a batch scheduler's time limit) stops a command as Ctrl-C does: `range-test` died
    of it with no word and no --json object, where Ctrl-C said "interrupted" (exit 130). SIGINT too when it came
    ignored: a non-interactive shell starts a background job (`lrscope range-test … &`) with SIGINT ignored, Python then
    sets no handler of its own, and `kill -INT` stopped `train` alone, which sets its own (helper-82). Commands that
    stop a run at a step boundary set their own handler inside. Not in a torchrun worker: there SIGTERM is torchrun's
    own way to end it (a second one after a rank died arrived outside the run's handler, and printed "Exception ignored
    … KeyboardInterrupt")."""
    if threading.current_thread() is not threading.main_thread() or launched_by_torchrun():  # handlers: main thread only
        yield
        return
    previous = {number: signal.signal(number, signal.default_int_handler) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """Ctrl-C and SIGTERM do nothing inside: a command's result is being said, and its exit status is the one it says
    (one that came between the --json object and the launcher's note printed a second object, "interrupted")."""
    if threading.current_thread() is not threading.main_thread():  # handlers can be set there only; no signal comes here
        yield
        return
    previous = {number: signal.signal(number, signal.SIG_IGN) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def say_error(line: str) -> None:
    """``lrscope: error: LINE``; a rank other than 0 leaves it to lrscope's launcher, whose one line names the rank that
    failed if it failed alone (every rank printing it said the same error N times; under torchrun itself rank 0 says it)."""
    if quiet_rank():
        tell_the_launcher_why(line)
    else:
        write(sys.stderr, f"lrscope: error: {line}\n")


def say_log(text: str, level: str = "info") -> None:
    """A log line of the engine's for the user ("warning: …" when it is one)."""
    say(f"warning: {text}" if level == "warning" else text)


def write(stream, text: str) -> None:
    """``text`` to ``stream`` now, or nowhere once its reader went away (`lrscope train … 2>&1 | head -1`): a line
    about the run must not end it (Ctrl-C's "stopping at the next step", written to a closed pipe, failed the run with
    BrokenPipeError instead of stopping it)."""
    try:
        stream.write(text)
        stream.flush()
    except BrokenPipeError:
        gone(stream)


def gone(stream) -> None:
    """Point ``stream`` at the null device, so that later writes, and the flush at exit, cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), stream.fileno())


def read_schedule(path: Path) -> ScheduleFile:
    """Load a schedule file and print its warnings (fields of the wrong type that were ignored)."""
    loaded = load_schedule(path)
    for warning in loaded.warnings:
        say(f"warning: {printable(str(path))}: {warning}")
    if loaded.range_test_doubt:
        say(f"warning: {printable(str(path))}: its LR comes from a range test of low confidence ({loaded.range_test_doubt}); "
            "`lrscope tune --schedule FILE` checks it by training")
    return loaded
