"""No range-test mode recommends an LR from a flat or uninformative curve, and each such case says why.

Synthetic curves (flat, noisy, imbalanced) and probes test the rules alone; a real flat sweep (a
trained model) and a real repeated test check them on a network.
"""

import dataclasses
import json

import numpy as np
import pytest
from helpers import lrscope, tiny_config, write_image

from engine.range_test.result import RangeTestResult
from engine.range_test.runner import prior_loss, run_range_test
from engine.range_test.settings import RangeTestSettings
from engine.range_test.suggestions import WHAT_TO_DO, Recommendation, combine, probe_suggestion, recommend, sweep_suggestions
from engine.range_test.sweep import Curve

LRS = np.geomspace(1e-7, 10, 100)
X = np.log10(LRS)
CHANCE = np.log(10)


def noisy(curve, sigma, seed=0):
    return curve + np.random.default_rng(seed).normal(0, sigma, len(curve))


def blow_up(at):
    return np.where(X > at, 3 * (X - at) ** 2, 0)


def analysed(losses, prior=None):
    suggestions, notes = sweep_suggestions(LRS, losses, prior)
    return suggestions, notes, recommend(suggestions, notes)


def test_fresh_weights_that_learned_nothing_give_no_recommendation():
    """The distorted set's failure: the loss sits at ln(10) until it diverges. Its edge is measured, not advised."""
    suggestions, notes, recommendation = analysed(noisy(CHANCE + blow_up(0.0), 0.05))
    assert recommendation is None
    assert [s.method for s in suggestions] == ["edge"] and -0.5 < np.log10(suggestions[0].lr) < 0.3
    assert notes[0].startswith("no recommendation: the loss did not fall") and "probe" in notes[0] and "lrscope tune" in notes[0]


def test_a_flat_curve_at_the_loss_of_guessing_says_to_check_the_labels_and_a_trained_models_does_not():
    """Shuffled labels sit at ln(10) like a hard dataset: the range test said to sweep longer, never to look at the labels,
    which only the tune said (helper-67). A trained model's flat curve, far below guessing, is no sign of bad labels."""
    hint = "check that each class folder holds that class's images"
    _, notes, _ = analysed(noisy(CHANCE + blow_up(0.0), 0.05), prior=CHANCE)
    assert hint in notes[0]
    _, notes, _ = analysed(noisy(0.3 + blow_up(0.0), 0.05), prior=CHANCE)
    assert notes[0].startswith("no recommendation: the loss did not fall") and hint not in notes[0]
    # A trained model's curve as noisy as a batch of 8 makes it: four times its noise reached below it from ln(10), and a
    # model at 84% was told to check its labels (helper-78).
    _, notes, _ = analysed(noisy(0.7 + blow_up(0.0), 0.6), prior=CHANCE)
    assert notes[0].startswith("no recommendation") and hint not in notes[0], notes
    # Repeats keep it (their reasons were cut at the first sentence), and say how to lengthen a sweep once.
    _, notes = combine([None, None], [analysed(noisy(CHANCE + blow_up(0.0), 0.05, seed), prior=CHANCE)[1][0] for seed in (1, 2)])
    assert hint in notes[0] and notes[0].count(hint) == 1
    short = sweep_suggestions(LRS[:5], np.full(5, CHANCE))[1][0]
    assert short.count("--iters") == 1 and not short.split("; ", 1)[1].startswith("lower the start LR")
    _, notes = combine([None, None], [short, short])
    assert notes[0].count("--iters") == 1 and "the probe" in notes[0]


@pytest.mark.parametrize("seed", range(5))
def test_a_descent_buried_in_noise_gives_no_recommendation(seed):
    descent = 0.15 * (1 - np.tanh((X + 2) * 2)) / 2
    _, notes, recommendation = analysed(noisy(CHANCE - 0.15 + descent + blow_up(0.0), 0.3, seed))
    assert recommendation is None and notes[0].startswith("no recommendation")


def test_the_same_descent_clear_of_the_noise_is_read():
    descent = 2.0 * (1 - np.tanh((X + 2) * 2)) / 2
    suggestions, _, recommendation = analysed(noisy(CHANCE - 2.0 + descent + blow_up(0.0), 0.05))
    assert recommendation is not None and -3 < np.log10(recommendation.constant_lr) < -1


def imbalanced_curve():
    """The loss falls from ln(10) to what the class mix alone gives (1.7), stays there, then diverges."""
    return noisy(1.7 + (CHANCE - 1.7) * (1 - np.tanh((X + 4) * 3)) / 2 + blow_up(0.0), 0.03)


def test_learning_only_the_class_mix_gives_no_recommendation():
    suggestions, notes, recommendation = analysed(imbalanced_curve(), prior=1.7)
    assert recommendation is None and [s.method for s in suggestions] == ["edge"]
    assert "predicting the class frequencies gives (1.7)" in notes[0] and "class mix, not the images" in notes[0]
    # Without knowing the class mix, the same curve looks like a clean descent: the prior is what tells.
    assert analysed(imbalanced_curve())[2] is not None


def test_a_descent_below_the_class_mix_is_read():
    losses = noisy(0.3 + (CHANCE - 0.3) * (1 - np.tanh((X + 2) * 2)) / 2 + blow_up(0.0), 0.03)
    assert analysed(losses, prior=1.7)[2] is not None


def test_a_fall_to_the_class_mix_then_below_it_is_read_where_the_images_are_learned():
    """A set of 70% one class: its steepest and valley sat in the first fall, to the class mix, 87× below the one-cycle
    peak (helper-74). Only the second fall, below the class mix, says which LR learns the images."""
    mix = (CHANCE - 1.7) * (1 - np.tanh((X + 5) * 3)) / 2  # ln(10) to 1.7 about LR 1e-5
    images = (1.7 - 0.3) * (1 - np.tanh(X + 1.5)) / 2  # 1.7 to 0.3 about LR 0.03, more slowly
    losses = noisy(0.3 + mix + images + blow_up(0.0), 0.03)
    suggestions, _, recommendation = analysed(losses, prior=1.7)
    read = {s.method: np.log10(s.lr) for s in suggestions}
    assert -2.5 < read["steepest"] < -1 and -2.5 < read["valley"] < -1, read
    assert -2.5 < np.log10(recommendation.constant_lr) < -1
    unaware = {s.method: np.log10(s.lr) for s in analysed(losses)[0]}
    assert unaware["steepest"] < -4  # the class mix's fall, without the prior to tell


def test_prior_loss_is_the_entropy_of_the_class_mix(digits16):
    from engine.training.session import build_session

    session = build_session(tiny_config(), digits16)
    assert prior_loss(session) == pytest.approx(CHANCE, abs=0.01)


PROBE_LRS = np.geomspace(1e-4, 10, 12)


@pytest.mark.parametrize("scores, start, reason", [
    (2.40 + 0.01 * np.log10(PROBE_LRS) ** 2, 2.30, "no candidate lowered the held-out loss"),
    (2.20 + 0.01 * np.abs(np.log10(PROBE_LRS) + 1), 2.25, "no candidate lowered the held-out loss"),
    (1.0 + 0.3 * (np.log10(PROBE_LRS) + 4), 2.3, "the smallest candidate LR (0.0001) was best"),
    (2.0 - 0.1 * (np.log10(PROBE_LRS) + 4), 2.3, "the largest candidate LR (10) was best"),
])
def test_a_probe_with_nothing_to_choose_by_gives_no_recommendation(scores, start, reason):
    suggestions, notes = probe_suggestion(PROBE_LRS, scores, start, steps=20)
    assert suggestions == [] and recommend(suggestions, notes) is None
    assert notes[0].startswith("no recommendation: ") and reason in notes[0]


def test_a_probe_whose_best_clearly_beats_the_start_recommends_it():
    scores = 1.0 + (np.log10(PROBE_LRS) + 1) ** 2 / 10
    suggestions, notes = probe_suggestion(PROBE_LRS, scores, start_score=2.3, steps=20)
    assert recommend(suggestions, notes).constant_lr == pytest.approx(0.1, rel=0.05)


def rec(peak, constant_method="valley", notes=()):
    return Recommendation(peak / 5, constant_method, peak, "min_loss", 1.5, tuple(notes))


def test_repeats_give_the_median_and_their_spread():
    recommendation, notes = combine([rec(0.5), rec(1.0), rec(0.8)], [])
    assert recommendation.one_cycle_max_lr == pytest.approx(0.8) and recommendation.spread == pytest.approx(2.0)
    assert recommendation.repeats == 3 and not recommendation.low_confidence and not notes


def test_repeats_that_disagree_are_low_confidence():
    recommendation, notes = combine([rec(0.1), rec(1.0), rec(0.8)], [])
    assert recommendation.low_confidence and recommendation.spread == pytest.approx(10.0)
    assert notes[0].startswith("low confidence: the repeats' one-cycle LRs spread by a factor of 10")


def test_repeats_whose_constant_lrs_disagree_are_low_confidence_though_their_one_cycle_lrs_agree():
    """A sweep from 1e-40 had repeats' constant LRs 1e21 apart and the same one-cycle LR: 'spread ×1'."""
    apart = [Recommendation(lr, "valley", 0.03, "min_loss", 1.5, ()) for lr in (1e-24, 3e-3)]
    recommendation, notes = combine(apart, [])
    assert recommendation.low_confidence and recommendation.spread == pytest.approx(3e21)
    assert notes[0].startswith("low confidence: the repeats' constant LRs spread by a factor of 3e+21 (1e-24, 0.003)")


def test_repeats_name_each_method_they_took_the_median_of():
    same, _ = combine([rec(0.5), rec(1.0), rec(0.8)], [])
    assert same.constant_method == "median of 3 repeats' valley" and same.one_cycle_method == "median of 3 repeats' min_loss"
    mixed, _ = combine([rec(0.5, "valley (median of 3 methods)"), rec(1.0, "steepest (median of 3 methods)"), rec(0.8)], [])
    assert mixed.constant_method == "median of 3 repeats' picks (valley ×2, steepest)"


def test_repeats_whose_constant_lr_methods_disagreed_say_so_once_and_stay_confident():
    """Flagged, this marked 136 of the study's 180 single sweeps low-confidence, and those did no worse than the rest:
    a flag on three sweeps in four told the user nothing (helper-67: every sweep of the bundled digits was flagged)."""
    split = "the constant-LR methods disagree by a factor of 8.5 (steepest 0.32, valley 0.038, min_loss/10 0.077): …"
    recommendation, notes = combine([rec(0.5, notes=[split]), rec(1.0, notes=[split]), rec(0.8)], [])
    assert not recommendation.low_confidence
    assert notes == ["in 2 of 3 repeats the constant-LR methods disagree by more than ×3: the constant LR, their median, is "
                     "a rough guide; the one-cycle max LR is read from the loss minimum alone"]


def test_repeats_recommend_only_when_most_of_them_do():
    recommendation, notes = combine([None, rec(1.0), None], ["no recommendation: the loss did not fall. Try this.",
                                                             "no recommendation: the loss did not fall. Try this."])
    assert recommendation is None
    assert notes == [f"no recommendation: only 1 of 3 repeats gave a recommendation (2 repeats: the loss did not fall). {WHAT_TO_DO}"]
    _, notes = combine([None, None], ["no recommendation: flat. Try this.", "no recommendation: neither fell nor rose."])
    # Each reason once, with the repeats that gave it: not "best.; neither", nor one repeat's reason as the whole test's.
    assert notes[0].count(WHAT_TO_DO) == 1 and "(1 repeat: flat; 1 repeat: neither fell nor rose)" in notes[0]
    recommendation, notes = combine([None, rec(1.0), rec(0.25)], ["no recommendation: flat"])
    assert recommendation.one_cycle_max_lr == pytest.approx(0.5) and "1 of 3 repeats gave no recommendation" in notes[0]


def test_a_validation_sweep_that_only_dips_gives_no_recommendation():
    """Long-tail data, balanced validation (measured): the held-out loss dips 2% at a small LR, rises as the model
    learns the class mix, and never gets back below its start. Smooth enough to pass the noise test, it is no descent."""
    dip = -0.04 * np.exp(-0.5 * ((X + 2.5) / 0.3) ** 2)
    mix = 0.5 * (1 + np.tanh((X + 1.5) * 4)) / 2
    held_out = noisy(CHANCE + dip + mix + blow_up(0.5), 0.002)
    curve = Curve(LRS, held_out, held_out, "diverged")
    result = RangeTestResult.from_curve("sweep", {"validation": True}, curve, 1.0)
    assert result.recommendation is None and result.why_none.startswith("the validation loss fell by no more than 5% (to ")
    assert "class mix" in result.why_none and "training-loss sweep" in result.why_none
    assert [s.method for s in result.suggestions] == ["edge"]
    assert RangeTestResult.from_curve("sweep", {}, curve, 1.0).recommendation is not None  # a training loss: the noise test only
    falls = noisy(CHANCE - 1.5 * (1 + np.tanh((X + 2) * 2)) / 2 + blow_up(0.5), 0.002)
    assert RangeTestResult.from_curve("sweep", {"validation": True}, Curve(LRS, falls, falls, "diverged"), 1.0).recommendation


def test_a_result_survives_its_plain_data_form():
    losses = noisy(0.3 + (CHANCE - 0.3) * (1 - np.tanh((X + 2) * 2)) / 2 + blow_up(0.0), 0.03)
    curve = Curve(LRS, losses, losses, "diverged")
    flat = Curve(LRS, noisy(CHANCE + blow_up(0.0), 0.05), losses, "diverged")
    parts = [RangeTestResult.from_curve("sweep", {}, c, 1.0, prior_loss=CHANCE) for c in (curve, flat, curve)]
    result = RangeTestResult.of_repeats(parts, 3.0)
    back = RangeTestResult.from_dict(result.to_dict())
    assert back.to_dict() == result.to_dict() and len(back.repeats) == 3
    assert back.recommendation == result.recommendation and back.recommendation.repeats == 2
    assert parts[1].why_none.startswith("the loss did not fall")


def test_a_real_flat_sweep_of_a_trained_model_recommends_nothing(digits16):
    from engine.training.job import TrainingJob

    job = TrainingJob(tiny_config(epochs=3, lr=0.2, shape="one_cycle"), digits16)
    assert job.run().val_accuracy > 0.9
    result = run_range_test(job.session, RangeTestSettings(iterations=60, repeats=1), lambda event: None)
    assert result.recommendation is None and result.why_none.startswith("the loss did not fall")
    assert [s.method for s in result.suggestions] == ["edge"]


@pytest.mark.parametrize("seed", range(10))
def test_a_sparse_flat_sweep_recommends_nothing_and_a_sparse_descent_still_does(seed):
    """Twenty points over eight decades (or 100 from 1e-40): the 0.2-decade fit passed through every point, measured no
    noise, and read it as a descent (43 of 50 such flat curves gave suggestions)."""
    rng = np.random.default_rng(seed)
    lrs = np.logspace(-7, 1, 20)
    flat = np.log(10) + 0.05 * rng.standard_normal(20) + np.r_[np.zeros(18), 1.0, 4.0]
    suggestions, notes = sweep_suggestions(lrs, flat)
    assert not [s for s in suggestions if s.method != "edge"] and notes[0].startswith("no recommendation: ")
    descent = np.log(10) - 1.5 / (1 + np.exp(-3 * (np.log10(lrs) + 3))) + 0.05 * rng.standard_normal(20) + np.r_[np.zeros(17), 1, 2, 4]
    suggestions, notes = sweep_suggestions(lrs, descent)
    assert 1e-4 < next(s.lr for s in suggestions if s.method == "steepest") < 1e-2 and not notes


def test_a_range_test_whose_batch_holds_every_training_image_warns_and_is_low_confidence(tmp_path):
    """Eighteen training images and a batch of 64: the probe advised with confidence and no word, where `train` warns."""
    for label in range(3):
        for index in range(8):
            write_image(tmp_path / "tiny" / str(label) / f"{index}.png", value=30 + 70 * label + index)
    done = lrscope("range-test", "--data", tmp_path / "tiny", "--image-size", "16", "--no-cache", "--no-curvature",
                   "--repeats", "1", "--probe", "--probe-count", "4", "--probe-steps", "3", "--start", "0.01", "--end", "10",
                   "--json")
    result = json.loads(done.stdout)
    assert "warning: the batch size 64 is more than the 18 training images" in done.stderr, done.stderr
    note = next(n for n in result["notes"] if "memorizes" in n)
    assert note.startswith("low confidence: the batch size 64 is more than the 18 training images")
    assert result["recommended"] is None or result["recommended"]["low_confidence"]


def test_a_validation_sweep_that_cannot_say_does_not_advise_a_validation_sweep():
    """`range-test --validation` on a flat curve advised "Try a validation-mode or longer sweep"."""
    rng = np.random.default_rng(0)
    lrs = np.logspace(-7, 1, 100)
    flat = np.log(10) + 0.02 * rng.standard_normal(100) + np.where(lrs > 1, 3.0, 0.0)
    for validation in (True, False):
        settings = RangeTestSettings(validation=validation, repeats=2).resolved().to_dict()
        parts = [RangeTestResult.from_curve("sweep", settings, Curve(lrs, flat, flat, "completed"), 1.0) for _ in range(2)]
        for result in (parts[0], RangeTestResult.of_repeats(parts, 2.0)):
            assert result.recommendation is None
            assert ("validation-mode" in result.why_none) is not validation
            assert ("a longer or a training-loss sweep" in result.why_none) is validation


def test_an_lr_just_past_the_bound_is_not_called_one_times_it():
    """1.04 × the bound was printed "×1 the stability bound": the warning read as if the LR sat at the bound."""
    losses = noisy(0.3 + (CHANCE - 0.3) * (1 - np.tanh((X + 2) * 2)) / 2 + blow_up(0.0), 0.03)
    result = dataclasses.replace(RangeTestResult.from_curve("sweep", {}, Curve(LRS, losses, losses, "diverged"), 1.0),
                                 curvature={"lr_bound": 0.5})
    assert result.above_bound(0.52).startswith("LR 0.52 is ×1.04 the stability bound at the start (0.5;")
    assert result.above_bound(0.5) == ""


def test_a_test_many_times_longer_than_its_run_says_so_in_plain_figures():
    """A 3-image-per-class set read "300 training steps, 1.5e+02× the run" (helper-67)."""
    assert RangeTestSettings().cost_words(2) == "300 training steps, 150× the run"
    assert RangeTestSettings().cost_words(110) == "300 training steps, 2.7× the run"
