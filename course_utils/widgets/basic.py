"""Helpers shared by the widgets, and the "real or generated?" quiz of lesson 00."""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch

from ..images import guess_range, to_numpy


def _figure_png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def picture() -> W.Image:
    """An image widget drawn at its own pixel size: never stretched by the box around it, and when
    the page is narrower, shrunk with its aspect ratio kept. Give it pictures with `show(...)`."""
    return W.Image(format="png", layout=W.Layout(max_width="100%", height="auto", object_fit="contain",
                                                 align_self="flex-start", flex="0 1 auto"))


def show(image: W.Image, png: bytes) -> None:
    """Put PNG bytes into a `picture()`, sized to the PNG's own width in CSS pixels."""
    image.value = png
    if png[:8] == b"\x89PNG\r\n\x1a\n":
        image.layout.width = f"{int.from_bytes(png[16:20], 'big')}px"


def side_by_side(*children, gap: str = "16px") -> W.HBox:
    """A row that wraps (a picture beside its controls, or under them when the page is narrow)."""
    return W.HBox(list(children), layout=W.Layout(flex_flow="row wrap", align_items="flex-start", grid_gap=gap))


def on_enter(text: W.Text, callback) -> None:
    """Call `callback()` whenever Enter is pressed in `text`, changed or not (ipywidgets' 'submit')."""
    text.on_msg(lambda _w, content, _b: callback() if content.get("event") == "submit" else None)


def _image_png(img, size: float = 2.5) -> bytes:
    arr = to_numpy(img, guess_range(img)) if isinstance(img, torch.Tensor) else to_numpy(img)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=1)
    ax.axis("off")
    return _figure_png(fig)


class RealOrGeneratedQuiz(W.VBox):
    """Shows one image at a time; the student clicks 'real' or 'generated' and gets a score."""

    def __init__(self, real, generated, n_rounds: int = 10, seed: int = 0):
        if len(real) == 0 or len(generated) == 0:
            raise ValueError("the quiz needs at least one real and one generated image")
        self.rounds = self._balanced_rounds(real, generated, n_rounds, np.random.default_rng(seed))
        self.i, self.score, self.history = 0, 0, []
        self.image = picture()
        self.status = W.HTML()
        self.buttons = [W.Button(description=label, button_style=style)
                        for label, style in (("real", "info"), ("generated", "warning"))]
        for b in self.buttons:
            b.on_click(lambda btn: self.answer(btn.description))
        super().__init__([side_by_side(self.image, W.VBox([W.HBox(self.buttons), self.status],
                                                          layout=W.Layout(width="360px")))])
        self._show()

    @staticmethod
    def _balanced_rounds(real, generated, n_rounds: int, rng) -> list:
        """n_rounds (image, truth) pairs, half real and half generated (as near as the sets allow),
        shuffled, so that guessing scores 50 %."""
        n_rounds = min(n_rounds, len(real) + len(generated))
        n_real = min(len(real), max(n_rounds - len(generated), n_rounds // 2))
        picks = ([(real[i], "real") for i in rng.permutation(len(real))[:n_real]]
                 + [(generated[i], "generated") for i in rng.permutation(len(generated))[:n_rounds - n_real]])
        return [picks[i] for i in rng.permutation(len(picks))]

    def _show(self):
        if self.i < len(self.rounds):
            show(self.image, _image_png(self.rounds[self.i][0]))

    def answer(self, choice: str) -> bool | None:
        """Record an answer for the current image; returns whether it was right (None when over)."""
        if choice not in ("real", "generated"):
            raise ValueError(f"answer 'real' or 'generated', got {choice!r}")
        if self.i >= len(self.rounds):
            return None
        truth = self.rounds[self.i][1]
        right = choice == truth
        self.score += right
        self.history.append((choice, truth))
        self.i += 1
        verdict = "right" if right else f"no: it was {truth}"
        if self.i == len(self.rounds):
            self.status.value = (f"<b>{verdict}</b>. Done: {self.score}/{len(self.rounds)} right. "
                                 "Hard to tell? That is what 'generative' means.")
            for b in self.buttons:
                b.disabled = True
        else:
            self.status.value = f"<b>{verdict}</b> &mdash; score {self.score}/{self.i}; next image:"
            self._show()
        return right


def real_or_generated_quiz(real, generated, n_rounds: int = 10, seed: int = 0) -> RealOrGeneratedQuiz:
    """A 'real or generated?' quiz over two sets of images; returns the widget.

    Example: real_or_generated_quiz(data.digits(16).images[:20], models.sample("ddpm-digits", 20))"""
    return RealOrGeneratedQuiz(real, generated, n_rounds, seed)
