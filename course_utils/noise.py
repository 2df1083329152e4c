"""The forward process of diffusion, written from the formulas.

A noise schedule fixes how much noise is added at each of T steps (beta_t); everything else
follows from it:

    alpha_t   = 1 - beta_t
    abar_t    = alpha_1 * alpha_2 * ... * alpha_t          ("alphas_cumprod")
    q(x_t | x_0) = N( sqrt(abar_t) x_0 , (1 - abar_t) I )   (Ho et al. 2020, eq. 4)
    SNR(t)    = abar_t / (1 - abar_t)

`add_noise` keeps the contract of diffusers' `scheduler.add_noise(original_samples, noise,
timesteps)`, and tests/test_noise.py proves both give the same numbers."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import validate as v

KINDS = ("linear", "scaled_linear", "cosine")
DEFAULT_BETAS = {"linear": (1e-4, 0.02), "scaled_linear": (0.00085, 0.012)}


@dataclass
class Schedule:
    """A noise schedule: `betas`, `alphas`, `alphas_cumprod` (all (T,) float32 tensors)."""
    kind: str
    betas: torch.Tensor

    def __post_init__(self):
        self.alphas = 1.0 - self.betas
        self.alphas_cumprod = torch.cumprod(self.alphas, dim=0)

    @property
    def num_timesteps(self) -> int:
        return len(self.betas)

    def check_timesteps(self, t) -> torch.Tensor:
        """t as a long tensor, or a ValueError that says the allowed range."""
        try:
            t = torch.as_tensor(t)
        except (TypeError, ValueError, RuntimeError):
            raise v.InputTypeError(f"t must be a whole number, or a list / tensor of them, got {t!r:.60}") from None
        if t.dtype == torch.bool or t.is_complex():
            raise v.InputTypeError(f"t must hold whole numbers (timesteps), got a {t.dtype} tensor")
        if t.is_floating_point() and not torch.equal(t, t.round()):
            raise ValueError(f"t must be whole numbers (timesteps), got {t.flatten()[:8].tolist()}")
        t = t.long()
        T = self.num_timesteps
        if t.numel() and (t.min() < 0 or t.max() >= T):
            bad = t[(t < 0) | (t >= T)][0].item()
            raise ValueError(f"t must be in [0, {T - 1}] for this {T}-step schedule, got {bad}")
        return t

    def snr(self, t) -> torch.Tensor:
        """Signal-to-noise ratio abar_t / (1 - abar_t) at timestep(s) t."""
        abar = self.alphas_cumprod[self.check_timesteps(t)]
        return abar / (1 - abar)

    def __repr__(self):
        a = self.alphas_cumprod
        return (f"Schedule({self.kind!r}, T={self.num_timesteps}, beta {self.betas[0]:.2e}..{self.betas[-1]:.2e}, "
                f"abar_T-1={a[-1]:.2e})")


def check_schedule(schedule) -> Schedule:
    """`schedule` if it is a noise Schedule, else a TypeError that says how to make one."""
    if not isinstance(schedule, Schedule):
        raise v.InputTypeError(f"schedule must be a noise Schedule, e.g. make_schedule('linear'), "
                               f"got {type(schedule).__name__}")
    return schedule


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """Nichol & Dhariwal 2021, eq. 17: abar(t) = cos^2(((t/T + s) / (1 + s)) * pi/2);
    beta_t = 1 - abar(t+1)/abar(t), clipped at `max_beta` so the last step is not all noise."""
    def abar(u):
        return math.cos((u + s) / (1 + s) * math.pi / 2) ** 2
    T = num_timesteps
    betas = [min(1 - abar((i + 1) / T) / abar(i / T), max_beta) for i in range(T)]
    return torch.tensor(betas, dtype=torch.float32)


def make_schedule(kind: str = "linear", num_timesteps: int = 1000, beta_start: float | None = None,
                  beta_end: float | None = None) -> Schedule:
    """A noise schedule of `kind` 'linear' (DDPM), 'scaled_linear' (Stable Diffusion) or 'cosine'.

    Example: s = make_schedule("linear"); s.alphas_cumprod[999] -> tensor(4.0358e-05)"""
    v.one_of("kind", kind, KINDS)
    v.whole("num_timesteps", num_timesteps, 2, 10_000, "1000 is what DDPM and Stable Diffusion use")
    for name, beta in (("beta_start", beta_start), ("beta_end", beta_end)):
        if beta is not None:
            v.number(name, beta, 0.0, 1.0, "e.g. beta_start=1e-4, beta_end=0.02", open_lo=True)
    if kind == "cosine":
        return Schedule(kind, cosine_betas(num_timesteps))
    lo, hi = DEFAULT_BETAS[kind]
    lo, hi = beta_start if beta_start is not None else lo, beta_end if beta_end is not None else hi
    if not 0 < lo <= hi < 1:
        raise ValueError(f"need 0 < beta_start <= beta_end < 1, got {lo} and {hi}")
    if kind == "linear":
        betas = torch.linspace(lo, hi, num_timesteps, dtype=torch.float32)
    else:  # linear in sqrt(beta), then squared
        betas = torch.linspace(lo**0.5, hi**0.5, num_timesteps, dtype=torch.float32) ** 2
    return Schedule(kind, betas)


def add_noise(x0: torch.Tensor, noise: torch.Tensor, t, schedule: Schedule) -> torch.Tensor:
    """Sample q(x_t | x_0): sqrt(abar_t) * x0 + sqrt(1 - abar_t) * noise, per image of the batch.

    x0, noise: (B, C, H, W) (or one image (C, H, W) with a single t); t: an int or (B,) ints.
    Example: x_t = add_noise(x0, torch.randn_like(x0), torch.tensor([10, 500]), schedule)"""
    check_schedule(schedule)
    x0, noise = v.tensor("x0", x0, (1, 2, 3, 4, 5)), v.tensor("noise", noise)
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape, got {tuple(x0.shape)} and {tuple(noise.shape)}")
    t = schedule.check_timesteps(t)
    if t.ndim > 1 or (t.ndim == 1 and len(t) not in (1, x0.shape[0])):
        raise ValueError(f"t must be one timestep or one per image ({x0.shape[0]}), got shape {tuple(t.shape)}")
    abar = schedule.alphas_cumprod.to(device=x0.device, dtype=x0.dtype)[t.to(x0.device)]
    abar = abar.reshape(-1, *([1] * (x0.ndim - 1))) if t.ndim == 1 else abar  # (B, 1, 1, 1)
    return abar**0.5 * x0 + (1 - abar) ** 0.5 * noise
