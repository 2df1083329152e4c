"""Checkers of lesson 02 (notebooks/02_gan.ipynb)."""

from __future__ import annotations

import torch

from .base import AnswerError, as_number, call_student, checker, compare, say


@checker
def check_discriminator_loss(fn) -> bool:
    """Lesson 02: fn(real_logits, fake_logits) -> -[mean log D(x) + mean log(1 - D(G(z)))], no smoothing."""
    from ..models.gan import discriminator_loss

    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(8, 1, generator=g) + 1, torch.randn(8, 1, generator=g) - 1
    got = call_student(fn, real, fake)
    if not isinstance(got, (int, float)) and torch.as_tensor(got).numel() > 1:
        return say(False, "that is one loss per image: take the mean over the batch, the loss is one number")
    value = as_number(got, "the loss")
    want = float(-(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean()))
    swapped = float(-(torch.log(torch.sigmoid(fake)).mean() + torch.log(1 - torch.sigmoid(real)).mean()))
    if abs(value - swapped) < 1e-4:
        return say(False, "the labels are swapped: D should say 1 for real images and 0 for fakes")
    if abs(value + want) < 1e-4:
        return say(False, "mind the sign: a loss is minimised, so it is MINUS the log-likelihood")
    smoothed = float(discriminator_loss(real, fake))                    # real targets 0.9, its default
    if abs(value - smoothed) < 1e-4:
        return say(False, "that is the smoothed loss, real targets 0.9 (the imported discriminator_loss's default): "
                          "this exercise wants real targets 1, -log D(x) for a real image, as in section 1")
    return compare(value, want, "discriminator loss", atol=1e-4)


def _covered(counts) -> int:
    counts = [as_number(c, "a class count") for c in counts]
    return sum(1 for x in counts if x >= 0.02 * sum(counts))


@checker
def check_mode_collapse(answer, counts_a, counts_b) -> bool:
    """Lesson 02: which run, 'a' or 'b', collapsed, judged from its predicted-class counts."""
    if str(answer).strip().lower() not in ("a", "b"):
        raise AnswerError(f"answer 'a' or 'b', got {answer!r}")
    right = "a" if _covered(counts_a) < _covered(counts_b) else "b"
    if str(answer).strip().lower() == right:
        return say(True, f"run {right} covers {min(_covered(counts_a), _covered(counts_b))} of 10 digits: "
                         "its generator found a few outputs that fool D and stopped exploring")
    return say(False, "count how many digits make up at least 2 % of each run's samples")


@checker
def check_gradient_ratio(answer) -> bool:
    """Lesson 02: a number, |d(-log D)/da| / |d log(1 - D)/da| at D(G(z)) = 0.01 (a = D's logit)."""
    value = as_number(answer, "the ratio")
    d = 0.01                              # d/da log(1 - sigmoid(a)) = -D;  d/da -log sigmoid(a) = -(1 - D)
    want = (1 - d) / d
    if abs(value - want) < 1e-3 * want:
        return say(True, f"(1 - D) / D = {want:.0f}: where D is sure the fake is fake, the non-saturating loss "
                         "pushes G about a hundred times harder")
    if abs(value - 1 / want) < 1e-3 / want:
        return say(False, "upside down: which of the two gradients is the big one when D(G(z)) is near 0?")
    if abs(value - 1 / d) < 1e-3 / d:
        return say(False, "close, but 1 / D = 100 is one slope alone (of -log D, with respect to D); the question "
                          "compares two slopes: divide by the saturating loss's slope too")
    return say(False, f"not quite (you gave {value:.4g}). With D = sigmoid(a): d/da log(1 - D) = -D and "
                      "d/da (-log D) = -(1 - D); divide the two sizes at D = 0.01")
