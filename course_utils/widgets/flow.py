"""Widget of lesson 07: a slider over time for a 2-D point cloud flowing from noise to data."""

from __future__ import annotations

import ipywidgets as W
import torch


class FlowExplorer(W.VBox):
    """Slide t from 1 (noise) to 0 (data) and watch the cloud move along the learned flow."""

    def __init__(self, trail, times, data: torch.Tensor):
        self.trail, self.times, self.data = trail, list(times), data
        self.step = W.IntSlider(0, min=0, max=len(trail) - 1, description="step", layout=W.Layout(width="420px"))
        from .basic import picture, side_by_side

        self.image, self.label = picture(), W.HTML(layout=W.Layout(width="420px"))
        self.step.observe(lambda _: self.redraw(), "value")
        super().__init__([side_by_side(self.image, W.VBox([self.step, self.label]))])
        self.redraw()

    def redraw(self) -> None:
        import matplotlib.pyplot as plt

        from .basic import _figure_png, show

        i = self.step.value
        fig, ax = plt.subplots(figsize=(3.2, 3.2))
        ax.scatter(*self.data.T, s=2, c="#cccccc")
        ax.scatter(*self.trail[i].T, s=2, c="#1f77b4")
        ax.set(xlim=(-3.2, 3.2), ylim=(-3.2, 3.2), xticks=[], yticks=[], aspect="equal")
        show(self.image, _figure_png(fig))
        plt.close(fig)
        self.label.value = f"t = {self.times[i]:.2f} (1 = noise, 0 = data); grey: the real points"


def flow_explorer(trail, times, data) -> FlowExplorer:
    """A time slider over flow.euler_sample(..., record=True)'s trail; returns the widget.

    Example: x0, trail, times = flow.euler_sample(model, noise, 20, record=True); flow_explorer(trail, times, data)"""
    return FlowExplorer(trail, times, data)
