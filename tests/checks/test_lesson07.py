"""Lesson 07's checkers (course_utils/checks/lesson07.py)."""

import torch

from course_utils import checks, data
from course_utils.digit_judge import DigitReport
from course_utils.images import to_signed


def test_flow_target_and_flow_wins_checkers(capsys):
    assert checks.check_flow_target(lambda x0, eps: eps - x0)
    capsys.readouterr()
    assert not checks.check_flow_target(lambda x0, eps: x0 - eps)
    assert "reversed" in capsys.readouterr().out
    assert not checks.check_flow_target(lambda x0, eps: eps)

    def rep(fd):
        return DigitReport(n=10, confidence=0.9, classes_covered=10, class_counts=[1] * 10, class_entropy=3.3, frechet=fd)

    results = {"flow-digits": {1: rep(10), 2: rep(5), 8: rep(2)}, "ddpm-digits (DDIM)": {1: rep(50), 2: rep(20), 8: rep(1)}}
    assert checks.check_flow_wins([2, 1], results) and not checks.check_flow_wins([1, 2, 8], results)
    assert not checks.check_flow_wins("many", results)


def _rep(fd):
    return DigitReport(n=10, confidence=0.9, classes_covered=10, class_counts=[1] * 10, class_entropy=3.3, frechet=fd)


def test_check_flow_wins_reads_the_table_as_printed(capsys):
    results = {"flow-digits": {4: _rep(5.0), 50: _rep(1.396)}, "ddpm-digits (DDIM)": {4: _rep(6.0), 50: _rep(1.404)}}
    assert checks.check_flow_wins([4], results)            # 1.40 vs 1.40 as printed: a tie, not a win
    assert not checks.check_flow_wins([4, 50], results)
    assert checks.check_flow_wins([4, 50], results, decimals=3)


def test_check_one_step_image_wants_the_mean_training_image(capsys):
    digits = to_signed(data.digits(16).images)
    assert checks.check_one_step_image(digits.mean(0), digits)
    assert not checks.check_one_step_image(digits[0], digits)
    capsys.readouterr()
    assert not checks.check_one_step_image(torch.zeros(1, 16, 16), digits)
    assert "noise is centred" in capsys.readouterr().out
    assert not checks.check_one_step_image(torch.zeros(3), digits)
