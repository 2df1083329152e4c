"""Lesson 00's "real or generated?" quiz shows as many real images as generated ones, so that
its prose ("half of these digits were scanned") holds for any seed, and guessing scores 50 %."""

import torch

from course_utils import widgets


def test_quiz_is_half_real_half_generated_for_every_seed():
    real, fake = torch.zeros(10, 1, 8, 8), torch.ones(10, 1, 8, 8)
    for seed in range(20):
        truths = [t for _, t in widgets.real_or_generated_quiz(real, fake, n_rounds=10, seed=seed).rounds]
        assert truths.count("real") == truths.count("generated") == 5, seed
    orders = {tuple(t for _, t in widgets.real_or_generated_quiz(real, fake, 10, seed=s).rounds) for s in range(5)}
    assert len(orders) > 1                     # still shuffled: the order is not fixed


def test_quiz_fills_up_from_the_larger_set_when_one_is_short():
    real, fake = torch.zeros(2, 1, 8, 8), torch.ones(10, 1, 8, 8)
    truths = [t for _, t in widgets.real_or_generated_quiz(real, fake, n_rounds=6, seed=0).rounds]
    assert truths.count("real") == 2 and truths.count("generated") == 4
    assert len(widgets.real_or_generated_quiz(real, fake[:1], n_rounds=10).rounds) == 3   # all there is
