import pytest
import torch

from course_utils import metrics


def test_digit_judge_separates_real_digits_from_noise():
    real, labels = metrics.heldout_digits()
    good = metrics.judge_digits(real)
    noise = metrics.judge_digits(torch.rand(500, 1, 8, 8, generator=torch.Generator().manual_seed(0)))
    assert good.classes_covered == 10 and good.confidence > 0.85 and good.frechet < 2
    assert noise.confidence < 0.6 and noise.frechet > 20 * good.frechet
    ones = metrics.judge_digits(real[labels == 1])  # one class only: coverage and entropy say so
    assert ones.classes_covered <= 2 and ones.class_entropy < 0.5


def test_judge_accepts_16x16_digits_and_rejects_other_shapes():
    real, _ = metrics.heldout_digits()
    up = torch.nn.functional.interpolate(real, scale_factor=2, mode="nearest")
    assert metrics.judge_digits(up).frechet == pytest.approx(metrics.judge_digits(real).frechet)
    with pytest.raises(ValueError, match=r"\(N, 1, 8k, 8k\)"):
        metrics.judge_digits(torch.rand(4, 3, 8, 8))


def test_read_scene_rejects_non_rgb_input():
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        metrics.read_scene(torch.rand(1, 64, 64))


def test_describe_says_what_the_pixels_show():
    from course_utils import shapes as sw

    scene = sw.Scene("white", [sw.ShapeObject("red", "circle", "small", "top left")])
    image = torch.from_numpy(sw.render_scene(scene)).permute(2, 0, 1).float() / 255
    assert metrics.describe(image) == "small red circle, top left (on white)"
    assert metrics.describe(torch.full((3, 64, 64), 10 / 255)) == "no shape (on black)"
