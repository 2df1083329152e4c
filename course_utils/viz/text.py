"""Pictures of lesson 04: tokens, similarity heatmaps, a 2-D map of prompts, attention weights."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch

from .. import validate as v


def plot_tokens(texts, max_length: int | None = None, padding: str = "longest"):
    """Each prompt as a row of boxes: word piece on top, token id below; returns the Figure.

    Example: plot_tokens(["a small red circle", "a crimson circle"])"""
    from .. import text

    tok = text.tokenize(texts, max_length or text.MAX_TOKENS, padding)
    n, L = tok.input_ids.shape
    fig, ax = plt.subplots(figsize=(max(6, 1.05 * L), 0.9 * n + 0.4))
    for r in range(n):
        for c in range(L):
            piece, real = tok.tokens[r][c], bool(tok.attention_mask[r, c])
            special = piece.startswith("[") and piece.endswith("]")
            colour = "#f0f0f0" if not real else ("#fdd0a2" if special else "#c6dbef")
            ax.add_patch(plt.Rectangle((c, n - 1 - r), 0.95, 0.85, fc=colour, ec="0.4", lw=0.6))
            ax.text(c + 0.475, n - 1 - r + 0.55, piece, ha="center", va="center", fontsize=8,
                    color="0.2" if real else "0.6")
            ax.text(c + 0.475, n - 1 - r + 0.2, str(int(tok.input_ids[r, c])), ha="center",
                    va="center", fontsize=7, color="0.35", family="monospace")
    ax.set_xlim(-0.1, L)
    ax.set_ylim(-0.1, n)
    ax.axis("off")
    ax.set_title("word pieces (top) and their ids (bottom); orange: special tokens, grey: padding", fontsize=9)
    fig.tight_layout()
    return fig


def plot_embedding_similarity(texts, embeddings: torch.Tensor | None = None, ax=None):
    """Heatmap of cosine similarities between the sentence embeddings of `texts`; returns the Figure."""
    from .. import text

    texts = v.texts("texts", texts, most=60)
    e = text.sentence_embeddings(texts) if embeddings is None else v.tensor("embeddings", embeddings, 2)
    if len(e) != len(texts):
        raise ValueError(f"embeddings must have one row per text: {len(texts)} texts, {len(e)} rows")
    sim = text.cosine_similarity(e, e).numpy()
    n, longest = len(texts), max(len(t) for t in texts)
    size = (0.55 * n + 0.07 * longest + 2.5, 0.5 * n + 0.06 * longest + 1.2)  # room for the labels
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=size)
    im = ax.imshow(sim, cmap="viridis", vmin=min(0, sim.min()), vmax=1)
    for i in range(n):
        for j in range(n):
            ax.text(j, i, f"{sim[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if sim[i, j] < 0.6 else "black")
    ax.set_xticks(range(n), texts, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), texts, fontsize=8)
    fig.colorbar(im, ax=ax, fraction=0.03, label="cosine similarity")
    ax.set_title("how alike are the prompts? (sentence embeddings)")
    fig.tight_layout()
    return fig


def project_2d(embeddings: torch.Tensor, method: str = "pca", seed: int = 0) -> np.ndarray:
    """(n, d) -> (n, 2) coordinates by PCA (default) or UMAP (needs the umap-learn package)."""
    x = v.tensor("embeddings", embeddings, 2).detach().cpu().numpy()
    if min(x.shape) < 2:
        raise ValueError(f"embeddings must be at least 2 vectors of at least 2 numbers, got shape {x.shape}")
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(2, random_state=seed).fit_transform(x)
    if method == "umap":
        try:
            import umap
        except ImportError as e:
            raise ImportError("method='umap' needs the umap-learn package (pip install umap-learn); "
                              "method='pca' needs nothing more") from e
        return umap.UMAP(n_components=2, random_state=seed).fit_transform(x)
    raise ValueError(f"method must be 'pca' or 'umap', got {method!r}")


def plot_embedding_map(texts, groups, method: str = "pca", annotate: bool = True, title: str | None = None):
    """2-D map of the prompts' sentence embeddings, coloured by `groups` (one label per text); a prompt's
    label is left out where it would print over another one.

    Example: plot_embedding_map(prompts, groups=[colour_of(p) for p in prompts])"""
    from .. import text

    texts = v.texts("texts", texts, most=2000)
    if len(groups) != len(texts):
        raise ValueError(f"groups must hold one label per text: got {len(texts)} texts but {len(groups)} group labels")
    xy = project_2d(text.sentence_embeddings(list(texts)), method)
    fig, ax = plt.subplots(figsize=(7, 5.5))
    from matplotlib.colors import is_color_like

    labels = list(dict.fromkeys(groups))
    cmap = plt.get_cmap("tab10")
    for k, g in enumerate(labels):
        idx = [i for i, gi in enumerate(groups) if gi == g]
        colour = g if isinstance(g, str) and is_color_like(g) else cmap(k % 10)  # "red" is drawn red
        ax.scatter(xy[idx, 0], xy[idx, 1], s=40, color=colour, label=str(g), edgecolor="0.3", lw=0.5)
    if annotate:                       # a label that would print over another one is left out
        pts = np.asarray(xy, dtype=float)
        span = float((pts.max(0) - pts.min(0)).max()) or 1.0
        placed: list = []
        for (x, y), t in zip(pts.tolist(), texts):
            if all(abs(x - px) > 0.22 * span or abs(y - py) > 0.035 * span for px, py in placed):
                ax.annotate(t, (x, y), fontsize=6.5, xytext=(3, 3), textcoords="offset points", color="0.3")
                placed.append((x, y))
    ax.legend(frameon=False, fontsize=8, loc="best")
    ax.set(xticks=[], yticks=[], title=title or f"prompts in 2-D ({method.upper()} of 384-d sentence embeddings)")
    fig.tight_layout()
    return fig


def plot_attention_weights(tokens, weights, title: str = "attention of one image position over the prompt"):
    """Bar chart of attention weights over a prompt's tokens; returns the Figure."""
    w = torch.as_tensor(weights).detach().cpu().numpy()
    if len(tokens) != len(w):
        raise ValueError(f"weights must be one per token: got {len(tokens)} tokens but {len(w)} weights")
    fig, ax = plt.subplots(figsize=(max(5, 0.7 * len(tokens)), 2.8))
    bars = ax.bar(range(len(w)), w, color=["#e6550d" if v == w.max() else "#9ecae1" for v in w])
    ax.set_xticks(range(len(w)), tokens, rotation=30, ha="right")
    ax.bar_label(bars, [f"{v:.2f}" for v in w], fontsize=7)
    ax.set(ylabel="weight (sums to 1)", title=title, ylim=(0, max(w.max() * 1.2, 0.1)))
    fig.tight_layout()
    return fig
