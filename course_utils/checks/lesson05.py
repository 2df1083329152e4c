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


@checker
def check_sd_kl_weight(answer) -> bool:
    """Lesson 05: the kl_weight for our mean-based vae_loss that weighs the KL as a summed loss with beta 1e-6 does."""
    value, ratio = as_number(answer), (3 * 64 * 64) / (4 * 8 * 8)          # 12,288 pixel values per 256 latent numbers
    right = 1e-6 / ratio
    if abs(value - right) < 1e-3 * right:
        return say(True, f"{right:.3g}: 1e-6 / 48. Multiply vae_loss by 12,288 and its KL weight becomes "
                         f"{right:.3g} x 12,288 / 256 = 1e-6 on the summed KL. Our 1e-6 is 48x heavier than that")
    if abs(value - 1e-6 * ratio) < 1e-3 * 1e-6 * ratio:
        return say(False, "that is the other direction (our 1e-6 written as a summed weight, 1e-6 x 48); "
                          "which kl_weight becomes 1e-6 once it is multiplied by 48?")
    if abs(value - 1e-6) < 1e-9:
        return say(False, "the same number means something else here: vae_loss divides the squared error by 12,288 "
                          "and the KL by only 256, so a mean-based weight and a summed weight differ by 12,288 / 256")
    if any(abs(value - 1e-6 * f) < 1e-3 * 1e-6 * f for f in (3 * 64 * 64, 1 / (3 * 64 * 64), 4 * 8 * 8, 1 / (4 * 8 * 8))):
        return say(False, "both terms are means: the squared error over 3 x 64 x 64 numbers, the KL over 4 x 8 x 8; "
                          "the factor between the two ways of writing it is the ratio of those counts")
    return say(False, f"{value:.3g} is not it: write 12,288 x vae_loss as a sum of squared errors plus "
                      f"(some weight) x the summed KL, then ask which kl_weight makes that weight 1e-6")


@checker
def check_edge_guess(answer) -> bool:
    """Lesson 05: [the value that minimises the expected squared error, the one for the absolute error] of a pixel
    that is 0 with probability 0.3 and 1 with probability 0.7."""
    got = as_tensor(answer, "your answer").flatten()
    if got.numel() != 2:
        return say(False, f"give two numbers, [best for the squared error, best for the absolute error]; got {got.numel()}")
    sq, ab = got.tolist()
    sq_ok, ab_ok = abs(sq - 0.7) < 1e-6, abs(ab - 1.0) < 1e-6
    if sq_ok and ab_ok:
        return say(True, "0.7 and 1: squared error is smallest at the mean (a grey, soft edge), absolute error at "
                         "the median (a clean 1). That is why an MSE-trained decoder blurs an edge it is unsure of")
    if not sq_ok:
        hint = ("1 is the most likely value, but its expected squared error is 0.3 x 1 = 0.3, and 0.7's is only "
                "0.7 x 0.09 + 0.3 x 0.49 = 0.21. " if abs(sq - 1.0) < 1e-6 else "")
        return say(False, f"{hint}For the squared error, write 0.3 v^2 + 0.7 (1 - v)^2 and find where its slope is zero")
    return say(False, "the absolute error 0.3 |v| + 0.7 |1 - v| falls all the way to v = 1 (its slope is 0.3 - 0.7 < 0 "
                      "everywhere in between); it is minimised by the median, not the mean")
