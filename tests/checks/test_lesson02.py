"""Lesson 02's checkers (course_utils/checks/lesson02.py)."""

import torch

from course_utils import checks
from course_utils.models.gan import discriminator_loss


def test_discriminator_loss_checker_names_the_smoothed_targets(capsys):
    assert not checks.check_discriminator_loss(discriminator_loss)          # the imported loss: real targets 0.9
    assert "real targets 0.9" in capsys.readouterr().out
    assert checks.check_discriminator_loss(lambda r, f: discriminator_loss(r, f, real_label=1.0))
    assert "real targets 0.9" not in capsys.readouterr().out               # negative control: targets 1 pass


def test_a_loss_that_forgot_the_mean_is_told_so(capsys):
    import torch.nn.functional as F

    def per_image(real, fake):
        return -(F.logsigmoid(real) + torch.log(1 - torch.sigmoid(fake)))  # no .mean()

    assert not checks.check_discriminator_loss(per_image)
    assert "mean over the batch" in capsys.readouterr().out


def test_discriminator_loss_checker_names_swapped_arguments(capsys):
    def d_loss(r, f):
        return -(torch.log(torch.sigmoid(r)).mean() + torch.log(1 - torch.sigmoid(f)).mean())

    assert checks.check_discriminator_loss(d_loss)
    assert not checks.check_discriminator_loss(lambda r, f: d_loss(f, r))
    assert "swapped" in capsys.readouterr().out


def test_mode_collapse_checker():
    assert checks.check_mode_collapse("b", [50] * 10, [0, 250, 250, 0, 0, 0, 0, 0, 0, 0])
    assert not checks.check_mode_collapse("a", [50] * 10, [0, 250, 250, 0, 0, 0, 0, 0, 0, 0])


def test_gradient_ratio_checker(capsys):
    assert checks.check_gradient_ratio(99)
    assert not checks.check_gradient_ratio(1 / 99)
    assert "upside down" in capsys.readouterr().out
    assert not checks.check_gradient_ratio(100)
    assert "one slope alone" in capsys.readouterr().out
