"""Pictures of the forward (noising) and reverse (denoising) processes of lesson 03."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import validate as v
from ..images import to_numpy, to_signed, to_unit
from ..noise import KINDS, Schedule, add_noise, make_schedule


def noised(x0: torch.Tensor, t, schedule: Schedule, seed: int = 0) -> torch.Tensor:
    """x0 in [0, 1], (C, H, W) -> x_t for each t in `t`, as (len(t), C, H, W) in [-1, 1]."""
    x0 = v.tensor("x0", x0, 3, "one image (C, H, W) in [0, 1]; from a batch take x[0]")
    v.whole("seed", seed, 0, 2**62)
    t = schedule.check_timesteps(torch.as_tensor(t).reshape(-1))
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))
    xs = to_signed(x0).expand(len(t), *x0.shape)
    return add_noise(xs, noise.expand_as(xs), t, schedule)


def plot_noising_steps(x0: torch.Tensor, schedule: Schedule | None = None,
                       timesteps=(0, 50, 100, 250, 500, 750, 999), seed: int = 0):
    """Show x0 noised to each timestep in one row, with abar_t and SNR in each title; returns the Figure.

    Example: plot_noising_steps(data.photo("astronaut"), make_schedule("linear"))"""
    schedule = schedule or make_schedule("linear")
    if not isinstance(timesteps, (list, tuple, range)):
        raise v.InputTypeError(f"timesteps must be a list of timesteps, e.g. (0, 250, 999), got {timesteps!r:.60}")
    if not 1 <= len(timesteps) <= 20:
        raise ValueError(f"timesteps must be 1 to 20 timesteps to show in a row, got {len(timesteps)}")
    xs = noised(x0, timesteps, schedule, seed)
    fig, axes = plt.subplots(1, len(timesteps), figsize=(2.1 * len(timesteps), 2.6))
    for ax, x, t in zip(np.atleast_1d(axes), xs, timesteps):
        arr = to_numpy(to_unit(x))
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1)
        abar = schedule.alphas_cumprod[t].item()
        ax.set_title(f"t = {t}\nᾱ = {abar:.3f}, SNR = {abar / (1 - abar):.3g}", fontsize=9)
        ax.axis("off")
    fig.suptitle(f"q(x_t | x_0) with the {schedule.kind} schedule (T = {schedule.num_timesteps})")
    fig.tight_layout(rect=(0, 0, 1, 0.9))
    return fig


def plot_schedules(kinds=KINDS, num_timesteps: int = 1000):
    """abar_t and log-SNR of several schedules, side by side; returns the Figure."""
    if not isinstance(kinds, (str, list, tuple)):
        raise v.InputTypeError(f"kinds must be a schedule name or a list of them, e.g. ('linear', 'cosine'), "
                               f"got {kinds!r:.60}")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    for kind in kinds or [None]:
        v.one_of("kinds", kind, KINDS)
    make_schedule(kinds[0], num_timesteps)                    # checks num_timesteps
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    t = np.arange(num_timesteps)
    for kind in kinds:
        s = make_schedule(kind, num_timesteps)
        abar = s.alphas_cumprod.double().numpy()
        a1.plot(t, abar, label=kind)
        a2.plot(t, np.log(abar / (1 - abar)), label=kind)
    a1.set(xlabel="timestep t", ylabel="ᾱ_t  (share of the signal's variance kept)", title="how much image is left")
    a2.set(xlabel="timestep t", ylabel="log SNR(t) = log(ᾱ_t / (1 - ᾱ_t))", title="signal-to-noise ratio")
    a2.axhline(0, color="0.6", lw=0.8, ls="--")
    a1.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_denoising_trajectory(trajectory, timesteps, n_show: int = 8, x0_preds=None):
    """The reverse process as a strip: one row per sample, one column per recorded step.

    trajectory: list of (N, C, H, W) tensors in [-1, 1] (x_t at each recorded step);
    timesteps: the t of each; x0_preds (optional): the model's guess of x_0 at each step,
    drawn as a second row per sample. Returns the Figure."""
    if len(trajectory) != len(timesteps) or not trajectory:
        raise ValueError(f"trajectory and timesteps must be as long as each other and not empty, got "
                         f"{len(trajectory)} states and {len(timesteps)} timesteps")
    n = min(v.whole("n_show", n_show, 1, 64), trajectory[0].shape[0])
    rows = [(f"x_t #{i}", [x[i] for x in trajectory]) for i in range(n)]
    if x0_preds is not None:
        rows = [r for i in range(n) for r in (rows[i], (f"x̂_0 #{i}", [x[i] for x in x0_preds]))]
    fig, axes = plt.subplots(len(rows), len(timesteps), figsize=(1.2 * len(timesteps), 1.25 * len(rows)),
                             squeeze=False)
    for r, (label, imgs) in enumerate(rows):
        for c, img in enumerate(imgs):
            ax = axes[r, c]
            ax.imshow(to_numpy(to_unit(img)), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"t = {timesteps[c]}", fontsize=8)
            if c == 0:
                ax.set_ylabel(label, fontsize=8)
    fig.tight_layout()
    return fig
