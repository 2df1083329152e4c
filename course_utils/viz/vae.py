"""Pictures of lesson 05: what the VAE keeps and what it loses."""

from __future__ import annotations

import textwrap

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import validate as v
from ..images import to_numpy


def plot_vae_reconstructions(vae, images: torch.Tensor, titles=None):
    """Originals, reconstructions, and where they differ (|error| heatmap), with PSNR per image;
    returns the Figure. images: (N, 3, H, W) in [0, 1].

    Example: plot_vae_reconstructions(load_pretrained("vae-shapes"), shapes_world(6).images)"""
    from ..models.vae import check_images, psnr, reconstruct

    x = check_images(images)
    recon = reconstruct(vae, x)
    scores = psnr(recon, x)
    err = (recon - x).abs().mean(1)                                        # (N, H, W)
    n = len(x)
    titles = [textwrap.fill(str(t), 16) for t in titles] if titles else [f"original {i}" for i in range(n)]
    lines = max(t.count("\n") + 1 for t in titles)                        # long titles wrap, never collide
    fig, axes = plt.subplots(3, n, figsize=(1.9 * n, 6.2 + 0.15 * (lines - 1)), squeeze=False)
    vmax = max(0.05, float(err.max()))
    for i in range(n):
        axes[0, i].imshow(to_numpy(x[i]))
        axes[0, i].set_title(titles[i], fontsize=8)
        axes[1, i].imshow(to_numpy(recon[i]))
        axes[1, i].set_title(f"PSNR {scores[i]:.1f} dB", fontsize=8)
        im = axes[2, i].imshow(err[i].numpy(), cmap="magma", vmin=0, vmax=vmax)
        axes[2, i].set_title(f"max |error| {err[i].max():.2f}", fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    for r, label in enumerate(("original", "reconstruction", "|error|")):
        axes[r, 0].set_ylabel(label)
    fig.colorbar(im, ax=axes[2, :].tolist(), fraction=0.02, pad=0.01)
    fig.suptitle(f"through the VAE and back: mean PSNR {scores.mean():.1f} dB")
    return fig


def plot_latent_noise(vae, images: torch.Tensor, sizes, seed: int = 0, labels=None):
    """Each image decoded from its latent plus noise of each size (columns), with PSNR against the
    original; returns the Figure. images: (N, 3, H, W) in [0, 1]; sizes: noise std in latent units;
    labels: one caption per column (default "noise <size>").

    Example: plot_latent_noise(load_pretrained("vae-shapes"), shapes_world(3).images, [0, 0.1, 1.0])
    Used in notebooks/05_vae.ipynb."""
    from ..models.vae import check_images, perturbed_reconstructions, psnr

    x = check_images(images)
    seed = v.whole("seed", seed, 0)
    out = perturbed_reconstructions(vae, x, sizes, generator=torch.Generator().manual_seed(seed))  # (S, N, 3, H, W)
    S, N = out.shape[:2]
    if labels is not None and not isinstance(labels, (list, tuple)):
        raise TypeError(f"labels must be a list of captions, one per noise size, got {type(labels).__name__}")
    labels = [f"noise {s:.2g}" for s in sizes] if labels is None else [str(t) for t in labels]
    if len(labels) != S:
        raise ValueError(f"labels must give one caption per noise size ({S}), got {len(labels)}")
    fig, axes = plt.subplots(N, S, figsize=(1.6 * S, 1.75 * N + 0.5), squeeze=False)
    for s in range(S):
        scores = psnr(out[s], x)
        for i in range(N):
            axes[i, s].imshow(to_numpy(out[s, i]))
            axes[i, s].set_title(f"{scores[i]:.1f} dB", fontsize=8)
            axes[i, s].set_xticks([])
            axes[i, s].set_yticks([])
        axes[-1, s].set_xlabel(labels[s], fontsize=9)
    fig.suptitle("decode(latent + noise of each size): PSNR against the original", fontsize=10)
    fig.tight_layout()
    return fig


def plot_latent_channels(vae, image: torch.Tensor):
    """One image and the 4 channels of its latent (8x smaller per side), side by side; returns the Figure."""
    from ..models.vae import check_images, encode

    x = check_images(image)[:1]
    z = encode(vae, x)[0]                                                  # (4, h, w)
    lim = float(z.abs().max())
    fig, axes = plt.subplots(1, 1 + len(z), figsize=(2.2 * (1 + len(z)), 2.5))
    axes[0].imshow(to_numpy(x[0]))
    axes[0].set_title(f"image {tuple(x.shape[1:])}", fontsize=9)
    for c, ax in enumerate(axes[1:]):
        im = ax.imshow(z[c].numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        ax.set_title(f"latent channel {c}\n{tuple(z.shape[1:])}", fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(im, ax=axes[1:].tolist(), fraction=0.02)
    return fig


def plot_interpolation(images: torch.Tensor, alphas, row_labels=("latent", "pixels")):
    """Rows of interpolated images (R, K, 3, H, W) under their mixing weights; returns the Figure."""
    images = torch.as_tensor(images)
    R, K = images.shape[:2]
    fig, axes = plt.subplots(R, K, figsize=(1.5 * K, 1.6 * R), squeeze=False)
    for r in range(R):
        for k in range(K):
            axes[r, k].imshow(to_numpy(images[r, k]))
            axes[r, k].set_xticks([])
            axes[r, k].set_yticks([])
            if r == 0:
                axes[r, k].set_title(f"α = {alphas[k]:.2f}", fontsize=8)
        axes[r, 0].set_ylabel(row_labels[r] if r < len(row_labels) else "")
    fig.tight_layout()
    return fig


def latent_histogram(z: torch.Tensor, scaling_factor: float, ax=None):
    """Histogram of latent values before and after scaling by `scaling_factor`; returns the Figure."""
    if v.tensor("z", z).numel() < 2:
        raise ValueError(f"z must hold latents to count, got shape {tuple(z.shape)}")
    v.number("scaling_factor", scaling_factor, 0.0, 1000.0, "the VAE's config.scaling_factor", open_lo=True)
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6, 3))
    raw = z.flatten().numpy()
    lim = max(4.0, float(np.percentile(np.abs(raw), 99.5)))  # a few far outliers would squash the plot
    bins = np.linspace(-lim, lim, 80)
    ax.hist(raw, bins=bins, alpha=0.6, density=True, label=f"raw latents (std {raw.std():.2f})")
    ax.hist(raw * scaling_factor, bins=bins, alpha=0.6, density=True,
            label=f"x {scaling_factor:.3f} (std {(raw * scaling_factor).std():.2f})")
    xs = np.linspace(-4, 4, 200)
    ax.plot(xs, np.exp(-xs**2 / 2) / np.sqrt(2 * np.pi), "k--", lw=1, label="N(0, 1): the diffusion noise")
    ax.set(xlabel="latent value", ylabel="density", title="why latents are scaled before diffusion")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
