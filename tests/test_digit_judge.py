"""course_utils/digit_judge.py: the classifier that judges generated digits."""

import pytest
import torch

from course_utils import digit_judge


def test_digit_judge_separates_real_digits_from_noise():
    real, labels = digit_judge.heldout_digits()
    good = digit_judge.judge_digits(real)
    noise = digit_judge.judge_digits(torch.rand(500, 1, 8, 8, generator=torch.Generator().manual_seed(0)))
    assert good.classes_covered == 10 and good.confidence > 0.85 and good.frechet < 2
    assert noise.confidence < 0.6 and noise.frechet > 20 * good.frechet
    ones = digit_judge.judge_digits(real[labels == 1])  # one class only: coverage and entropy say so
    assert ones.classes_covered <= 2 and ones.class_entropy < 0.5


def test_judge_accepts_16x16_digits_and_rejects_other_shapes():
    real, _ = digit_judge.heldout_digits()
    up = torch.nn.functional.interpolate(real, scale_factor=2, mode="nearest")
    assert digit_judge.judge_digits(up).frechet == pytest.approx(digit_judge.judge_digits(real).frechet)
    with pytest.raises(ValueError, match=r"\(N, 1, 8k, 8k\)"):
        digit_judge.judge_digits(torch.rand(4, 3, 8, 8))
