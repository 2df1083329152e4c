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
        self.from_images = start is not None
        _, record = rbm.sample(n, steps=steps, generator=g, start=start, record_every=1)
        side = int(rbm.n_visible ** 0.5)
        self.frames = [to_png(make_grid(pv.reshape(-1, 1, side, side), nrow=n, padding=1), scale)
                       for pv in record]                                                  # one frame per step
        self.step = W.IntSlider(0, 0, len(self.frames) - 1, description="Gibbs step",
                                layout=W.Layout(width="420px"))           # 0 = the random start
        self.play = W.Play(value=0, min=0, max=len(self.frames) - 1, interval=80)
        W.jslink((self.play, "value"), (self.step, "value"))
        self.image, self.label = picture(), W.HTML()
        self.step.observe(lambda _: self.redraw(), "value")
        super().__init__([W.HBox([self.play, self.step]), self.label, self.image])
        self.redraw()

    def redraw(self) -> None:
        s = self.step.value
        self.label.value = ("step 0: the start (random bits)" if s == 0 and not self.from_images else
                            "step 0: the start" if s == 0 else
                            f"p(v | h) after <b>{s}</b> Gibbs step{'s' if s > 1 else ''}")
        show(self.image, self.frames[s])


def gibbs_explorer(rbm, n: int = 8, steps: int = 200, seed: int = 0, start=None) -> GibbsExplorer:
    """Step (or play) through `steps` Gibbs steps of n chains; returns the widget.

    Example: gibbs_explorer(load_pretrained("rbm-digits"))"""
    return GibbsExplorer(rbm, n, steps, seed, start)


class FillIn(W.VBox):
    """Clamp part of a digit and let the RBM fill in the rest: Gibbs chains in which the known
    pixels are put back after every step. Logic in `fill`; the controls only call it."""

    HALVES = ("top", "bottom", "left", "right")

    def __init__(self, rbm, images, n_chains: int = 6, seed: int = 0, scale: int = 12):
        self.rbm, self.images, self.n_chains, self.seed, self.scale = rbm, images, n_chains, seed, scale
        self.side = int(rbm.n_visible ** 0.5)
        self.index = W.IntSlider(0, 0, len(images) - 1, description="digit", layout=W.Layout(width="360px"))
        self.half = W.Dropdown(options=self.HALVES, value="top", description="keep the")
        self.steps = W.IntSlider(50, 1, 500, description="Gibbs steps", layout=W.Layout(width="360px"))
        self.image, self.label = picture(), W.HTML()
        for w in (self.index, self.half, self.steps):
            w.observe(lambda _: self.redraw(), "value")
        super().__init__([W.HBox([self.index, self.half]), self.steps, self.label, self.image])
        self.redraw()

    def known_mask(self, half: str) -> torch.Tensor:
        """True for the pixels of `half` ("top", "bottom", "left", "right"): (V,) bool."""
        if half not in self.HALVES:
            raise ValueError(f"half must be one of {self.HALVES}, got {half!r}")
        s = self.side
        rows, cols = torch.arange(s)[:, None].expand(s, s), torch.arange(s)[None, :].expand(s, s)
        mask = {"top": rows < s // 2, "bottom": rows >= s // 2, "left": cols < s // 2, "right": cols >= s // 2}[half]
        return mask.reshape(-1)

    def fill(self, index: int, half: str, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(what the RBM is shown: the known half, the rest grey (1, V)), and its fill-ins (n_chains, V)."""
        v = torch.as_tensor(self.images[index]).reshape(-1).float()
        known = self.known_mask(half)
        g = torch.Generator().manual_seed(self.seed)
        filled = self.rbm.fill_in(v, known, steps=steps, n_chains=self.n_chains, generator=g)
        return torch.where(known, v, torch.full_like(v, 0.5))[None], filled

    def redraw(self) -> None:
        from ..images import make_grid

        shown, filled = self.fill(self.index.value, self.half.value, self.steps.value)
        v = torch.as_tensor(self.images[self.index.value]).reshape(1, -1).float()
        row = torch.cat([v, shown, filled]).reshape(-1, 1, self.side, self.side)
        self.label.value = ("the digit, what the RBM is shown (grey: unknown), then "
                            f"{self.n_chains} chains' fill-ins after {self.steps.value} steps")
        show(self.image, to_png(make_grid(row, nrow=len(row), padding=1, pad_value=0.25), self.scale))


def fill_in(rbm, images, n_chains: int = 6, seed: int = 0) -> FillIn:
    """Pick a digit, keep one half, and watch the RBM complete the other; returns the widget.

    Example: fill_in(load_pretrained("rbm-digits"), data.digits(binary=True).images[:50])"""
    return FillIn(rbm, images, n_chains, seed)
