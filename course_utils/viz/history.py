"""The course's two overview pictures: the history timeline and Stable Diffusion's parts."""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .. import validate as v

# (year, model, paper) -- the milestones lesson 00 tells, each with the paper that made it
TIMELINE = [
    (2006, "RBMs stacked into\ndeep belief nets", "Hinton, Osindero & Teh, A fast learning algorithm for deep belief nets (2006)"),
    (2013, "VAE", "Kingma & Welling, Auto-Encoding Variational Bayes (2013)"),
    (2014, "GAN", "Goodfellow et al., Generative Adversarial Nets (2014)"),
    (2015, "Diffusion", "Sohl-Dickstein et al., Deep Unsupervised Learning using Nonequilibrium Thermodynamics (2015)"),
    (2019, "Score-based\nmodels", "Song & Ermon, Generative Modeling by Estimating Gradients of the Data Distribution (2019)"),
    (2020, "DDPM", "Ho, Jain & Abbeel, Denoising Diffusion Probabilistic Models (2020)"),
    (2021, "CLIP", "Radford et al., Learning Transferable Visual Models From Natural Language Supervision (2021)"),
    (2021, "DALL-E 1:\na transformer\nwrites image tokens",
     "Ramesh et al., Zero-Shot Text-to-Image Generation (2021)"),
    (2022, "Latent diffusion /\nStable Diffusion", "Rombach et al., High-Resolution Image Synthesis with Latent Diffusion Models (2022)"),
    (2023, "DiT", "Peebles & Xie, Scalable Diffusion Models with Transformers (2023)"),
    (2024, "SD3: MMDiT +\nrectified flow", "Esser et al., Scaling Rectified Flow Transformers for High-Resolution Image Synthesis (2024)"),
    (2024, "FLUX.1", "Black Forest Labs (founded by authors of latent diffusion and SD3), FLUX.1 (2024; a model release, no paper)"),
]
FAMILY = {"RBM": "#8c6bb1", "VAE": "#2b8cbe", "GAN": "#e34a33", "iffusion": "#31a354", "DDPM": "#31a354",
          "Score": "#31a354", "CLIP": "#e6850e", "DALL-E": "#525252", "DiT": "#525252", "flow": "#525252",
          "FLUX": "#525252"}  # name fragment -> colour; grey: transformers


def _x_positions(years) -> list[float]:
    """Years as x positions; events of the same year sit side by side, 0.5 apart."""
    xs = []
    for i, year in enumerate(years):
        same, k = years.count(year), years[:i].count(year)
        xs.append(year + 0.5 * (k - (same - 1) / 2))
    return xs


def plot_timeline(events=TIMELINE):
    """The history of image models, 2006 -> 2024, one labelled dot per milestone; returns the Figure."""
    fig, ax = plt.subplots(figsize=(12, 4.6))
    years = [e[0] for e in events]
    xs = _x_positions(years)
    ax.axhline(0, color="0.3", lw=1.5, zorder=1)
    for i, ((year, name, _), x) in enumerate(zip(events, xs)):
        y = (0.45, -0.45, 1.25, -1.25, 2.05, -2.05)[i % 6]  # stagger the labels so neighbours never collide
        colour = next((c for key, c in FAMILY.items() if key in name), "0.3")
        ax.plot([x, x], [0, y], color=colour, lw=1, zorder=1)
        ax.scatter([x], [0], s=60, color=colour, zorder=2)
        ax.text(x, y + 0.05 * (1 if y > 0 else -1), f"{name}\n{year}" if y > 0 else f"{year}\n{name}",
                ha="center", va="bottom" if y > 0 else "top", fontsize=9, color=colour, fontweight="bold")
    ax.set_xlim(min(xs) - 1.2, max(xs) + 1.2)
    ax.set_ylim(-3.0, 3.0)
    ax.axis("off")
    ax.set_title("Image models, 2006 -> 2024: energy models, autoencoders, GANs, diffusion, transformers"
                 " (grey: transformers)")
    fig.tight_layout()
    return fig


def _box(ax, xy, w, h, text, colour):
    ax.add_patch(FancyBboxPatch(xy, w, h, boxstyle="round,pad=0.02,rounding_size=0.05",
                                fc=colour, ec="0.2", lw=1.2, alpha=0.9))
    ax.text(xy[0] + w / 2, xy[1] + h / 2, text, ha="center", va="center", fontsize=9)


def _arrow(ax, start, end, text="", ls="-", ha="center", dx=0.0):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=14, lw=1.3, color="0.2", ls=ls))
    if text:
        ax.text((start[0] + end[0]) / 2 + dx, (start[1] + end[1]) / 2 + 0.08, text, ha=ha,
                va="bottom", fontsize=8, color="0.25")


def plot_stable_diffusion_diagram():
    """Stable Diffusion's three learned parts and its scheduler in one picture; returns the Figure.

    The U-Net predicts the noise (SD 1.x) or the velocity v (SD 2's 768-v models, and unet-shapes);
    the scheduler turns that into the next latent, and only the last one goes to the VAE decoder."""
    fig, ax = plt.subplots(figsize=(12, 4.2))
    ax.set_xlim(0, 12)
    ax.set_ylim(0, 4.4)
    ax.axis("off")
    _box(ax, (0.1, 3.0), 1.7, 0.8, 'prompt\n"a red circle\nin the top left"', "#f7f7f7")
    _box(ax, (2.5, 3.0), 2.0, 0.8, "text encoder\n(a transformer:\nCLIP / MiniLM)", "#fdd0a2")
    _box(ax, (5.4, 1.4), 2.2, 1.2, "denoising U-Net\n(convolutions +\ncross-attention)", "#c7e9c0")
    _box(ax, (0.1, 1.55), 1.7, 0.9, "random noise\nlatent 4 x 8 x 8", "#f7f7f7")
    _box(ax, (5.15, 0.05), 2.7, 0.7, "scheduler (DDPM, DDIM, ...):\nx_t -> x_(t-1)", "#deebf7")
    _box(ax, (8.5, 1.55), 1.6, 0.9, "VAE decoder\n4x8x8 -> 3x64x64", "#dadaeb")
    _box(ax, (10.5, 1.5), 1.4, 1.0, "image", "#f7f7f7")
    _arrow(ax, (1.8, 3.4), (2.5, 3.4))
    _arrow(ax, (4.5, 3.4), (6.5, 2.62), "token embeddings (L x d)", ha="left", dx=0.25)
    _arrow(ax, (1.8, 2.0), (5.4, 2.0), "noisy latent x_t")
    _arrow(ax, (6.0, 1.4), (6.0, 0.77), "noise eps (SD 1.x) or v (ours)", ha="right", dx=-0.1)
    _arrow(ax, (7.0, 0.77), (7.0, 1.4), "x_(t-1): repeat T times", ls="--", ha="left", dx=0.1)
    _arrow(ax, (7.85, 0.25), (9.3, 1.55))
    ax.text(8.85, 0.75, "after the last step:\nthe clean latent x_0", ha="left", va="top", fontsize=8, color="0.25")
    _arrow(ax, (10.1, 2.0), (10.5, 2.0))
    ax.text(6.5, 4.15, "Stable Diffusion = text encoder + U-Net denoiser + VAE, driven by a scheduler",
            ha="center", fontsize=11, fontweight="bold")
    ax.text(9.3, 3.0, "the VAE encoder (image -> latent)\nis used in training and img2img", ha="center",
            fontsize=8, color="0.35", style="italic")
    return fig


def plot_digit_models(samples: dict, reports: dict | None = None, n_show: int = 16):
    """The digit models side by side, one panel each with its judge scores; returns the Figure.

    samples: {title: images (N, 1, H, W) in [0, 1]}; reports: {title: metrics.DigitReport}.
    Example: plot_digit_models({"GAN (2014)": models.sample("gan-digits", 64)})
    Used in notebooks/00_introduction.ipynb."""
    from ..images import make_grid

    if not isinstance(samples, dict) or not samples:
        raise ValueError("samples must be a dict {title: images (N, 1, H, W)} with at least one entry")
    reports = reports or {}
    fig, axes = plt.subplots(1, len(samples), figsize=(2.6 * len(samples), 3.3), squeeze=False)
    for ax, (title, images) in zip(axes[0], samples.items()):
        x = v.tensor(f"samples[{title!r}]", images, 4, "images (N, 1, H, W) in [0, 1]").detach().float().cpu()
        if x.shape[1] != 1 or len(x) == 0:
            raise ValueError(f"samples[{title!r}] must be grey digits (N, 1, H, W) with N >= 1, got {tuple(x.shape)}")
        x = x[:n_show].clamp(0, 1)
        ax.imshow(make_grid(x, nrow=4, pad_value=1.0)[0].numpy(), cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
        r = reports.get(title)
        scores = (f"\nconfidence {r.confidence:.2f}, {r.classes_covered}/10 digits\n"
                  f"Frechet distance {r.frechet:.1f}") if r is not None else ""
        ax.set_title(f"{title}{scores}", fontsize=9)
    fig.tight_layout()
    return fig
