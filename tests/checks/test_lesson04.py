"""Lesson 04's checkers (course_utils/checks/lesson04.py)."""

import re

import torch

from course_utils import checks


def test_mean_pool_attention_and_clip_loss_checkers(capsys):
    import torch.nn.functional as F

    from course_utils.text import mean_pool

    assert checks.check_mean_pool(mean_pool)
    assert not checks.check_mean_pool(lambda e, m: e.mean(1))
    assert "averaged the padding" in capsys.readouterr().out
    assert checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / q.shape[0] ** 0.5, 0))
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q, 0))
    assert "sqrt(d)" in capsys.readouterr().out
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / 384**0.5, 0))   # lesson 04's cell 19
    out = capsys.readouterr().out
    assert "divided by 19.6" in out and "q.shape[-1]" in out and "384-d" in out
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / len(K) ** 0.5, 0))   # L, not d
    out = capsys.readouterr().out
    assert "divided by 2.24" in out and "384-d" not in out
    assert not checks.check_attention_weights(lambda q, K: torch.softmax(K @ q / 8**0.5, 0) + 0.01)  # not a softmax
    assert "max difference" in capsys.readouterr().out

    def clip(i, t, tau):
        logits, labels = i @ t.T / tau, torch.arange(len(i))
        return (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels)) / 2

    assert checks.check_clip_loss(clip)
    assert not checks.check_clip_loss(lambda i, t, tau: F.cross_entropy(i @ t.T / tau, torch.arange(len(i))))
    assert "text -> image half" in capsys.readouterr().out


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
