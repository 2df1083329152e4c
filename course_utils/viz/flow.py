"""Pictures of lesson 07: a 2-D point cloud flowing from noise to data, quality against steps,
and a diffusion transformer drawn as boxes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .. import validate as v


def _toy_axes(axes) -> None:
    """The 2-D toy's panels: the same square window, no ticks."""
    for ax in axes:
        ax.set_xlim(-3.2, 3.2)
        ax.set_ylim(-3.2, 3.2)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])


def plot_toy_flow(trail, times, data: torch.Tensor, n_show: int = 5, n_paths: int = 60):
    """Snapshots of the flowing cloud (noise at t = 1 -> data at t = 0) and a few whole paths.

    trail: list of (N, 2) tensors, one per time in `times` (from flow.euler_sample(record=True)).
    Used in notebooks/07_beyond.ipynb."""
    if not trail or len(trail) != len(times):
        raise ValueError(f"trail and times must be as long as each other and not empty, got {len(trail)} and {len(times)}")
    v.whole("n_show", n_show, 1, 20), v.whole("n_paths", n_paths, 0, 10_000)
    idx = torch.linspace(0, len(trail) - 1, n_show).round().long().tolist()
    fig, axes = plt.subplots(1, n_show + 1, figsize=(2.4 * (n_show + 1), 2.6), sharex=True, sharey=True)
    for ax, i in zip(axes, idx):
        ax.scatter(*data.T, s=2, c="#cccccc")
        ax.scatter(*trail[i].T, s=2, c="#1f77b4")
        ax.set_title(f"t = {times[i]:.2f}", fontsize=9)
    paths = torch.stack(trail)[:, :n_paths]                                          # (steps + 1, n_paths, 2)
    axes[-1].scatter(*data.T, s=2, c="#cccccc")
    for j in range(paths.shape[1]):
        axes[-1].plot(paths[:, j, 0], paths[:, j, 1], lw=0.7, c="#d62728", alpha=0.6)
    axes[-1].set_title("paths (noise -> data)", fontsize=9)
    _toy_axes(axes)
    fig.tight_layout()
    return fig


def plot_quality_vs_steps(results: dict, metric: str = "frechet", ylabel: str | None = None):
    """Lines of `metric` against the number of sampling steps, one per model.

    results: {"model name": {steps: DigitReport, ...}, ...}; returns the Figure."""
    if not isinstance(results, dict) or not results or not all(isinstance(r, dict) and r for r in results.values()):
        raise ValueError(f"results must be {{model name: {{steps: DigitReport}}}} with at least one entry, got {results!r:.60}")
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for name, by_steps in results.items():
        steps = sorted(by_steps)
        ax.plot(steps, [getattr(by_steps[s], metric) for s in steps], "o-", label=name)
    ax.set_xscale("log", base=2)
    ax.set_xticks(steps, [str(s) for s in steps])
    ax.set(xlabel="sampling steps (network evaluations)", ylabel=ylabel or metric)
    ax.legend()
    fig.tight_layout()
    return fig


def _box(ax, x, y, w, h, text, colour):
    ax.add_patch(plt.Rectangle((x, y), w, h, fc=colour, ec="#333333", lw=1))
    ax.text(x + w / 2, y + h / 2, text, ha="center", va="center", fontsize=8)


def plot_dit_diagram(shapes: dict):
    """A diffusion transformer as boxes: latent -> patches -> tokens -> N blocks (adaLN from t and
    the condition) -> tokens -> un-patchify -> prediction, labelled with the measured `shapes`.

    shapes: {"latent": ..., "tokens": ..., "blocks": ..., "output": ...} (strings). Returns the Figure."""
    fig, ax = plt.subplots(figsize=(11, 2.8))
    steps = [("noisy latent\n" + shapes["latent"], "#e8f1fa"), ("patchify +\nlinear + position\n" + shapes["tokens"], "#fdf0d5"),
             (f"{shapes['blocks']} transformer blocks\nself-attention + MLP\nscale/shift from adaLN", "#e2f0d9"),
             ("linear +\nun-patchify", "#fdf0d5"), ("prediction\n" + shapes["output"], "#e8f1fa")]
    for i, (text, colour) in enumerate(steps):
        _box(ax, i * 2.2, 0.6, 1.8, 1.3, text, colour)
        if i:
            ax.annotate("", xy=(i * 2.2, 1.25), xytext=(i * 2.2 - 0.4, 1.25), arrowprops=dict(arrowstyle="->"))
    _box(ax, 4.4, -0.6, 1.8, 0.7, "timestep t + condition\n(class or pooled text)", "#f4dede")
    ax.annotate("", xy=(5.3, 0.6), xytext=(5.3, 0.1), arrowprops=dict(arrowstyle="->"))
    ax.set_xlim(-0.2, 10.8)
    ax.set_ylim(-0.8, 2.1)
    ax.axis("off")
    fig.tight_layout()
    return fig


def plot_reflow(models: dict, noise: torch.Tensor, data: torch.Tensor, steps: int = 20, n_paths: int = 60):
    """For each model: its paths from noise (`steps` Euler steps) and where ONE Euler step lands.

    models: {"before reflow": model, "after one reflow": model}; titles give the median distance
    of the one-step points to the nearest data point. Used in notebooks/07_beyond.ipynb."""
    from ..flow import euler_sample

    if not isinstance(models, dict) or not models:
        raise ValueError(f"models must be {{name: velocity model}} with at least one entry, got {models!r:.60}")
    noise, data = v.tensor("noise", noise, 2), v.tensor("data", data, 2)
    fig, axes = plt.subplots(1, 2 * len(models), figsize=(5.6 * len(models), 3.0), sharex=True, sharey=True)
    for (name, model), (ax_path, ax_one) in zip(models.items(), axes.reshape(-1, 2)):
        _, trail, _ = euler_sample(model, noise[:n_paths], steps, record=True)
        paths = torch.stack(trail)                                                   # (steps + 1, n_paths, 2)
        ax_path.scatter(*data.T, s=2, c="#cccccc")
        for j in range(paths.shape[1]):
            ax_path.plot(paths[:, j, 0], paths[:, j, 1], lw=0.7, c="#d62728", alpha=0.6)
        ax_path.set_title(f"{name}: {steps}-step paths", fontsize=9)
        one = euler_sample(model, noise, 1)
        d = torch.cdist(one, data).min(1).values.median()
        ax_one.scatter(*data.T, s=2, c="#cccccc")
        ax_one.scatter(*one.T, s=2, c="#1f77b4")
        ax_one.set_title(f"{name}: 1 step, median dist. {d:.2f}", fontsize=9)
    _toy_axes(axes)
    fig.tight_layout(rect=(0, 0, 1, 0.95))                                        # room for the titles
    return fig
