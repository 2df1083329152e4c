"""The insight exercises of lessons 00 and 04: their checkers accept a right answer, and refuse
the near misses a student is likely to try (each refusal is a negative control)."""

import re

from course_utils import checks


def test_closer_than_crimson_accepts_a_colour_swap(capsys):
    assert checks.check_closer_than_crimson("a blue circle")      # 0.69 > crimson's 0.66
    assert "above crimson" in capsys.readouterr().out


def test_closer_than_crimson_refuses_the_same_picture_and_far_prompts(capsys):
    assert not checks.check_closer_than_crimson("a red circle")         # not a different picture
    assert not checks.check_closer_than_crimson("a scarlet circle")     # a synonym is still a red circle
    assert not checks.check_closer_than_crimson("a crimson disc")       # no Shapes World word: unknown picture
    far = "a green star far away in the bottom right corner of a white picture"
    assert not checks.check_closer_than_crimson(far)                    # different, but not closer
    assert "below crimson" in capsys.readouterr().out
    assert not checks.check_closer_than_crimson(["a blue circle"])      # not a string


def test_closer_than_crimson_prints_enough_digits_to_decide_a_near_tie(capsys):
    assert not checks.check_closer_than_crimson("a purple circle")      # 0.6634 vs crimson's 0.6638
    out = capsys.readouterr().out
    yours, crimson = (float(x) for x in re.findall(r"(\d\.\d+)", out)[:2])
    assert yours < crimson                                              # the printed numbers decide it
    assert "You changed one word" in out and "try another colour" in out
    assert "change just one" not in out                                 # not told to do what it did
    assert not checks.check_closer_than_crimson("a green star far away in the bottom right corner")
    out = capsys.readouterr().out
    assert "change just one" in out and re.search(r"0\.\d\d, below crimson's 0\.\d\d\.", out)  # far apart: 2 decimals


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
