"""Checkers of lesson 00 (notebooks/00_introduction.ipynb)."""

from __future__ import annotations

from .base import AnswerError, as_number, as_tensor, checker, say


@checker
def check_compression_ratio(answer) -> bool:
    """Lesson 00: how many times fewer numbers an 8x8x4 latent holds than a 64x64x3 image."""
    value, right = as_number(answer), 64 * 64 * 3 / (8 * 8 * 4)
    if abs(value - right) < 1e-9:
        return say(True, f"{64 * 64 * 3:,} numbers vs {8 * 8 * 4}: {right:.0f} times fewer. "
                         "The denoiser works on that small grid: that is why latent diffusion is fast.")
    if abs(value - 64 * 64 / 64) < 1e-9:
        return say(False, "close: you compared pixels, but count the channels too (3 colours vs 4 latent channels)")
    return say(False, f"{answer} is not it: count all the numbers (height x width x channels) of each")


@checker
def check_timeline_order(answer) -> bool:
    """Lesson 00: the models sorted from oldest to newest, as a list of names."""
    right = ["RBM", "VAE", "GAN", "DDPM", "Stable Diffusion", "DiT"]
    if isinstance(answer, str) or not hasattr(answer, "__iter__"):
        raise AnswerError(f"give a list of names, e.g. {right[::-1]}, in the right order")
    answer = list(answer)
    if answer == right:
        return say(True, "RBM / deep belief nets 2006 (RBMs themselves: 1986), VAE 2013, GAN 2014, DDPM 2020, Stable Diffusion 2022, DiT 2023.")
    if sorted(map(str, answer)) != sorted(right):
        return say(False, f"use exactly these names, each once: {sorted(right)}")
    first_wrong = next(i for i, (a, b) in enumerate(zip(answer, right)) if a != b)
    hint = " (GANs are from 2014, not 2012)" if "GAN" in (answer[first_wrong], right[first_wrong]) else ""
    return say(False, f"the first {first_wrong} are in order; position {first_wrong + 1} should be "
                      f"{right[first_wrong]!r}{hint}")


@checker
def check_fool_the_judge(images) -> bool:
    """Lesson 00: images (N, 1, 8, 8) in [0, 1], N >= 20, that the digit judge calls confident
    (0.85 or more) although no one would call them a good generator's output (3 digits or fewer)."""
    from ..digit_judge import judge_digits

    x = as_tensor(images, "your images")
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[-1] not in (8, 16) or x.shape[-2] != x.shape[-1]:
        raise AnswerError(f"give digit images of shape (N, 1, 8, 8), like data.digits().images; got shape {tuple(x.shape)}")
    if len(x) < 20:
        raise AnswerError(f"give at least 20 images, so the judge's numbers mean something; got {len(x)}")
    if x.min() < 0 or x.max() > 1:
        raise AnswerError(f"pixels must be in [0, 1], got values from {x.min():.2f} to {x.max():.2f}")
    r = judge_digits(x.float())
    if r.confidence < 0.85:
        return say(False, f"the judge is only {r.confidence:.2f} confident (real digits: about 0.9): "
                          "give it digits it can read easily")
    if r.classes_covered > 3:
        return say(False, f"confidence {r.confidence:.2f}, but {r.classes_covered}/10 digits covered: that looks like "
                          "a good generator. A bad one can be confident too: what if it drew only one digit?")
    return say(True, f"confidence {r.confidence:.2f} (real digits: about 0.9) from a 'generator' that covers "
                     f"{r.classes_covered}/10 digits (Frechet distance {r.frechet:.1f}). Confidence alone is fooled by "
                     "mode collapse (lesson 02): that is why the judge also counts digits and measures a distance.")
