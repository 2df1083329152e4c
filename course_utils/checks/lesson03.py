"""Checkers of lesson 03 (notebooks/03_diffusion.ipynb)."""

from __future__ import annotations

import torch

from ..noise import make_schedule
from .base import as_count, as_tensor, call_student, checker, close, compare, say


@checker
def check_add_noise(fn) -> bool:
    """Lesson 03: fn(x0, noise, t, schedule) must equal q(x_t | x_0) for a batch of timesteps."""
    from ..noise import add_noise

    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    t = torch.tensor([0, 10, 500, 999])
    s = make_schedule("linear")
    got = call_student(fn, x0, noise, t, s)
    abar = s.alphas_cumprod[t].reshape(-1, 1, 1, 1)
    if close(got, (1 - abar) ** 0.5 * x0 + abar**0.5 * noise):
        return say(False, "x0 and the noise have swapped weights: x0 gets sqrt(abar_t), the noise sqrt(1 - abar_t)")
    if close(got, abar * x0 + (1 - abar) * noise):
        return say(False, "take square roots: the weights are sqrt(abar_t) and sqrt(1 - abar_t), so the variance stays 1")
    return compare(got, add_noise(x0, noise, t, s), "add_noise(x0, noise, t, schedule)")


@checker
def check_last_step(x999) -> bool:
    """Lesson 03: x_999 of the digits under the linear schedule, as a tensor of many numbers."""
    x = as_tensor(x999, "x_999")
    if x.numel() < 100:
        return say(False, f"x_999 should be a whole batch of noised digits, got {x.numel()} numbers")
    mean, std = x.mean().item(), x.std().item()
    abar = make_schedule("linear").alphas_cumprod[999].item()
    if abs(mean) < 0.05 and abs(std - 1) < 0.05:
        return say(True, f"mean {mean:.3f}, std {std:.3f}: sqrt(abar_999) = {abar ** 0.5:.4f}, so almost "
                         "nothing of the digit is left. x_999 is (nearly) pure N(0, 1) noise: where sampling starts.")
    return say(False, f"mean {mean:.3f}, std {std:.3f}: not yet pure noise. At t = 999 abar is about "
                      f"{abar:.0e}; did you noise to t = 999 with noise drawn from N(0, 1)?")


@checker
def check_half_signal(t) -> bool:
    """Lesson 03: the first timestep at which the linear schedule keeps less than half the signal
    variance (abar_t < 0.5, i.e. SNR < 1), a whole number in 0..999."""
    abar = make_schedule("linear").alphas_cumprod
    t, right = as_count(t, "t"), int((abar < 0.5).nonzero()[0])
    if not 0 <= t <= 999:
        return say(False, f"t must be a timestep in 0..999, got {t}")
    if t == right:
        return say(True, f"t = {right}: from here on there is more noise than image (SNR < 1). "
                         "A quarter of the way in, and already half gone: the linear schedule destroys early.")
    return say(False, f"t = {t} has abar = {abar[t]:.3f}; look {'later' if t < right else 'earlier'}")
