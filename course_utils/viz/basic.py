"""Showing images and curves; every function returns its matplotlib Figure."""

from __future__ import annotations

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch
from PIL import Image

from .. import validate as v
from ..images import guess_range, to_numpy


def _as_list(images) -> list:
    if not isinstance(images, (torch.Tensor, np.ndarray, Image.Image, list, tuple)):
        raise v.InputTypeError(f"images must be a tensor (N, C, H, W), an array, a PIL image or a list of them, "
                               f"got {type(images).__name__}")
    if isinstance(images, (torch.Tensor, np.ndarray)) and np.prod(images.shape) == 0:
        raise ValueError(f"images must hold at least one image, got an empty {type(images).__name__}")
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
        raise ValueError("images must hold at least one image, got none")
    if nrow is not None:
        v.whole("nrow", nrow, 1, 100)
    v.number("size", size, 0.2, 20, "inches per image; 1.6 is the default", open_lo=False)
    if len(items) > 1000:
        raise ValueError(f"images must be at most 1000 to show at once, got {len(items)}; show a slice: x[:64]")
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


def _as_curve(name: str, values) -> np.ndarray:
    """A non-empty 1-D list of numbers (a loss curve) as a float array."""
    try:
        arr = np.asarray([float(x) for x in values], dtype=float)
    except (TypeError, ValueError):
        raise v.InputTypeError(f"{name} must be a list of numbers (one per step), got {values!r:.60}") from None
    if arr.size == 0:
        raise ValueError(f"{name} must hold at least one number, got an empty list")
    return arr


def plot_loss(losses, smooth: int = 20, title: str = "training loss", ax=None, xlabel: str = "step"):
    """The loss per step (or per epoch: xlabel="epoch") and its running mean; returns the Figure."""
    smooth = v.whole("smooth", smooth, 1, 100_000)
    losses = _as_curve("losses", losses)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(5, 3))
    ax.plot(losses, alpha=0.3, lw=0.8, label=f"per {xlabel}")
    if len(losses) >= smooth:
        run = np.convolve(losses, np.ones(smooth) / smooth, mode="valid")
        ax.plot(np.arange(smooth - 1, len(losses)), run, lw=2, label=f"mean of {smooth}")
    ax.set(xlabel=xlabel, ylabel="loss", title=title)
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig
