"""Flow matching / rectified flow (lesson 07): a straight path from data to noise, and its velocity.

Conventions as in Stable Diffusion 3 and diffusers' FlowMatchEulerDiscreteScheduler: t in [0, 1],
t = 0 is data, t = 1 is pure noise, x_t = (1 - t) x0 + t eps, and the model learns the velocity
v = dx_t/dt = eps - x0 (Liu, Gong & Liu 2022; Lipman et al. 2022). Sampling integrates
dx/dt = v from t = 1 down to t = 0 with a few Euler steps."""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn.functional as F

from . import validate
from .images import to_unit

TIME_SCALE = 1000.0   # the U-Net's timestep embedding expects 0..1000, as for diffusion


def interpolate(x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """The straight path: x_t = (1 - t) x0 + t noise, with t (B,) in [0, 1] broadcast per sample."""
    x0, noise = validate.tensor("x0", x0, (1, 2, 3, 4, 5)), validate.tensor("noise", noise)
    if x0.shape != noise.shape:
        raise ValueError(f"x0 and noise must have the same shape, got {tuple(x0.shape)} and {tuple(noise.shape)}")
    t = _check_times(t, x0)
    if t.min() < 0 or t.max() > 1:
        raise ValueError(f"t must be in [0, 1] (0 = data, 1 = noise), got values from {float(t.min())} to {float(t.max())}")
    t = t.reshape(-1, *([1] * (x0.ndim - 1)))                                     # (B, 1, ...)
    return (1 - t) * x0 + t * noise


def _check_times(t, x0: torch.Tensor) -> torch.Tensor:
    """t as a tensor of x0's dtype: one time, or one per sample (B,), none of them NaN."""
    if isinstance(t, bool) or (isinstance(t, torch.Tensor) and t.dtype == torch.bool):
        raise validate.InputTypeError(f"t must be a number or a tensor of numbers in [0, 1], got {t!r:.60}")
    try:
        t = torch.as_tensor(t, dtype=x0.dtype, device=x0.device)
    except (TypeError, ValueError, RuntimeError):
        raise validate.InputTypeError(f"t must be a number or a tensor of numbers in [0, 1], got {t!r:.60}") from None
    if t.numel() not in (1, len(x0)) or t.ndim > 1:
        raise ValueError(f"t must be one time or one per sample ({len(x0)},), got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("t must be in [0, 1] (0 = data, 1 = noise), got NaN or inf")
    return t


def flow_loss(model, x0: torch.Tensor, generator: torch.Generator | None = None, noise: torch.Tensor | None = None):
    """The rectified-flow objective: || (eps - x0) - v_theta(x_t, t) ||^2, t ~ U(0, 1).

    `model(x_t, t)` gets t in [0, 1] (B,) and returns the velocity; x0 (B, ...) clean samples.
    noise: the noise end of each line; None draws it fresh (reflow passes the coupled noise)."""
    B = x0.shape[0]
    t = torch.rand(B, generator=generator)                                       # 1. a random time per sample
    eps = torch.randn(x0.shape, generator=generator) if noise is None else noise  # 2. its noise end
    x_t = interpolate(x0, eps.to(x0), t.to(x0))                                   # 3. a point on the line
    return F.mse_loss(model(x_t, t.to(x0.device)), (eps.to(x0) - x0))             # 4. velocity = eps - x0


def unet_velocity(unet):
    """Wrap a diffusers UNet2DModel as model(x_t, t in [0, 1]) -> velocity (timestep x 1000)."""
    return lambda x, t: unet(x, t * TIME_SCALE).sample


@torch.no_grad()
def euler_sample(model, noise: torch.Tensor, steps: int, record: bool = False):
    """Integrate dx/dt = v from t = 1 (noise) to t = 0 in `steps` equal Euler steps.

    Returns x0 (same shape as noise), or (x0, [x at each time], times) with record=True."""
    steps = validate.whole("steps", steps, 1, validate.MAX_STEPS, "a straight flow needs few: 8 to 50")
    noise = validate.tensor("noise", noise, (2, 3, 4, 5))
    if not callable(model):
        raise validate.InputTypeError(f"model must be callable as model(x, t) -> velocity, got {type(model).__name__}")
    times = torch.linspace(1.0, 0.0, steps + 1)
    x, trail = noise, [noise]
    for t, t_next in zip(times[:-1], times[1:]):
        v = model(x, t.expand(len(x)).to(x))                                      # (B, ...) velocity at (x, t)
        x = x + (t_next - t) * v                                                  # one straight step toward data
        trail.append(x)
    return (x, trail, times.tolist()) if record else x


# ---------------------------------------------------------------- the 2-D toy
def toy_data(n: int, seed: int = 0) -> torch.Tensor:
    """n points of two interleaved half-moons (scikit-learn's make_moons), scaled to about [-2, 2]^2."""
    n, seed = validate.whole("n", n, 2, 1_000_000), validate.whole("seed", seed, 0, 2**32 - 1)
    from sklearn.datasets import make_moons

    pts, _ = make_moons(n, noise=0.06, random_state=seed)
    return torch.tensor((pts - [0.5, 0.25]) * 1.6, dtype=torch.float32)


class ToyVelocity(torch.nn.Module):
    """A small MLP v(x, t) for 2-D points: (x, y, t) -> (vx, vy)."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(3, hidden), torch.nn.SiLU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.SiLU(), torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
                                       torch.nn.Linear(hidden, 2))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, t.reshape(-1, 1).to(x)], dim=1))


def train_toy(steps: int = 2000, n: int = 4096, seed: int = 0, lr: float = 3e-3):
    """Train ToyVelocity on the moons with flow_loss; returns (model, losses). ~10 s on a CPU."""
    validate.whole("n", n, 2, 1_000_000), validate.whole("seed", seed, 0, 2**32 - 1)
    torch.manual_seed(seed)
    return _fit_toy(ToyVelocity(), toy_data(n, seed), None, steps, seed, lr)


def _fit_toy(model, data: torch.Tensor, noise: torch.Tensor | None, steps: int, seed: int, lr: float):
    """Adam on flow_loss over batches of 256 rows of data (and of its coupled noise, if given)."""
    validate.whole("steps", steps, 1, 100_000), validate.number("lr", lr, 0.0, 1.0, "3e-3 works", open_lo=True)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g, losses = torch.Generator().manual_seed(seed), []
    for _ in range(steps):
        idx = torch.randint(0, len(data), (256,), generator=g)
        loss = flow_loss(model, data[idx], g, None if noise is None else noise[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model.eval(), losses


def reflow(model, n: int = 4096, steps: int = 500, sampler_steps: int = 100, seed: int = 2, lr: float = 1e-3):
    """One round of reflow (Liu, Gong & Liu 2022): returns (new model, (x0, noise) pairs, losses).

    1. draw noise (from `seed`) and follow `model`'s flow to where it lands: pairs (x0, noise)
       that the flow couples, no longer independent;
    2. fine-tune a copy of `model` on the straight lines between those pairs.
    The new pairing never raises a convex transport cost (Liu et al.), so the lines get shorter and
    cross less, and few Euler steps (even one) follow them. Measure the new model on noise it never trained on,
    drawn from another seed (lesson 07 uses seed 1). Used in notebooks/07_beyond.ipynb."""
    import copy

    n, seed = validate.whole("n", n, 2, 1_000_000), validate.whole("seed", seed, 0, 2**32 - 1)
    if not isinstance(model, torch.nn.Module):
        raise validate.InputTypeError(f"model must be a torch.nn.Module to fine-tune (e.g. from flow.train_toy), "
                                      f"got {type(model).__name__}")
    noise = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))      # (n, 2) the noise ends
    x0 = euler_sample(model, noise, sampler_steps)                                # (n, 2) where the flow takes them
    torch.manual_seed(seed)
    new, losses = _fit_toy(copy.deepcopy(model).train(), x0, noise, steps, seed, lr)
    return new, (x0, noise), losses


def straightness(model, noise: torch.Tensor, steps: int = 100) -> float:
    """Mean distance between where 1 Euler step and `steps` Euler steps take the same noise:
    0 for a flow whose paths are straight lines walked at constant speed."""
    return float((euler_sample(model, noise, 1) - euler_sample(model, noise, steps)).norm(dim=-1).mean())


@torch.no_grad()
def sample_from_unet(unet, n: int, generator, steps: int) -> torch.Tensor:
    """n images from a velocity UNet2DModel by `steps` Euler steps -> (n, C, H, W) in [0, 1]."""
    cfg = unet.config
    noise = torch.randn((n, cfg.in_channels, cfg.sample_size, cfg.sample_size), generator=generator)
    x = euler_sample(unet_velocity(unet), noise.to(unet.device), steps)
    return to_unit(x).cpu()


class CardTable(NamedTuple):
    """The flow-vs-DDIM table as a model card recorded it (see `card_results`)."""
    results: dict  # {"flow-digits": {steps: DigitReport}, "ddpm-digits (DDIM)": {steps: DigitReport}}
    real: object  # the DigitReport of real held-out digits
    n: int  # samples judged per row


CARD_NAMES = {"flow-digits": "flow-digits", "ddpm-digits": "ddpm-digits (DDIM)"}   # metrics.json's model -> lesson 07's name


def card_results(path=None) -> CardTable:
    """Lesson 07's table read from flow-digits' metrics.json (evaluation.evaluate_flow: 500 samples per row)
    instead of measured: the same {name: {steps: DigitReport}} as judging samples live gives.
    Used in notebooks/07_beyond.ipynb when COURSE_FAST=1 (presenter mode)."""
    from .recorded import digit_report, metrics_json

    card = metrics_json("flow-digits", path)
    try:
        results = {name: {} for name in CARD_NAMES.values()}
        for row in card["samplers"]:
            results[CARD_NAMES[row["model"]]][row["steps"]] = digit_report(row, card["n"])
        real = digit_report(card["real"], card["n"])
    except (KeyError, TypeError) as e:
        where = "the shipped file" if path is None else path
        raise ValueError(f"{where} is not a flow-digits metrics.json (missing {e}): write it again with "
                         "python scripts/evaluate_checkpoints.py flow-digits") from None
    return CardTable(results, real, card["n"])


def objective_weights(log_snr: torch.Tensor) -> dict[str, torch.Tensor]:
    """Each training objective as a weight w(lambda) on the noise error over log-SNR; lesson 07.

    Any Gaussian path x_t = a_t x0 + b_t eps has a log signal-to-noise ratio lambda = log(a_t^2 / b_t^2),
    and each of these losses is an integral of w(lambda) E||eps - eps_hat||^2 over lambda (Kingma & Gao
    2023): w is the density of lambda that the sampling of t gives, times what the loss multiplies the
    eps-error by. With the flow's path (a = 1 - t, b = t), ||v - v_hat||^2 = ||eps - eps_hat||^2 / (1 - t)^2.
    Each weight is scaled to 1 at lambda = 0 (an overall factor only rescales the learning rate); NaN
    where an objective never trains. Example: objective_weights(torch.linspace(-10, 10, 200))"""
    lam = validate.tensor("log_snr", log_snr, (1,)).double()
    raw, at_zero = _raw_weights(lam), _raw_weights(torch.zeros(1, dtype=torch.float64))
    return {name: (w / at_zero[name]).float() for name, w in raw.items()}


def _raw_weights(lam: torch.Tensor) -> dict[str, torch.Tensor]:
    """objective_weights before scaling: densities of lambda (per unit of lambda) x the loss's factor."""
    import numpy as np

    from .noise import make_schedule

    t = torch.sigmoid(-lam / 2)                                   # the flow's t: (1 - t) / t = e^(lambda / 2)
    abar = make_schedule("linear").alphas_cumprod.double()        # lesson 03's schedule, 1000 steps
    grid = (abar / (1 - abar)).log().flip(0)                      # its lambdas, increasing (1000,)
    steps_per_lambda = 1 / torch.gradient(grid)[0]                # t uniform over steps -> density of lambda
    ddpm = np.interp(lam.numpy(), grid.numpy(), steps_per_lambda.numpy(), left=np.nan, right=np.nan)
    logit_normal = torch.distributions.Normal(0.0, 1.0).log_prob(-lam / 2).exp() / 2   # density of lambda
    return {"ELBO (uniform in λ)": torch.ones_like(lam),
            "DDPM: ε-loss, linear schedule, t uniform": torch.from_numpy(ddpm),
            "flow matching: t uniform": t * (1 - t) / 2 / (1 - t) ** 2,
            "SD3: flow, t logit-normal(0, 1)": logit_normal / (1 - t) ** 2}
