"""Widget of lesson 01: step through Gibbs chains of an RBM."""

from __future__ import annotations

import ipywidgets as W
import torch

from ..images import to_png
from .basic import picture, show


class GibbsExplorer(W.VBox):
    """A slider over Gibbs steps: n chains of an RBM, from random bits (or given images)."""

    def __init__(self, rbm, n: int = 8, steps: int = 200, seed: int = 0, start=None, scale: int = 8):
        from ..images import make_grid

        g = torch.Generator().manual_seed(seed)
        _, record = rbm.sample(n, steps=steps, generator=g, start=start, record_every=1)
        side = int(rbm.n_visible ** 0.5)
        self.frames = [to_png(make_grid(pv.reshape(-1, 1, side, side), nrow=n, padding=1), scale)
                       for pv in record]                                                  # one frame per step
        self.step = W.IntSlider(0, 0, len(self.frames) - 1, description="Gibbs step",
                                layout=W.Layout(width="420px"))
        self.play = W.Play(value=0, min=0, max=len(self.frames) - 1, interval=80)
        W.jslink((self.play, "value"), (self.step, "value"))
        self.image = picture()
        self.step.observe(lambda _: self.redraw(), "value")
        super().__init__([W.HBox([self.play, self.step]), self.image])
        self.redraw()

    def redraw(self) -> None:
        show(self.image, self.frames[self.step.value])


def gibbs_explorer(rbm, n: int = 8, steps: int = 200, seed: int = 0, start=None) -> GibbsExplorer:
    """Step (or play) through `steps` Gibbs steps of n chains; returns the widget.

    Example: gibbs_explorer(load_pretrained("rbm-digits"))"""
    return GibbsExplorer(rbm, n, steps, seed, start)
