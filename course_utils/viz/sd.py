"""Pictures of lesson 06: the denoising trajectory in latent space and in pixels, and grids of prompts."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch

from .. import validate as v
from ..images import to_numpy


def plot_latent_trajectory(latents: torch.Tensor, images: torch.Tensor, steps, x0_images=None):
    """Columns = denoising steps. Rows: the 4 latent channels (8x8, tiled 2x2), the latents
    decoded by the VAE, and optionally the predicted clean image at that step; returns the Figure.

    latents (k, 4, h, w) as the pipeline holds them; images, x0_images (k, 3, H, W) in [0, 1].
    Used in notebooks/06_stable_diffusion.ipynb."""
    rows = 2 if x0_images is None else 3
    k = len(latents)
    fig, axes = plt.subplots(rows, k, figsize=(1.5 * k, 1.6 * rows + 0.3), squeeze=False)
    lim = float(latents.abs().quantile(0.99))
    for j in range(k):
        z = latents[j]                                                               # (4, h, w)
        tiled = torch.cat([torch.cat([z[0], z[1]], 1), torch.cat([z[2], z[3]], 1)], 0)  # (2h, 2w)
        axes[0, j].imshow(tiled.numpy(), cmap="RdBu_r", vmin=-lim, vmax=lim)
        axes[0, j].set_title(f"step {steps[j]}", fontsize=9)
        axes[1, j].imshow(to_numpy(images[j]))
        if x0_images is not None:
            axes[2, j].imshow(to_numpy(x0_images[j]))
    labels = ["latent (4 channels)", "decoded", "predicted x̂₀"]
    for i in range(rows):
        axes[i, 0].set_ylabel(labels[i], fontsize=9)
        for ax in axes[i]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_prompt_grid(images: torch.Tensor, row_labels, col_labels, size: float = 1.3, title: str | None = None):
    """A (rows x cols) grid of images (rows*cols, 3, H, W) with labels on both axes; returns the Figure.

    Example: plot_prompt_grid(imgs, ["guidance 1", "guidance 5"], ["seed 0", "seed 1", "seed 2"])"""
    for name, labels in (("row_labels", row_labels), ("col_labels", col_labels)):
        if not isinstance(labels, (list, tuple)) or not labels:
            raise ValueError(f"{name} must be a non-empty list of labels, got {labels!r:.60}")
    images = v.tensor("images", images, 4, "(rows * cols, 3, H, W) in [0, 1]")
    r, c = len(row_labels), len(col_labels)
    if len(images) != r * c:
        raise ValueError(f"images must be rows x cols = {r} x {c} = {r * c} images, got {len(images)}")
    fig, axes = plt.subplots(r, c, figsize=(size * c + 1.2, size * r + 0.4), squeeze=False)
    for i in range(r):
        for j in range(c):
            ax = axes[i, j]
            ax.imshow(to_numpy(images[i * c + j]))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(str(col_labels[j]), fontsize=8)
        axes[i, 0].set_ylabel(str(row_labels[i]), fontsize=8, rotation=0, ha="right", va="center")
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_guidance_curve(curve: dict, n: int, rescaled: dict | None = None,
                        attributes=("colour", "shape", "size", "position", "all")):
    """Share of prompts drawn right against the guidance scale, one line per attribute, with
    binomial error bars (one standard error, sqrt(p (1 - p) / n)); returns the Figure.

    curve: {w: metrics.adherence dict}; rescaled: the same measured with guidance_rescale, drawn
    dashed. Used in notebooks/06_stable_diffusion.ipynb."""
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=(6.4, 3.4))
    for k, attr in enumerate(attributes):
        for data, style in ((curve, "o-"), (rescaled or {}, "s--")):
            if data:
                ws = sorted(data)
                p = [data[w][attr] for w in ws]
                err = [(q * (1 - q) / n) ** 0.5 for q in p]
                ax.errorbar(ws, p, yerr=err, fmt=style, color=f"C{k}", capsize=3, ms=4)
    colours = [Line2D([], [], color=f"C{k}", lw=2, label=a) for k, a in enumerate(attributes)]
    styles = [Line2D([], [], color="k", ls="-", marker="o", label="plain")] + (
        [Line2D([], [], color="k", ls="--", marker="s", label="rescaled 0.7")] if rescaled else [])
    ax.add_artist(ax.legend(handles=colours, fontsize=7, loc="lower left", ncol=3))
    ax.legend(handles=styles, fontsize=7, loc="lower right")
    ax.set(xlabel="guidance scale w", ylabel="share right", ylim=(0, 1.05),
           title=f"prompt adherence, {n} prompts the model never read")
    fig.tight_layout()
    return fig


def plot_guidance_diversity(distinct: dict, possible: dict, rates: dict, n: int, prompt: str = "a circle"):
    """Guidance's price in two panels against the guidance scale w; returns the Figure.

    Left: how many different values of each attribute `read_scene` found in n pictures of one
    prompt (distinct: {w: {attribute: count}}), with the number that exist dotted (possible:
    {attribute: count}). Right: rates with their 95 % Wilson intervals (rates: {label: {w: stats.Rate}}).
    Example: plot_guidance_diversity({1.0: {"colour": 6}, 7.5: {"colour": 4}}, {"colour": 6},
                                     {"circle": {1.0: Rate(47, 48), 7.5: Rate(15, 48)}}, 48)
    Used in notebooks/06_stable_diffusion.ipynb (section 7)."""
    from ..stats import Rate

    if not isinstance(distinct, dict) or not distinct:
        raise ValueError("distinct must be {w: {attribute: number of different values found}}, one entry per w.")
    ws = sorted(distinct)
    attributes = list(distinct[ws[0]])
    for w in ws:
        if not isinstance(distinct[w], dict) or list(distinct[w]) != attributes:
            raise ValueError(f"distinct[{w}] must count the same attributes as distinct[{ws[0]}]: {attributes}")
    missing = [a for a in attributes if a not in possible]
    if missing:
        raise ValueError(f"possible must say how many values exist for {missing} (e.g. 6 colours).")
    for label, row in rates.items():
        if not isinstance(row, dict) or not all(isinstance(r, Rate) for r in row.values()):
            raise TypeError(f"rates[{label!r}] must be {{w: stats.Rate(k, n)}}, got {row!r}")
    n = v.whole("n", n, 1)

    fig, (left, right) = plt.subplots(1, 2, figsize=(9.0, 3.3))
    for k, attr in enumerate(attributes):
        left.plot(ws, [distinct[w][attr] for w in ws], "o-", color=f"C{k}", label=f"{attr} (of {possible[attr]})")
        left.axhline(possible[attr], color=f"C{k}", ls=":", lw=1)
    left.set(xlabel="guidance scale w", ylabel="different values found", ylim=(0, max(possible.values()) + 3.5),
             title=f"variety in {n} seeds of \"{prompt}\"")
    left.legend(fontsize=7, loc="upper center", ncol=2)
    for k, (label, row) in enumerate(rates.items()):
        xs = sorted(row)
        p = [row[w].value for w in xs]
        lo = [row[w].value - row[w].interval[0] for w in xs]
        hi = [row[w].interval[1] - row[w].value for w in xs]
        right.errorbar(xs, p, yerr=[lo, hi], fmt="s-", color=f"C{k + len(attributes)}", capsize=3, ms=4, label=label)
    right.set(xlabel="guidance scale w", ylabel="share of the pictures", ylim=(0, 1.05),
              title="with 95 % intervals (Wilson)")
    right.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def plot_cross_attention(maps, step: int | None = None, words=None, ncols: int = 9, size: float = 1.6,
                         alpha: float = 0.65):
    """The generated image, then one panel per word of the prompt with its cross-attention map
    (attention.CrossAttentionMaps) laid over the image (gray, dimmed); returns the Figure.

    All panels share one colour scale: the share of attention each pixel gives the word (the
    words' shares sum to 1 at every pixel; [CLS], [SEP] and padding are left out). Each title
    gives the word's mean share over the image. step=None: the mean over all steps; an int: that
    step (0 = the first, noisiest). words: a subset to show (words or their indices).
    Example: plot_cross_attention(attention.cross_attention_maps(pipe, "a red circle", guidance_scale=2))
    Used in notebooks/06_stable_diffusion.ipynb."""
    import math

    if not all(hasattr(maps, a) for a in ("image", "words", "maps", "for_word", "index")):
        raise v.InputTypeError(f"maps must be the result of attention.cross_attention_maps(pipe, prompt), "
                               f"got {type(maps).__name__}")
    ncols = v.whole("ncols", ncols, 2, 64)
    shown = list(range(len(maps.words))) if words is None else [maps.index(w) for w in words]
    heat = torch.stack([maps.for_word(i, step) for i in shown])                # (k, 64, 64)
    top = float(heat.max())
    image = to_numpy(maps.image)                                               # (H, W, 3)
    cols = min(ncols, len(shown) + 1)
    rows = math.ceil((len(shown) + 1) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols + 1.0, (size + 0.35) * rows + 0.6), squeeze=False)
    axes = axes.ravel()
    axes[0].imshow(image)
    axes[0].set_title("generated", fontsize=9)
    extent = (-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5)          # the 64x64 map over the whole image
    for ax, i, h in zip(axes[1:], shown, heat):
        ax.imshow(image.mean(-1), cmap="gray", vmin=0, vmax=2)                    # the picture, dimmed
        im = ax.imshow(h.numpy(), cmap="magma", vmin=0, vmax=top, alpha=alpha, extent=extent)
        ax.set_title(f'"{maps.words[i]}" {float(h.mean()):.0%}', fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in axes[len(shown) + 1:]:
        ax.axis("off")
    when = "mean over all steps" if step is None else f"step {step % len(maps.maps) + 1} of {len(maps.maps)}"
    fig.suptitle(f"{maps.prompt!r}\nwhere each word looks ({when}); colour = share of the words' attention "
                 "(start/end tokens and padding left out)", fontsize=9)
    inch = 1 / fig.get_figwidth()
    fig.tight_layout(rect=(0, 0, 1 - 0.9 * inch, 1))                           # room for the colour bar
    fig.colorbar(im, cax=fig.add_axes([1 - 0.8 * inch, 0.12, 0.12 * inch, 0.7]))
    return fig


def plot_cross_attention_rows(runs: dict, words, step: int | None = None, size: float = 1.5, alpha: float = 0.65):
    """Several runs of one prompt, one row each (`runs`: {label: attention.CrossAttentionMaps}):
    the generated image, then the maps of `words` (words or their indices), all rows on ONE colour
    scale, so that a word spread thin in one row and concentrated in another shows as such; returns
    the Figure. Example: plot_cross_attention_rows({"v2": m2, "v3": m3}, ["yellow", "orange"])
    Used in notebooks/06_stable_diffusion.ipynb (two U-Nets, the same prompt and seed)."""
    if not isinstance(runs, dict) or not runs or not all(hasattr(m, "for_word") for m in runs.values()):
        raise v.InputTypeError("runs must be a dict {label: attention.cross_attention_maps(pipe, prompt)}, "
                               f"got {type(runs).__name__}")
    if len({m.prompt for m in runs.values()}) != 1:
        raise ValueError(f"the runs must share one prompt to be compared, got {sorted({m.prompt for m in runs.values()})}")
    heat = {label: torch.stack([m.for_word(w, step) for w in words]) for label, m in runs.items()}  # (k, 64, 64) each
    top = max(float(h.max()) for h in heat.values())
    fig, axes = plt.subplots(len(runs), len(words) + 1, figsize=(size * (len(words) + 1) + 1.0, (size + 0.3) * len(runs) + 0.5),
                             squeeze=False)
    for row, (label, m) in zip(axes, runs.items()):
        image = to_numpy(m.image)                                                  # (H, W, 3)
        row[0].imshow(image)
        row[0].set_title(label, fontsize=9)
        for ax, w, h in zip(row[1:], words, heat[label]):
            ax.imshow(image.mean(-1), cmap="gray", vmin=0, vmax=2)                 # the picture, dimmed
            im = ax.imshow(h.numpy(), cmap="magma", vmin=0, vmax=top, alpha=alpha,
                           extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5))
            ax.set_title(f'"{m.words[m.index(w)]}" {float(h.mean()):.0%}', fontsize=9)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    when = "mean over all steps" if step is None else f"step {step}"
    fig.suptitle(f"where each word looks ({when}), one colour scale for all rows", fontsize=9)
    inch = 1 / fig.get_figwidth()
    fig.tight_layout(rect=(0, 0, 1 - 0.9 * inch, 1))
    fig.colorbar(im, cax=fig.add_axes([1 - 0.8 * inch, 0.12, 0.12 * inch, 0.7]))
    return fig
