"""Showing images and curves; every function returns its matplotlib Figure."""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from ..images import guess_range, to_numpy


def _as_list(images) -> list:
    if isinstance(images, torch.Tensor):
        if images.ndim == 3 and images.shape[0] not in (1, 3):  # (N, H, W) greyscale batch
            images = images[:, None]
        return list(images) if images.ndim == 4 else [images]
    if isinstance(images, np.ndarray):
        return list(images) if images.ndim == 4 or (images.ndim == 3 and images.shape[-1] not in (1, 3)) else [images]
    if isinstance(images, Image.Image):
        return [images]
    return list(images)


def show_images(images, titles=None, nrow: int | None = None, value_range=None, size: float = 1.6,
                suptitle: str | None = None, cmap: str = "gray"):
    """Show tensors (N, C, H, W) / (C, H, W), arrays or PIL images in a grid; returns the Figure.

    value_range: (0, 1) or (-1, 1) for tensors; None guesses from the values.
    Example: show_images(data.digits().images[:8], titles=list("01234567"))"""
    items = _as_list(images)
    if not items:
        raise ValueError("show_images got no images")
    if titles is not None and len(titles) != len(items):
        raise ValueError(f"got {len(items)} images but {len(titles)} titles")
    nrow = nrow or min(len(items), 8)
    rows = math.ceil(len(items) / nrow)
    fig, axes = plt.subplots(rows, nrow, figsize=(size * nrow, size * rows + (0.3 if titles else 0)),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, img in enumerate(items):
        vr = value_range or (guess_range(img) if isinstance(img, torch.Tensor) else (0, 1))
        arr = to_numpy(img, vr) if isinstance(img, torch.Tensor) else to_numpy(img)
        ax = axes.flat[i]
        ax.imshow(arr, cmap=cmap if arr.ndim == 2 else None, vmin=0, vmax=1)
        if titles is not None:
            ax.set_title(textwrap.fill(str(titles[i]), max(12, int(size * 16))), fontsize=8)
    if suptitle:
        fig.suptitle(suptitle)
    fig.tight_layout()
    return fig


def plot_loss(losses, smooth: int = 20, title: str = "training loss", ax=None, xlabel: str = "step"):
    """The loss per step (or per epoch: xlabel="epoch") and its running mean; returns the Figure."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3))
    losses = np.asarray(losses, dtype=float)
    ax.plot(losses, alpha=0.3, lw=0.8, label=f"per {xlabel}")
    if len(losses) >= smooth:
        run = np.convolve(losses, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(smooth - 1, len(losses)), run, lw=2, label=f"mean of {smooth}")
    ax.set(xlabel=xlabel, ylabel="loss", title=title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
