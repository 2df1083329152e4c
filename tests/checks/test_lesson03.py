"""Lesson 03's checkers (course_utils/checks/lesson03.py)."""

import torch

from course_utils import checks
from course_utils.noise import add_noise


def test_add_noise_checker_spots_common_mistakes(capsys):
    assert checks.check_add_noise(add_noise)
    capsys.readouterr()

    def swapped(x0, noise, t, s):
        a = s.alphas_cumprod[t].reshape(-1, 1, 1, 1)
        return (1 - a).sqrt() * x0 + a.sqrt() * noise

    def no_sqrt(x0, noise, t, s):
        a = s.alphas_cumprod[t].reshape(-1, 1, 1, 1)
        return a * x0 + (1 - a) * noise

    assert not checks.check_add_noise(swapped)
    assert "swapped" in capsys.readouterr().out
    assert not checks.check_add_noise(no_sqrt)
    assert "square roots" in capsys.readouterr().out
    assert not checks.check_add_noise(lambda *a: None)
    assert "Not answered" in capsys.readouterr().out
    assert not checks.check_add_noise(lambda *a: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_last_step_and_half_signal(capsys):
    from course_utils import data
    from course_utils.images import to_signed
    from course_utils.noise import make_schedule

    s = make_schedule("linear")
    x0 = to_signed(data.digits(16).images)                               # the lesson's digits, (1797, 1, 16, 16)
    eps = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    assert checks.check_last_step(add_noise(x0, eps, 999, s), x0, eps)
    assert "mean" in capsys.readouterr().out
    # the digits never noised: the cell's noise, or fresh noise; both have mean ~0 and std ~1 too
    assert not checks.check_last_step(eps, x0, eps)
    assert "digits never went in" in capsys.readouterr().out
    assert not checks.check_last_step(torch.randn(x0.shape), x0, eps)
    assert "fresh noise alone" in capsys.readouterr().out
    for t in (300, 700, 998):                                            # noised, but not to the last step
        assert not checks.check_last_step(add_noise(x0, eps, t, s), x0, eps)
        assert f"that is x_{t}" in capsys.readouterr().out
    uniform = torch.rand(x0.shape, generator=torch.Generator().manual_seed(0))
    assert not checks.check_last_step(add_noise(x0, uniform, 999, s), x0, uniform)
    assert "N(0, 1)" in capsys.readouterr().out
    assert not checks.check_last_step(add_noise(x0, eps, 999, s)[:10], x0, eps)
    assert "shape" in capsys.readouterr().out
    assert not checks.check_last_step(add_noise(x0, eps, 999, s), x0, None)   # eps left as the placeholder
    assert "Not answered yet" in capsys.readouterr().out
    right = int((s.alphas_cumprod < 0.5).nonzero()[0])
    assert checks.check_half_signal(right) and not checks.check_half_signal(right - 1)
    assert "look later" in capsys.readouterr().out


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
