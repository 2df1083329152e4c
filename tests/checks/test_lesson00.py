"""Lesson 00's checkers (course_utils/checks/lesson00.py)."""

from course_utils import checks


def test_compression_ratio(capsys):
    assert checks.check_compression_ratio(48) is True
    assert checks.check_compression_ratio(64) is False
    assert "channels" in capsys.readouterr().out


def test_timeline_order(capsys):
    assert checks.check_timeline_order(["RBM", "VAE", "GAN", "DDPM", "Stable Diffusion", "DiT"])
    assert not checks.check_timeline_order(["GAN", "RBM", "VAE", "DDPM", "Stable Diffusion", "DiT"])
    assert "2014, not 2012" in capsys.readouterr().out


def test_fool_the_judge_accepts_one_repeated_digit_and_refuses_honest_sets(capsys):
    import torch

    from course_utils import data

    d = data.digits()
    one_digit = d.images[d.labels == 1][:1].repeat(40, 1, 1, 1)       # a "generator" that draws one 1
    assert checks.check_fool_the_judge(one_digit)
    assert "mode collapse" in capsys.readouterr().out
    assert not checks.check_fool_the_judge(d.images[:64])              # real digits: all ten covered
    assert not checks.check_fool_the_judge(torch.rand(64, 1, 8, 8))   # noise: the judge is not confident
    assert not checks.check_fool_the_judge(one_digit[:5])              # too few to judge
    assert not checks.check_fool_the_judge(one_digit * 2)              # pixels out of [0, 1]
