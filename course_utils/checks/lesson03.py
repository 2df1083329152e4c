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


@checker
def check_ddim_step(fn) -> bool:
    """Lesson 03: fn(eps, t, t_prev, x_t, alphas_cumprod) -> x_(t_prev), DDIM's eta = 0 step (eq. 12),
    compared with diffusers' DDIMScheduler.step on 50 steps (t_prev < 0 means abar = 1)."""
    from diffusers import DDIMScheduler

    from ..models.ddpm import SCHEDULER_CONFIG

    sched = DDIMScheduler(**(SCHEDULER_CONFIG | {"clip_sample": False}))
    sched.set_timesteps(50)
    abar = sched.alphas_cumprod
    g = torch.Generator().manual_seed(0)
    for t in (980, 500, 20, 0):
        x, eps = 2 * torch.randn(2, 1, 8, 8, generator=g), torch.randn(2, 1, 8, 8, generator=g)
        want = sched.step(eps, t, x).prev_sample
        got = as_tensor(call_student(fn, eps, t, t - 20, x, abar.clone()), "x_(t_prev)")
        x0 = (x - (1 - abar[t]).sqrt() * eps) / abar[t].sqrt()
        if not close(got, want, atol=1e-4):
            return say(False, _ddim_hint(got, want, x0, t))
    return compare(got, want, "your DDIM step vs DDIMScheduler.step", atol=1e-4)


def _ddim_hint(got, want, x0, t) -> str:
    """What a wrong DDIM step most likely did, from the one step at timestep t where it failed."""
    if close(got, x0, atol=1e-4):
        return f"at t = {t} you returned the guess of x_0 itself: scale it by sqrt(abar_prev) and add back the noise part"
    if t == 0:
        return "the last step (t = 0, t_prev = -20) goes to the clean end: there abar_prev = 1, not alphas_cumprod[-20]"
    return (f"at t = {t} your x_(t_prev) differs from DDIMScheduler.step: x_prev = sqrt(abar_prev) * x0_pred "
            "+ sqrt(1 - abar_prev) * eps, with x0_pred = (x_t - sqrt(1 - abar_t) * eps) / sqrt(abar_t)")
