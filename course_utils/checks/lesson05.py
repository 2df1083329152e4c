"""Checkers of lesson 05 (notebooks/05_vae.ipynb)."""

from __future__ import annotations

import torch

from .base import as_number, as_tensor, call_student, checker, close, compare, say


@checker
def check_sd_compression(answer) -> bool:
    """Lesson 05: how many times fewer numbers Stable Diffusion's 64x64x4 latent holds than a 512x512x3 image."""
    right = 512 * 512 * 3 / (64 * 64 * 4)
    if abs(as_number(answer) - right) < 1e-9:
        return say(True, f"{512 * 512 * 3:,} vs {64 * 64 * 4:,} numbers: {right:.0f}x fewer, the same factor as our 64x64 -> 8x8x4")
    return say(False, f"{answer} is not it: height x width x channels for both (the latent is 512/8 per side, 4 channels)")


@checker
def check_reparameterize(fn) -> bool:
    """Lesson 05: fn(mean, logvar, eps) -> z = mean + exp(logvar / 2) * eps."""
    g = torch.Generator().manual_seed(0)
    mean, logvar, eps = (torch.randn(2, 4, 3, 3, generator=g) for _ in range(3))
    got = call_student(fn, mean, logvar, eps)
    if close(got, mean + logvar * eps):
        return say(False, "logvar is log(sigma^2): the standard deviation is exp(logvar / 2), not logvar")
    if close(got, mean + logvar.exp() * eps):
        return say(False, "exp(logvar) is the variance; scale the noise by the standard deviation, exp(logvar / 2)")
    return compare(got, mean + (0.5 * logvar).exp() * eps, "z")


@checker
def check_kl(fn) -> bool:
    """Lesson 05: fn(mean, logvar) -> KL(N(mean, exp(logvar)) || N(0, 1)) summed over all numbers of each image."""
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(3, 4, 2, 2, generator=g), torch.randn(3, 4, 2, 2, generator=g) * 0.5
    got = as_tensor(call_student(fn, mean, logvar), "KL per image")
    if got.numel() == 1:
        return say(False, "sum over the latent numbers of each image, but keep one value per image: shape (N,)")
    return compare(got, 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3)), "KL per image")


@checker
def check_scaling_factor(answer, latents) -> bool:
    """Lesson 05: the factor that gives the latents a standard deviation of 1 (one number)."""
    value, std = as_number(answer), as_tensor(latents, "the latents").std().item()
    right = 1 / std
    if abs(value - right) < 1e-3 * right:
        return say(True, f"{right:.4f}: latents x {right:.4f} have std 1, like the diffusion noise (Stable Diffusion's is 0.18215)")
    if abs(value - std) < 1e-3:
        return say(False, "that is the standard deviation itself; the factor that cancels it is 1 / std")
    return say(False, f"{value:.4g} is not it: which number times the latents gives them a standard deviation of 1?")
