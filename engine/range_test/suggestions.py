"""Suggested LRs from a range-test curve: pure functions of (lrs, losses), each named by its method.

The curve is smoothed by a Gaussian-weighted local linear fit in log10(LR) with
a bandwidth in decades, so the smoothing (and the slope it gives) is the same
whether the sweep took 50 points or 500 over its decades, and it does not lag the
way an exponential moving average does; a sparser sweep is smoothed wider.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from ..text import counted

WIDTH_DECADES = 0.2
# A sparse sweep's bandwidth spans at least this many point spacings, so each fit averages several points: at 2.4 points
# a decade (100 iterations from 1e-40) a 0.2-decade fit passed through every point, its residuals measured no noise, and
# the noise read as descents (a constant LR of 1e-13 was recommended).
SPACINGS_PER_WIDTH = 1.25
FIT_ROWS = 256  # points the local fit takes at once (memory: FIT_ROWS × the points within reach, not the curve squared)
FIT_REACH = 6.0  # widths: farther points weigh under 2e-8 of the nearest
# The constant-LR methods of one sweep that disagree by more than this factor make its constant LR a rough guide: said,
# not flagged. Flagged, it marked 136 of the study's 180 single sweeps low-confidence, and those landed on the plateau
# as often as the rest (70% against 66%) with a smaller gap (0.69 points against 1.20; docs/range-test.md).
DISAGREEMENT = 3.0
MIN_POINTS = 8
# A descent smaller than this many noise standard deviations is no descent: the curve is flat.
FLAT_SIGMAS = 4.0
# A held-out loss must fall by this fraction of its starting value to count: a probe candidate's, and a
# validation sweep's (its curve is so smooth that a dip far below any use clears the noise test).
PROBE_GAIN = 0.05
# Repeats whose recommendations spread by more than this factor give a low-confidence result.
REPEAT_SPREAD = 3.0
NO_RECOMMENDATION = "no recommendation: "
# Where the user can turn when a range test cannot say (the messages are shared by the window and the command line).
A_TUNE = "a tune (lrscope tune, or the Tune tab)"
# Measured (docs/tuning-quality.md, ten seeds): with Adam the repeated sweep's one-cycle LR (the loss minimum) was
# 0.038-0.2 on five datasets whose best max LRs were 0.006-0.05. A tenth of it (fastai's convention) was tried, and
# failed on two of the three datasets held out from that choice, so the LR stands and the user is told how far it goes.
ADAPTIVE_SWEEP_NOTE = ("low confidence: with Adam-type optimizers the sweep's one-cycle LR lay above the best max LR for "
                       "47 of 50 seeds of lrscope's study (0.9-10x, five datasets) and did not follow it from one dataset to "
                       f"another: take it as an upper end, and let {A_TUNE} search below it")
# Nats by which predicting the training class mix must score worse on the validation labels than a uniform guess
# before a validation sweep is flagged (a random split of one folder scores below the uniform guess).
CLASS_MIX_MARGIN = 0.05
WHAT_TO_DO = (f"Try a validation-mode or longer sweep (more sweep batches; --iters on the command line), the probe, or {A_TUNE}, which trains "
              "short runs at candidate LRs and keeps the best.")
# The same, for a sweep that already measured the validation loss (it advised a validation-mode sweep).
WHAT_TO_DO_HELD_OUT = WHAT_TO_DO.replace("a validation-mode or longer sweep", "a longer or a training-loss sweep")
# A test cancelled before it had a recommendation measured nothing to advise on: its curve's own reason ("every candidate
# diverged" for a probe with no candidate finished) would be false advice.
CANCELLED_NOTE = (f"{NO_RECOMMENDATION}the test was cancelled before its curve said anything; run it to the end (fewer sweep "
                  "batches or probe candidates take less time)")
FLAT_NOTE = (f"{NO_RECOMMENDATION}the loss did not fall by more than its noise before it rose, so no LR can be read from "
             "the descent. From fresh weights this means the model learned nothing in the test's steps; in a trained "
             "model, that it sits in a minimum. ")


@dataclass(frozen=True)
class Suggestion:
    """One method's suggested LR."""

    method: str
    lr: float
    loss: float
    explanation: str


@dataclass(frozen=True)
class Recommendation:
    """The LRs to use, each with the method it came from, and notes on how far to trust them.

    ``spread`` is how far the repeats' LRs lie apart (largest over smallest; 1 for a single test), the measure of
    ``low_confidence``; ``methods_spread``, how far a sweep's constant-LR methods disagree within a test (the repeats'
    median), which only adds a note. One field held both: a single test's "spread" 3.27 beside low_confidence false
    read as a contradiction (helper-124)."""

    constant_lr: float
    constant_method: str
    one_cycle_max_lr: float
    one_cycle_method: str
    spread: float
    notes: tuple[str, ...]
    repeats: int = 1
    low_confidence: bool = False
    methods_spread: float = 1.0


def local_fit(lrs: np.ndarray, losses: np.ndarray, width: float = WIDTH_DECADES) -> tuple[np.ndarray, np.ndarray]:
    """Smoothed loss and its slope d(loss)/d(log10 LR) at every point.

    Fitted FIT_ROWS points at a time against the points within FIT_REACH widths of them: all at once, a sweep of 100,000
    batches asked for 10^10 weights and the out-of-memory killer ended its run (22 GB). A curve of one block (the usual
    few hundred points; up to FIT_ROWS) is fitted against all its points, exactly as before."""
    x = np.log10(lrs)
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], np.asarray(losses, dtype=float)[order]
    smooth, slope = np.empty(len(xs)), np.empty(len(xs))
    for start in range(0, len(xs), FIT_ROWS):
        rows = order[start:start + FIT_ROWS]
        at = xs[start:start + FIT_ROWS]
        lo, hi = ((0, len(xs)) if len(xs) <= FIT_ROWS else
                  (np.searchsorted(xs, at[0] - FIT_REACH * width), np.searchsorted(xs, at[-1] + FIT_REACH * width, "right")))
        smooth[rows], slope[rows] = _weighted_line(at, xs[lo:hi], ys[lo:hi], width)
    return smooth, slope


def _weighted_line(at: np.ndarray, x: np.ndarray, y: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """The value and slope at each of ``at`` of a line fitted to (x, y) with Gaussian weights of ``width``."""
    dx = x[None, :] - at[:, None]
    w = np.exp(-0.5 * (dx / width) ** 2)
    s0, s1, s2 = w.sum(1), (w * dx).sum(1), (w * dx * dx).sum(1)
    t0, t1 = (w * y[None, :]).sum(1), (w * dx * y[None, :]).sum(1)
    det = s0 * s2 - s1 * s1
    slope = np.where(det > 1e-12, (s0 * t1 - s1 * t0) / np.where(det > 1e-12, det, 1.0), 0.0)
    return (t0 - slope * s1) / s0, slope


def bandwidth(lrs: np.ndarray) -> float:
    """The smoothing width in decades: WIDTH_DECADES, or SPACINGS_PER_WIDTH of the median point spacing if wider."""
    gaps = np.diff(np.log10(lrs))
    return max(WIDTH_DECADES, SPACINGS_PER_WIDTH * float(np.median(gaps))) if len(gaps) else WIDTH_DECADES


def _trimmed(lrs: np.ndarray, width: float = WIDTH_DECADES) -> np.ndarray:
    """Mask of points at least half a bandwidth away from either end of the curve (edge fits are weak)."""
    x = np.log10(lrs)
    return (x >= x[0] + width / 2) & (x <= x[-1] - width / 2)


def sweep_suggestions(lrs: np.ndarray, losses: np.ndarray, prior_loss: float | None = None,
                      held_out: bool = False) -> tuple[list[Suggestion], list[str]]:
    """Steepest descent, valley and minimum/10 of a sweep curve, with notes on the curve's shape.

    An uninformative curve gives no descent-based suggestion and a first note that starts with
    NO_RECOMMENDATION and says why and what to do. ``prior_loss`` is the loss of predicting the
    class frequencies: a descent that ends above it only learned the class mix, not the images.
    A ``held_out`` (validation) loss must also fall PROBE_GAIN below where it started.
    """
    if len(lrs) < MIN_POINTS:
        # A lower start LR adds points only where the loss blew up early: it was the first advice for `--iters 5` too.
        return [], [f"{NO_RECOMMENDATION}only {len(lrs)} points were recorded, too few to read a curve; give more sweep "
                    "batches (--iters on the command line), or lower the start LR if the loss blew up within them"]
    width = bandwidth(lrs)
    smooth, slope = local_fit(lrs, losses, width)
    lowest = int(np.argmin(smooth))
    sigma = noise_level(losses - smooth)
    start_level = float(np.max(smooth[: lowest + 1]))
    # Only a class mix that is itself a clear descent below the start can hide one (balanced classes start there).
    mix_learnable = prior_loss is not None and prior_loss < start_level - FLAT_SIGMAS * sigma
    if mix_learnable and smooth[lowest] > prior_loss - FLAT_SIGMAS * sigma:
        return _flat(lrs, smooth, lowest, sigma, _class_mix_note(prior_loss))
    if start_level - smooth[lowest] < FLAT_SIGMAS * sigma:
        # Near the class mix's loss itself too: on a trained model's noisy curve (batch 8) four times the noise reached
        # below 0.9 from 2.3, and a model at 84% was told to check its labels (helper-78).
        at_chance = prior_loss is not None and smooth[lowest] > max(prior_loss - FLAT_SIGMAS * sigma, AT_CHANCE_SHARE * prior_loss)
        return _flat(lrs, smooth, lowest, sigma, FLAT_NOTE + advice(held_out) + (AT_CHANCE_NOTE if at_chance else ""))
    if held_out and smooth[lowest] > (1 - PROBE_GAIN) * start_level:
        return _flat(lrs, smooth, lowest, sigma, _held_out_note(smooth[lowest], start_level))
    if lowest == 0:
        return [], [f"{NO_RECOMMENDATION}the loss never went down; lower the start LR"]
    if lowest == len(lrs) - 1:
        return [], [f"{NO_RECOMMENDATION}the loss was still falling at the end LR ({lrs[-1]:.3g}), so where it turns is "
                    "unknown; raise the end LR"]
    descent = np.zeros(len(lrs), dtype=bool)
    descent[: lowest + 1] = True
    if mix_learnable:
        # Where the loss is still above the class mix's, the model learns the class frequencies, which small LRs do
        # fastest: on a set of 70% one class the steepest and the valley sat in that first fall, 87× below the one-cycle
        # peak (helper-74). The descent read is the one below it, where the images are learned.
        descent &= smooth < prior_loss
    usable = descent & _trimmed(lrs, width)
    if not usable.any():
        usable = descent
    steep = int(np.flatnonzero(usable)[np.argmin(slope[usable])])
    suggestions = [
        Suggestion("steepest", float(lrs[steep]), float(smooth[steep]), "where the smoothed loss falls fastest against log10(LR)"),
        _valley(lrs, smooth, slope, usable, steep),
        Suggestion("min_loss/10", float(lrs[lowest] / 10), float(smooth[lowest]), "a tenth of the LR at the lowest smoothed loss"),
        Suggestion("min_loss", float(lrs[lowest]), float(smooth[lowest]), "the LR at the lowest smoothed loss, just before it rises"),
    ]
    return suggestions, []


# A flat curve's level must be at least this share of the class mix's loss to be read as guessing it.
AT_CHANCE_SHARE = 0.8
# Shuffled labels give this curve too; only the tune said so (helper-67). A trained model's flat curve lies far below.
AT_CHANCE_NOTE = (" The loss stayed at the level of guessing the class mix: if the test's steps should teach this model "
                  "something, check that each class folder holds that class's images.")


def advice(held_out: bool) -> str:
    """What to try when a sweep cannot say: a validation-mode sweep, unless this one was."""
    return WHAT_TO_DO_HELD_OUT if held_out else WHAT_TO_DO


def noise_level(residuals: np.ndarray) -> float:
    """A robust standard deviation of the loss around its smoothed curve (median absolute deviation)."""
    return float(1.4826 * np.median(np.abs(residuals - np.median(residuals))))


def _class_mix_note(prior_loss: float) -> str:
    return (f"{NO_RECOMMENDATION}the loss fell no lower than predicting the class frequencies gives ({prior_loss:.3g}): "
            "the test saw the model learn the class mix, not the images. " + WHAT_TO_DO)


def class_mix_note(loss: float, uniform: float) -> str:
    """Why a validation sweep on training data mixed unlike the validation set is biased to small LRs (measured)."""
    return (f"low confidence: the training classes are mixed unlike the validation set's (predicting the training "
            f"frequencies scores {loss:.3g} on the validation labels, a uniform guess {uniform:.3g}). A network learns the "
            "class mix first, which raises this validation loss, so a validation sweep favours small LRs: on a long-tailed "
            f"set it recommended 0.003-0.004 where the best max LR was 0.05-0.8. Prefer the training-loss sweep or {A_TUNE}.")


def whole_data_note(why: str) -> str:
    """Why a test whose every step took all the training images is a rough guide (a user test found it confident)."""
    return (f"low confidence: {why}; the test's steps took them all at once too, so its curve follows how fast the "
            f"network memorizes these images. Add images or lower the batch size; {A_TUNE} measures validation accuracy")


def _held_out_note(lowest: float, start: float) -> str:
    return (f"{NO_RECOMMENDATION}the validation loss fell by no more than {100 * PROBE_GAIN:.0f}% (to {lowest:.3g} from "
            f"{start:.3g}), so the sweep learned nothing it can judge an LR by. If the classes "
            "are imbalanced, the first steps learn the class mix, which a balanced validation set punishes. Try a "
            f"training-loss sweep (without validation loss), the probe, or {A_TUNE}, which trains short runs at "
            "candidate LRs and keeps the best.")


def _flat(lrs: np.ndarray, smooth: np.ndarray, lowest: int, sigma: float, note: str) -> tuple[list[Suggestion], list[str]]:
    """A curve that does not descend: no advice; where it starts to rise is measured, as a limit only."""
    level = smooth[lowest] + FLAT_SIGMAS * max(sigma, 1e-12)
    above = np.flatnonzero(smooth[lowest:] > level)
    if not len(above):
        return [], [f"{NO_RECOMMENDATION}the loss neither fell nor rose over the range; raise the end LR to find where it "
                    f"diverges, or run the probe or {A_TUNE}"]
    edge = lowest + int(above[0]) - 1
    return [Suggestion("edge", float(lrs[edge]), float(smooth[edge]),
                       "where the loss starts to rise above its flat level: a limit, not a recommendation")], [note]


def _valley(lrs, smooth, slope, usable, steep) -> Suggestion:
    """The middle of the longest stretch where the loss clearly falls (slope below a fifth of the steepest)."""
    falling = usable & (slope < 0.2 * slope[steep])
    best_start, best_length, start = steep, 1, None
    for index, flag in enumerate(np.append(falling, False)):
        if flag and start is None:
            start = index
        elif not flag and start is not None:
            if index - start > best_length:
                best_start, best_length = start, index - start
            start = None
    middle = best_start + best_length // 2
    return Suggestion("valley", float(lrs[middle]), float(smooth[middle]), "the middle of the longest stretch where the loss clearly falls")


def probe_suggestion(lrs: np.ndarray, scores: np.ndarray, start_score: float | None = None,
                     steps: int | None = None) -> tuple[list[Suggestion], list[str]]:
    """The candidate with the lowest held-out loss, refined by a parabola through it and its neighbours.

    No suggestion when every candidate diverged, when the best is the smallest or largest candidate
    (the optimum lies outside the range), or when no candidate lowered the starting held-out loss
    ``start_score`` by PROBE_GAIN: then the probe measured nothing to choose by.
    """
    finite = np.isfinite(scores)
    if not finite.any():
        return [], [f"{NO_RECOMMENDATION}every candidate LR diverged; lower the start LR"]
    best = int(np.nanargmin(np.where(finite, scores, np.nan)))
    after = f"after {counted(steps, 'step')} " if steps else ""
    if start_score is not None and not scores[best] < (1 - PROBE_GAIN) * start_score:
        return [], [f"{NO_RECOMMENDATION}no candidate lowered the held-out loss {after}clearly below where it started "
                    f"({scores[best]:.3g} at best against {start_score:.3g}), so the probe cannot tell the LRs apart. "
                    "If the classes are imbalanced, the first steps learn the class mix, which a balanced validation set "
                    f"punishes; otherwise the horizon is too short. Raise the probe steps, or run a sweep or {A_TUNE}."]
    if best == 0:
        return [], [f"{NO_RECOMMENDATION}the smallest candidate LR ({lrs[0]:.3g}) was best {after}and the optimum may lie "
                    "below it; lower the start LR (a short horizon also favours small LRs: raise the probe steps)"]
    if best == len(lrs) - 1:
        return [], [f"{NO_RECOMMENDATION}the largest candidate LR ({lrs[-1]:.3g}) was best, so the optimum may lie above "
                    "it; raise the end LR"]
    lr = float(lrs[best])
    if finite[best - 1] and finite[best + 1]:
        lr = _parabola_vertex(np.log10(lrs[best - 1:best + 2]), scores[best - 1:best + 2])
    return [Suggestion("probe_best", lr, float(scores[best]),
                       "the LR with the lowest held-out loss after the same number of steps from the same weights")], []


def _parabola_vertex(x: np.ndarray, y: np.ndarray) -> float:
    """10**(vertex) of the parabola through three points, kept between the outer two."""
    denominator = (x[0] - x[1]) * (x[0] - x[2]) * (x[1] - x[2])
    a = (x[2] * (y[1] - y[0]) + x[1] * (y[0] - y[2]) + x[0] * (y[2] - y[1])) / denominator
    b = (x[2] ** 2 * (y[0] - y[1]) + x[1] ** 2 * (y[2] - y[0]) + x[0] ** 2 * (y[1] - y[2])) / denominator
    vertex = -b / (2 * a) if a > 0 else x[1]
    return float(10 ** np.clip(vertex, x[0], x[2]))


# The constant-LR methods; their median is a sweep's constant LR.
CONSTANT_METHODS = ("steepest", "valley", "min_loss/10")
METHODS_DISAGREE = "the constant-LR methods disagree"
ROUGH_CONSTANT = ("the constant LR, their median, is a rough guide; the one-cycle max LR is read from the loss minimum "
                  "alone")
# A cosine one-cycle averages about half its peak LR, so the peak that matches
# the best constant LR of a probe is twice that LR.
ONE_CYCLE_PER_CONSTANT = 2.0


def recommend(suggestions: list[Suggestion], notes: list[str]) -> Recommendation | None:
    """A constant LR and a one-cycle max LR from the suggestions, saying which method each came from.

    Sweep: the constant LR is the median of the three constant-LR methods; the
    one-cycle peak is the LR at the loss minimum (Smith's rule: a one-cycle
    anneals away from its peak, so it tolerates the largest LR that still
    lowers the loss). Probe: the best candidate is the constant LR, and twice it
    the one-cycle peak. None when the curve gave no descent-based suggestion (a
    flat curve's edge is a limit, not advice).
    """
    by_method = {s.method: s for s in suggestions}
    if "probe_best" in by_method:
        best = by_method["probe_best"]
        return Recommendation(best.lr, "probe_best", best.lr * ONE_CYCLE_PER_CONSTANT,
                              f"probe_best ×{ONE_CYCLE_PER_CONSTANT:g} (a one-cycle averages half its peak)", 1.0, tuple(notes))
    if not all(m in by_method for m in (*CONSTANT_METHODS, "min_loss")):
        return None
    constant = [by_method[m] for m in CONSTANT_METHODS]
    spread = max(s.lr for s in constant) / min(s.lr for s in constant)
    notes = list(notes)
    if spread > DISAGREEMENT:
        listed = ", ".join(f"{s.method} {s.lr:.2g}" for s in constant)
        notes.append(f"{METHODS_DISAGREE} by a factor of {spread:.3g} ({listed}): {ROUGH_CONSTANT}")
    middle = sorted(constant, key=lambda s: s.lr)[1]
    return Recommendation(middle.lr, f"{middle.method} (median of {len(constant)} methods)",
                          by_method["min_loss"].lr, "min_loss (the LR where the smoothed loss is lowest)", 1.0, tuple(notes),
                          methods_spread=spread)


def median_lr(values: list[float]) -> float:
    """The median in log space (the geometric mean of the middle two for an even count)."""
    return float(np.exp(np.median(np.log(values))))


def _repeated(methods: list[str]) -> str:
    """Where a median over repeats came from: one method's name when all used it, else how often each was picked
    (most often first: a hundred repeats listed each pick, 92 names in one line)."""
    if len(set(methods)) == 1:
        return f"median of {len(methods)} repeats' {methods[0]}"
    picked = Counter(m.split(" (")[0] for m in methods).most_common()
    return f"median of {len(methods)} repeats' picks ({', '.join(f'{name} ×{n}' if n > 1 else name for name, n in picked)})"


def combine(recommendations: list[Recommendation | None], reasons: list[str],
            held_out: bool = False) -> tuple[Recommendation | None, list[str]]:
    """The median recommendation of repeated tests and its spread; None unless most repeats gave one.

    ``reasons`` are the notes of the repeats that gave none. The spread is the wider of the constant and the one-cycle
    LRs' (largest over smallest); above REPEAT_SPREAD it makes the result low-confidence.
    """
    given = [r for r in recommendations if r is not None]
    total = len(recommendations)
    if 2 * len(given) <= total:
        # Each reason's first sentence, once, with how many repeats gave it: whole, they repeated the advice and read
        # "…keeps the best.; the loss…"; uncounted, one repeat's "only 4 points" read as the whole test's.
        firsts = Counter(r.removeprefix(NO_RECOMMENDATION).split(". ")[0].rstrip(".") for r in reasons)
        why = "; ".join(f"{counted(n, 'repeat')}: {reason}" for reason, n in firsts.items())
        # A reason that says how to lengthen the sweep ("only 5 points … --iters") read that advice twice; one that the
        # loss stayed at chance keeps its hint past the first sentence.
        more = f"Or try the probe, or {A_TUNE}." if "--iters" in why else advice(held_out)
        chance = AT_CHANCE_NOTE if any(AT_CHANCE_NOTE in r for r in reasons) else ""
        # "only 0 of 3 repeats" read oddly (helper-91)
        how_many = f"only {len(given)} of {total} repeats" if given else f"none of the {total} repeats"
        return None, [f"{NO_RECOMMENDATION}{how_many} gave a recommendation "
                      f"({why or 'no repeat finished'}). {more}{chance}"]
    # Both LRs' spreads count: one that judged the one-cycle LR alone said ×1 of repeats whose constant LRs were 1e21 apart.
    lrs = {"one-cycle": [r.one_cycle_max_lr for r in given], "constant": [r.constant_lr for r in given]}
    which = max(lrs, key=lambda name: max(lrs[name]) / min(lrs[name]))
    spread = max(lrs[which]) / min(lrs[which])
    notes = []
    if len(given) < total:
        notes.append(f"{total - len(given)} of {total} repeats gave no recommendation; the median is of the other {len(given)}")
    low = spread > REPEAT_SPREAD
    if low:
        listed = ", ".join(f"{lr:.2g}" for lr in sorted(lrs[which]))
        notes.append(f"low confidence: the repeats' {which} LRs spread by a factor of {spread:.3g} ({listed}); "
                     f"the curve depends on the batches more than on the LR here: {A_TUNE} measures what the runs do")
    # Said once for the repeats, not once per repeat: each repeat's note read the same.
    if split := sum(any(n.startswith(METHODS_DISAGREE) for n in r.notes) for r in given):
        notes.append(f"in {split} of {len(given)} repeats {METHODS_DISAGREE} by more than ×{DISAGREEMENT:g}: {ROUGH_CONSTANT}")
    recommendation = Recommendation(median_lr([r.constant_lr for r in given]), _repeated([r.constant_method for r in given]),
                                    median_lr(lrs["one-cycle"]), _repeated([r.one_cycle_method for r in given]), spread,
                                    tuple(notes), repeats=len(given), low_confidence=low,
                                    methods_spread=median_lr([r.methods_spread for r in given]))
    return recommendation, notes
