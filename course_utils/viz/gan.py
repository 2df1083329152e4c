"""Pictures of lesson 02: the two losses of a GAN, and which digits it draws."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .. import validate as v


def plot_gan_losses(d_losses, g_losses, smooth: int = 50, ax=None):
    """The discriminator's and the generator's loss per step (running means); returns the Figure."""
    from .basic import _as_curve

    d_losses, g_losses = _as_curve("d_losses", d_losses), _as_curve("g_losses", g_losses)
    v.whole("smooth", smooth, 1, 100_000)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3))
    for losses, label in ((d_losses, "discriminator"), (g_losses, "generator")):
        x = np.asarray(losses, dtype=float)
        k = min(smooth, len(x))
        ax.plot(np.arange(k - 1, len(x)), np.convolve(x, np.ones(k) / k, mode="valid"), label=label)
    ax.axhline(2 * np.log(2), color="0.6", ls="--", lw=0.8)
    ax.text(len(d_losses) * 0.99, 2 * np.log(2), "D guessing: 2 ln 2", ha="right", va="bottom", fontsize=7, color="0.4")
    ax.set(xlabel="step", ylabel="loss", title="the two players' losses (running mean)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig


def plot_class_histogram(reports: dict):
    """Bar charts of which digits the judge sees in each set of samples; returns the Figure.

    reports: {name: metrics.DigitReport}."""
    if not isinstance(reports, dict) or not 1 <= len(reports) <= 12:
        raise ValueError(f"reports must be a dict of 1 to 12 {{name: metrics.DigitReport}}, got {reports!r:.60}")
    fig, axes = plt.subplots(1, len(reports), figsize=(3.4 * len(reports), 2.6), squeeze=False)
    for ax, (name, r) in zip(axes[0], reports.items()):
        ax.bar(range(10), r.class_counts, color="#6baed6")
        ax.set_xticks(range(10))
        ax.set_title(f"{name}\n{r.classes_covered}/10 classes, entropy {r.class_entropy:.2f} bits", fontsize=9)
        ax.set_xlabel("digit the judge sees")
    axes[0, 0].set_ylabel("samples")
    fig.tight_layout()
    return fig


def plot_saturation(runs: dict, smooth: int = 25):
    """Left: G's two possible losses against D(G(z)), the original log(1 - D) and the
    non-saturating -log D; right: the size of G's gradient during training for each run in
    `runs` ({name: GANRun}; pass the non-saturating run first so that the colours match); returns the Figure."""
    if not isinstance(runs, dict) or not runs or not all(getattr(r, "g_grad_norms", None) for r in runs.values()):
        raise ValueError("runs must be a dict {name: GANRun} of runs from train_gan (they record g_grad_norms)")
    v.whole("smooth", smooth, 1, 100_000)
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.2))
    d = np.linspace(0.001, 0.999, 400)
    left.plot(d, -np.log(d), label="non-saturating: -log D, minimised")            # colours as on the right,
    left.plot(d, np.log(1 - d), label="saturating: log(1 - D), minimised")          # when runs are passed in this order
    left.axvspan(0, 0.1, color="0.92")
    left.text(0.012, -1.2, "early training:\nD spots\nthe fakes", fontsize=7, color="0.35", va="top")
    left.set(xlabel="D(G(z)): how real D finds a fake", ylabel="G's loss", title="G's loss, two ways", ylim=(-4, 4))
    left.legend(frameon=False, fontsize=7, loc="lower right")
    for name, r in runs.items():
        x = np.asarray(r.g_grad_norms, dtype=float)
        k = min(smooth, len(x))
        right.plot(np.arange(k - 1, len(x)), np.convolve(x, np.ones(k) / k, mode="valid"), label=name)
    right.set(xlabel="step", ylabel="|gradient| of G's loss", yscale="log", title="how hard G is pushed (running mean)")
    right.yaxis.set_major_locator(plt.LogLocator(subs=(1.0, 2.0, 5.0)))           # ticks 0.2, 0.5, 1, 2, 5
    right.yaxis.set_major_formatter(plt.FormatStrFormatter("%.2g"))               # 0.5, not 5 x 10^-1
    right.yaxis.set_minor_formatter(plt.NullFormatter())
    right.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
