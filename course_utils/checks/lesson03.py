"""Checkers of lesson 03 (notebooks/03_diffusion.ipynb)."""

from __future__ import annotations

import torch

from ..noise import make_schedule
from .base import _Unanswered, as_count, as_tensor, call_student, checker, close, compare, say


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
def check_last_step(x999, x0, noise) -> bool:
    """Lesson 03: x_999 = sqrt(abar_999) x0 + sqrt(1 - abar_999) noise under the linear schedule, for the
    lesson's digits x0 and the noise (N(0, 1), x0's shape) drawn in the cell."""
    from ..noise import add_noise

    if noise is None or noise is ...:                                                # eps still the placeholder
        raise _Unanswered
    x, x0, noise = as_tensor(x999, "x_999"), as_tensor(x0, "the digits"), as_tensor(noise, "the noise eps")
    for name, value in (("eps", noise), ("x_999", x)):
        if value.shape != x0.shape:
            return say(False, f"{name} should have the digits' shape {tuple(x0.shape)}, got {tuple(value.shape)}")
    tol = max(0.01, 5 / noise.numel() ** 0.5)                                       # 5 standard errors
    if abs(noise.mean()) > tol or abs(noise.std() - 1) > tol:
        return say(False, f"eps has mean {noise.mean():.3f} and std {noise.std():.3f}: draw it from N(0, 1), "
                          "mean 0 and std 1 (torch.randn_like, not torch.rand_like)")
    root_abar = make_schedule("linear").alphas_cumprod.double().sqrt()             # (1000,)
    # x = a x0 + b noise for which weights? Least squares over every pixel: exact for any add_noise(x0, noise, t)
    parts = torch.stack([x0.flatten(), noise.flatten()], 1)                         # (N, 2)
    (a, b), = torch.linalg.lstsq(parts, x.flatten()[:, None]).solution.T.tolist()
    if (parts @ torch.tensor([a, b], dtype=parts.dtype) - x.flatten()).abs().max() > 1e-3:
        return say(False, "x_999 is not the digits and the cell's noise added together: noise the digits with "
                          "that noise, noise.add_noise(digits16, eps, t, schedule) (fresh noise alone has no digit in it)")
    if abs(a) < 1e-4:
        return say(False, f"that is the noise alone: the digits never went in. Even at t = 999 a trace is left, "
                          f"sqrt(abar_999) = {root_abar[999]:.4f} of each digit")
    t = int((root_abar - a).abs().argmin())
    if t != 999 and abs(root_abar[t] - a) < 1e-4:
        return say(False, f"that is x_{t}: the digits noised to t = {t} (sqrt(abar) = {a:.4f}); the question asks "
                          f"for the last step, t = 999 (sqrt(abar) = {root_abar[999]:.4f})")
    if not close(x, add_noise(x0, noise, 999, make_schedule("linear")), atol=1e-4):
        return say(False, f"your x_999 is {a:.4f} x digits + {b:.4f} x noise; at t = 999 the weights are "
                          f"sqrt(abar) = {root_abar[999]:.4f} and sqrt(1 - abar) = {(1 - root_abar[999] ** 2).sqrt():.4f}")
    mean, std = x.mean().item(), x.std().item()
    return say(True, f"mean {mean:.3f}, std {std:.3f}: sqrt(abar_999) = {root_abar[999]:.4f}, so almost "
                     "nothing of the digit is left. x_999 is (nearly) pure N(0, 1) noise: where sampling starts.")


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
