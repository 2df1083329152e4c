"""course_utils.stats: Wilson intervals, Rates, the exact McNemar test, rates from per-image verdicts."""

import math

import pytest
import torch

from course_utils import data, shapes_reader, stats


@pytest.mark.parametrize("k,n,low,high", [
    (0, 10, 0.0, 0.2775), (10, 10, 0.7225, 1.0), (240, 300, 0.7511, 0.8413), (85, 100, 0.7672, 0.9069)])
def test_wilson_matches_the_closed_form_worked_by_hand(k, n, low, high):
    lo, hi = stats.wilson(k, n)
    assert lo == pytest.approx(low, abs=1e-4) and hi == pytest.approx(high, abs=1e-4)


@pytest.mark.parametrize("n", [1, 3, 10, 64, 100, 500])
def test_wilson_ends_are_exactly_0_and_1_at_none_and_all(n):
    assert stats.wilson(0, n)[0] == 0.0 and stats.wilson(n, n)[1] == 1.0     # 10/10 gave 0.9999999999999999


def test_wilson_holds_the_rate_and_narrows_with_n():
    for k, n in [(1, 3), (30, 64), (300, 1000)]:
        lo, hi = stats.wilson(k, n)
        assert 0 <= lo < k / n < hi <= 1
    assert stats.wilson(80, 100)[1] - stats.wilson(80, 100)[0] > stats.wilson(800, 1000)[1] - stats.wilson(800, 1000)[0]


def test_a_rate_prints_with_its_interval_and_says_met_only_when_the_interval_allows():
    r = stats.Rate(85, 100)
    assert str(r) == "85 % (77–91 %)"
    assert r.as_dict() == {"k": 85, "n": 100, "rate": 0.85, "low": 0.7672, "high": 0.9069}
    assert r.allows(0.90) and not r.meets(0.80) and r.meets(0.75) and not r.allows(0.95)


@pytest.mark.parametrize("k,n,target,word", [
    (85, 100, 0.80, "not ruled out"),   # 77-91 %: holds 80 %, its low end does not reach it
    (85, 100, 0.75, "met"),             # low end 76.7 % >= 75 %
    (85, 100, 0.95, "missed"),          # high end 90.7 % < 95 %
    (240, 300, 0.70, "met"), (240, 300, 0.80, "not ruled out"), (240, 300, 0.85, "missed"),
    (0, 10, 0.0, "met"), (10, 10, 1.0, "not ruled out")])
def test_a_target_is_met_only_when_the_whole_interval_reaches_it(k, n, target, word):
    assert stats.Rate(k, n).verdict(target) == word


def test_the_verdict_edges_belong_to_the_kinder_word():
    r = stats.Rate(85, 100)
    lo, hi = r.interval
    assert (r.verdict(lo), r.verdict(hi), r.verdict(math.nextafter(hi, 1))) == ("met", "not ruled out", "missed")


@pytest.mark.parametrize("target", [80, -0.1, float("nan"), "0.8"])
def test_a_target_that_is_not_a_share_gets_a_clear_error(target):
    with pytest.raises((ValueError, TypeError), match="target"):
        stats.Rate(85, 100).verdict(target)


@pytest.mark.parametrize("k,n", [(5, 3), (-1, 4), (1, 0), (1.5, 4)])
def test_impossible_counts_get_a_clear_error(k, n):
    with pytest.raises((ValueError, TypeError)):
        stats.Rate(k, n)


def test_mcnemar_counts_only_the_disagreements_and_gives_the_exact_p():
    a = [1] * 10 + [0] * 2 + [1] * 5
    b = [0] * 10 + [1] * 2 + [1] * 5
    r = stats.mcnemar(a, b)
    assert (r["a_only"], r["b_only"], r["a_right"], r["b_right"]) == (10, 2, 15, 7)
    assert r["p"] == pytest.approx(2 * sum(math.comb(12, i) for i in range(3)) / 2**12)   # 0.0386
    assert stats.mcnemar(a, a)["p"] == 1.0
    assert stats.mcnemar([1, 0], [0, 1])["p"] == 1.0


@pytest.mark.parametrize("a,b,match", [([1, 0], [1], "same items"), ([], [], "empty"), ([1, 2], [1, 0], "True/False")])
def test_mcnemar_refuses_what_is_not_paired_verdicts(a, b, match):
    with pytest.raises(ValueError, match=match):
        stats.mcnemar(a, b)


def test_judge_gives_one_verdict_per_image_and_adherence_is_their_share():
    scenes = [data.shapes_scene(5, i, 0.5, "heldout") for i in range(12)]
    from course_utils import shapes
    images = torch.stack([torch.from_numpy(shapes.render_scene(s)).permute(2, 0, 1).float() / 255 for s in scenes])
    wrong = images.flip(-1)                         # mirrored: positions left/right become wrong
    for imgs in (images, wrong):
        items = shapes_reader.judge(imgs, scenes)
        assert len(items) == 12
        assert all(("both_objects" in it) == (len(s.objects) == 2) for it, s in zip(items, scenes))
        shares = shapes_reader.adherence(imgs, scenes)
        r = stats.rates(items)
        assert set(shares) == set(r)
        assert all(shares[k] == pytest.approx(r[k].value) for k in shares)
    assert stats.rates(shapes_reader.judge(images, scenes))["all"].value > stats.rates(shapes_reader.judge(wrong, scenes))["all"].value


def test_paired_difference_is_zero_for_the_same_verdicts_and_its_interval_holds_the_truth():
    from course_utils.stats import paired_difference

    same = [True, False, True, True] * 25
    assert paired_difference(same, same) == {"difference": 0.0, "low": 0.0, "high": 0.0}
    a = [True] * 60 + [False] * 40
    b = [True] * 50 + [False] * 10 + [True] * 5 + [False] * 35    # a alone right on 10, b alone on 5
    d = paired_difference(a, b)
    assert d["difference"] == pytest.approx(0.05) and d["low"] < 0.05 < d["high"]
    assert d["high"] - d["low"] < 0.2 and paired_difference(b, a)["difference"] == pytest.approx(-0.05)
    with pytest.raises(ValueError, match="same items"):
        paired_difference(a, b[:50])


@pytest.mark.parametrize("low, high, verdict", [(-0.015, 0.01, "met"), (-0.02, -0.01, "met"), (-0.05, -0.005, "not ruled out"),
                                               (-0.05, -0.02, "not ruled out"), (-0.06, -0.025, "missed")])
def test_loss_verdict_reads_the_interval_against_the_allowed_loss(low, high, verdict):
    from course_utils.stats import loss_verdict

    assert loss_verdict({"difference": (low + high) / 2, "low": low, "high": high}, 0.02) == verdict


def test_loss_verdict_of_a_real_paired_change():
    """500 prompts, 20 lost and 6 gained: -2.8 points, an interval reaching past -2 on both sides."""
    from course_utils.stats import loss_verdict, paired_difference

    a = [True] * 460 + [False] * 20 + [True] * 6 + [False] * 14       # with the adapters
    b = [True] * 460 + [True] * 20 + [False] * 6 + [False] * 14       # without
    d = paired_difference(a, b)
    assert d["difference"] == pytest.approx(-0.028) and d["low"] < -0.02 < d["high"]
    assert loss_verdict(d, 0.02) == "not ruled out"
    assert loss_verdict(paired_difference(b, b), 0.02) == "met"


@pytest.mark.parametrize("change, allowed", [(None, 0.02), ({"low": -0.1}, 0.02), ({"low": "x", "high": 0}, 0.02),
                                             ({"low": -0.1, "high": 0.0}, 2), ({"low": -0.1, "high": 0.0}, "2 points")])
def test_loss_verdict_explains_bad_input(change, allowed):
    from course_utils.stats import loss_verdict

    with pytest.raises(ValueError, match="change must be|allowed"):
        loss_verdict(change, allowed)
