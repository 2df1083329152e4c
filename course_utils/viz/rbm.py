"""Pictures of lesson 01: what an RBM learned and how it scores images."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import validate as v


def plot_filters(rbm, n: int = 64, nrow: int = 16, side: int = 8):
    """The weights of `n` hidden units, each as a side x side image (red +, blue -); returns the Figure."""
    v.whole("n", n, 1, rbm.components_.shape[0], "the RBM's number of hidden units is the most")
    v.whole("nrow", nrow, 1, 64)
    W = rbm.components_.detach()[:n]                                       # (n, V)
    lim = float(W.abs().max())
    rows = int(np.ceil(n / nrow))
    fig, axes = plt.subplots(rows, nrow, figsize=(0.75 * nrow, 0.8 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        axes.flat[i].imshow(W[i].reshape(side, side).numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle("what each hidden unit looks for: its weights to the 64 pixels (red +, blue -)")
    fig.tight_layout()
    return fig


def plot_free_energy(rbm, groups: dict):
    """Histograms of the free energy F(v) of several groups of binary images; returns the Figure.

    Lower free energy = the model finds the image more probable (p(v) ~ exp(-F(v))).
    Example: plot_free_energy(rbm, {"digits": real, "noise": noise})"""
    if not isinstance(groups, dict) or not groups:
        raise ValueError(f"groups must be a dict of {{name: binary images}} with at least one group, got {groups!r:.60}")
    fig, ax = plt.subplots(figsize=(7, 3.2))
    energies = {k: rbm.free_energy(v.reshape(len(v), -1).float()).numpy() for k, v in groups.items()}
    lo = min(e.min() for e in energies.values())
    hi = max(e.max() for e in energies.values())
    bins = np.linspace(lo, hi, 50)
    for name, e in energies.items():
        ax.hist(e, bins=bins, alpha=0.55, label=f"{name} (median {np.median(e):.0f})")
    ax.set(xlabel="free energy F(v)  (lower = more probable)", ylabel="images", title="how probable does the RBM find them?")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def plot_gibbs_chain(record, steps, n_show: int = 6, side: int = 8):
    """Several Gibbs chains (rows) at recorded steps (columns): p(v | h) as images; returns the Figure."""
    n = min(n_show, record[0].shape[0])
    fig, axes = plt.subplots(n, len(record), figsize=(0.9 * len(record), 0.95 * n + 0.3), squeeze=False)
    for c, pv in enumerate(record):
        for r in range(n):
            axes[r, c].imshow(torch.as_tensor(pv[r]).reshape(side, side).numpy(), cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[0, c].set_title(f"{steps[c]}", fontsize=8)
    fig.suptitle("Gibbs sampling from random bits: step ->", fontsize=10)
    fig.tight_layout()
    return fig
