"""Lesson 05's checkers (course_utils/checks/lesson05.py)."""

import torch

from course_utils import checks


def test_vae_exercise_checkers(capsys):
    assert checks.check_sd_compression(48) and not checks.check_sd_compression(64)
    assert checks.check_reparameterize(lambda m, lv, e: m + (0.5 * lv).exp() * e)
    assert not checks.check_reparameterize(lambda m, lv, e: m + lv * e)
    assert "exp(logvar / 2)" in capsys.readouterr().out
    assert checks.check_kl(lambda m, lv: 0.5 * (m**2 + lv.exp() - 1 - lv).sum(dim=(1, 2, 3)))
    assert not checks.check_kl(lambda m, lv: 0.5 * (m**2 + lv.exp() - 1 - lv).sum())
    assert "one value per image" in capsys.readouterr().out
    z = torch.randn(1000) * 4
    assert checks.check_scaling_factor(1 / z.std().item(), z)
    assert not checks.check_scaling_factor(z.std().item(), z)
    assert "1 / std" in capsys.readouterr().out
    assert checks.check_sd_kl_weight(1e-6 / 48)
    assert not checks.check_sd_kl_weight(1e-6 * 48)
    assert "other direction" in capsys.readouterr().out
    assert not checks.check_sd_kl_weight(1e-6)
    assert "12,288 / 256" in capsys.readouterr().out
    assert not checks.check_sd_kl_weight(1e-6 * 12288) and not checks.check_sd_kl_weight(0.5)
    assert checks.check_edge_guess([0.7, 1.0]) and checks.check_edge_guess(torch.tensor([0.7, 1]))
    capsys.readouterr()
    assert not checks.check_edge_guess([1.0, 1.0])
    assert "most likely value" in capsys.readouterr().out
    assert not checks.check_edge_guess([0.7, 0.7])
    assert "median" in capsys.readouterr().out
    assert not checks.check_edge_guess(0.7)
    assert "two numbers" in capsys.readouterr().out
