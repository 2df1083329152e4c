"""Widgets of lesson 02: a GAN's samples over training, and walks through its latent space."""

from __future__ import annotations

import ipywidgets as W
import torch

from ..images import to_png
from .basic import picture, show, side_by_side


class SnapshotExplorer(W.VBox):
    """A slider over saved training snapshots: the same 16 z drawn by G at each step."""

    def __init__(self, snapshots, scale: int = 8):
        from ..images import make_grid, to_png

        if not snapshots:
            raise ValueError("no snapshots: train with snapshot_every > 0")
        self.frames = [(step, to_png(make_grid(imgs, nrow=8), scale)) for step, imgs in snapshots]
        self.index = W.IntSlider(len(self.frames) - 1, 0, len(self.frames) - 1, description="snapshot",
                                 layout=W.Layout(width="420px"))
        self.image, self.label = picture(), W.HTML()
        self.index.observe(lambda _: self.redraw(), "value")
        super().__init__([self.index, self.label, self.image])
        self.redraw()

    def redraw(self) -> None:
        step, png = self.frames[self.index.value]
        self.label.value = f"after <b>{step}</b> training steps (the same 16 noise vectors z every time)"
        show(self.image, png)


def snapshot_explorer(snapshots) -> SnapshotExplorer:
    """Slide through [(step, images)] snapshots of a GAN's training; returns the widget."""
    return SnapshotExplorer(snapshots)


class LatentDirections(W.VBox):
    """Start from one z and move it along a few random unit directions with sliders."""

    def __init__(self, G, n_directions: int = 3, seed: int = 0, scale: int = 24):
        g = torch.Generator().manual_seed(seed)
        z_dim = G[0].in_features
        self.G, self.scale = G, scale
        self.z0 = torch.randn(1, z_dim, generator=g)
        q, _ = torch.linalg.qr(torch.randn(z_dim, n_directions, generator=g))
        self.directions = q.T                                                    # (k, z_dim), orthonormal
        self.sliders = [W.FloatSlider(0.0, min=-4, max=4, step=0.25, description=f"direction {i + 1}",
                                      layout=W.Layout(width="380px")) for i in range(n_directions)]
        for s in self.sliders:
            s.observe(lambda _: self.redraw(), "value")
        self.image = picture()
        super().__init__([side_by_side(self.image, W.VBox(self.sliders))])
        self.redraw()

    def image_at(self, amounts) -> torch.Tensor:
        """G(z0 + sum_i a_i d_i) as (1, 8, 8) in [0, 1]."""
        from ..models.gan import generate

        z = self.z0 + torch.as_tensor(amounts, dtype=torch.float32) @ self.directions
        return generate(self.G, z)[0]

    def redraw(self) -> None:
        show(self.image, to_png(self.image_at([s.value for s in self.sliders]), self.scale))


def latent_directions(G, n_directions: int = 3, seed: int = 0) -> LatentDirections:
    """Sliders that move a latent vector along random directions, and the digit G draws; returns the widget."""
    return LatentDirections(G, n_directions, seed)
