"""The exercise checkers of lessons 03 and 07 added for the DDIM step, the table as printed, and one Euler step."""

import torch

from course_utils import checks, data
from course_utils.images import to_signed
from course_utils.metrics import DigitReport


def _ddim(eps, t, t_prev, x_t, abar, end=True):
    abar_prev = abar[t_prev] if t_prev >= 0 else torch.tensor(1.0 if end else 0.5)
    x0 = (x_t - (1 - abar[t]).sqrt() * eps) / abar[t].sqrt()
    return abar_prev.sqrt() * x0 + (1 - abar_prev).sqrt() * eps


def test_check_ddim_step_accepts_eq12_and_names_the_usual_mistakes(capsys):
    assert checks.check_ddim_step(_ddim)
    capsys.readouterr()
    assert not checks.check_ddim_step(lambda *a: _ddim(*a, end=False))
    assert "clean end" in capsys.readouterr().out
    assert not checks.check_ddim_step(lambda eps, t, tp, x, abar: (x - (1 - abar[t]).sqrt() * eps) / abar[t].sqrt())
    assert "guess of x_0 itself" in capsys.readouterr().out


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
