"""Pictures of lesson 01: what an RBM learned and how it scores images."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import validate as v


def plot_filters(rbm, n: int = 64, nrow: int = 16, side: int = 8):
    """The weights of `n` hidden units, each as a side x side image (red +, blue -), each tile on
    its own colour scale (its largest |weight| is full colour, the number above it); returns the Figure."""
    v.whole("n", n, 1, rbm.components_.shape[0], "the RBM's number of hidden units is the most")
    v.whole("nrow", nrow, 1, 64)
    W = rbm.components_.detach()[:n]                                       # (n, V)
    rows = int(np.ceil(n / nrow))
    fig, axes = plt.subplots(rows, nrow, figsize=(0.75 * nrow, 0.95 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i in range(n):
        lim = max(float(W[i].abs().max()), 1e-12)                          # one scale per unit
        axes.flat[i].imshow(W[i].reshape(side, side).numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes.flat[i].set_title(f"{lim:.2g}", fontsize=7, pad=2)
    fig.suptitle("what each hidden unit looks for: its weights to the pixels (red +, blue -; "
                 "each tile on its own scale, its largest |weight| above it)", fontsize=9)
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
    """Several Gibbs chains (rows) at recorded steps (columns); returns the Figure. Step 0 is the
    start (random bits), every later column p(v | h) after that many steps (as rbm.sample records)."""
    if len(record) != len(steps) or not len(record):
        raise ValueError(f"record and steps must be lists of the same length (one step number per picture), "
                         f"got {len(record)} pictures and {len(steps)} steps")
    n = min(n_show, record[0].shape[0])
    fig, axes = plt.subplots(n, len(record), figsize=(0.9 * len(record), 0.95 * n + 0.3), squeeze=False)
    for c, pv in enumerate(record):
        for r in range(n):
            axes[r, c].imshow(torch.as_tensor(pv[r]).reshape(side, side).numpy(), cmap="gray", vmin=0, vmax=1)
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        axes[0, c].set_title("start" if steps[c] == 0 else f"{steps[c]}", fontsize=8)
    fig.suptitle("Gibbs sampling: the random start, then p(v | h) after each number of steps ->", fontsize=10)
    fig.tight_layout()
    return fig


def plot_tiny_states(states, probs, side: int = 3, title: str = "the most probable images, with p(v)"):
    """Small binary images (white = 1) framed in grey, each titled with its probability; returns the Figure.

    Example: plot_tiny_states(all_states(9)[top], p[top]) in lesson 01's tiny RBM."""
    states = torch.as_tensor(states, dtype=torch.float32).reshape(len(states), -1)
    probs = torch.as_tensor(probs, dtype=torch.float32).reshape(-1)
    if states.shape[1] != side * side or len(probs) != len(states) or not 1 <= len(states) <= 64:
        raise ValueError(f"expected 1 to 64 images of {side}x{side} pixels and one probability each, "
                         f"got images {tuple(states.shape)} and {len(probs)} probabilities")
    fig, axes = plt.subplots(1, len(states), figsize=(0.9 * len(states), 1.3), squeeze=False)
    for ax, s, p in zip(axes[0], states, probs.tolist()):
        ax.imshow(s.reshape(side, side).numpy(), cmap="gray", vmin=0, vmax=1)
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set(visible=True, color="0.6", linewidth=1.5)
        ax.set_title(f"{p:.3f}", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
