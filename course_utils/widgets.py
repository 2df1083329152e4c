"""The course's interactive pieces. Every function returns its ipywidgets widget.

Each widget keeps its logic in plain methods (e.g. `quiz.answer("real")`), so tests can drive
it without a browser, and the buttons or sliders only call those methods."""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
import torch

from .images import guess_range, to_numpy


def _figure_png(fig) -> bytes:
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


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
        rng = np.random.default_rng(seed)
        pool = [(img, "real") for img in real] + [(img, "generated") for img in generated]
        order = rng.permutation(len(pool))[:n_rounds]
        self.rounds = [pool[i] for i in order]
        self.i, self.score, self.history = 0, 0, []
        self.image = W.Image(format="png")
        self.status = W.HTML()
        self.buttons = [W.Button(description=label, button_style=style)
                        for label, style in (("real", "info"), ("generated", "warning"))]
        for b in self.buttons:
            b.on_click(lambda btn: self.answer(btn.description))
        super().__init__([self.image, W.HBox(self.buttons), self.status])
        self._show()

    def _show(self):
        if self.i < len(self.rounds):
            self.image.value = _image_png(self.rounds[self.i][0])

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


def _to_png(x: torch.Tensor, scale: int) -> bytes:
    """(C, H, W) in [0, 1] -> PNG bytes, enlarged `scale` times by nearest neighbour (fast: no matplotlib)."""
    import io

    from .images import to_pil

    img = to_pil(x)
    img = img.resize((img.width * scale, img.height * scale), 0)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class NoisingExplorer(W.VBox):
    """A slider over t and a schedule dropdown: the image x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps."""

    def __init__(self, x0: torch.Tensor, num_timesteps: int = 1000, seed: int = 0, display_size: int = 256):
        from .images import to_signed
        from .noise import KINDS, make_schedule

        if x0.ndim != 3 or x0.shape[0] not in (1, 3):
            raise ValueError(f"expected one image (C, H, W) in [0, 1], got shape {tuple(x0.shape)}")
        self.x0 = to_signed(x0.float())
        self.noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))  # fixed: only t moves
        self.schedules = {k: make_schedule(k, num_timesteps) for k in KINDS}
        self.scale = max(1, display_size // x0.shape[-1])
        self.t = W.IntSlider(0, 0, num_timesteps - 1, description="t", continuous_update=True,
                             layout=W.Layout(width="420px"))
        self.kind = W.Dropdown(options=list(KINDS), value="linear", description="schedule")
        self.image = W.Image(format="png")
        self.label = W.HTML()
        self.t.observe(lambda _: self.redraw(), "value")
        self.kind.observe(lambda _: self.redraw(), "value")
        super().__init__([W.HBox([self.t, self.kind]), self.image, self.label])
        self.redraw()

    def redraw(self) -> None:
        """Recompute x_t for the current slider and dropdown, and show it."""
        from .images import to_unit

        s, t = self.schedules[self.kind.value], self.t.value
        abar = s.alphas_cumprod[t]
        x_t = abar.sqrt() * self.x0 + (1 - abar).sqrt() * self.noise
        self.image.value = _to_png(to_unit(x_t), self.scale)
        self.label.value = (f"t = {t}: ᾱ<sub>t</sub> = {abar:.4f} (signal kept {abar.sqrt():.3f}, noise "
                            f"{(1 - abar).sqrt():.3f}), SNR = {abar / (1 - abar):.3g}")


def noising_explorer(x0: torch.Tensor, num_timesteps: int = 1000, seed: int = 0) -> NoisingExplorer:
    """A slider over t and a schedule dropdown showing q(x_t | x_0) on any image; returns the widget.

    Example: noising_explorer(data.photo("astronaut", 128))"""
    return NoisingExplorer(x0, num_timesteps, seed)


class TrajectoryExplorer(W.VBox):
    """A slider over the recorded steps of a reverse process: x_t and the model's guess of x_0."""

    def __init__(self, record, n_show: int = 8, scale: int = 6):
        from .images import make_grid, to_unit

        if not record:
            raise ValueError("the trajectory is empty: sample with record_every > 0")
        self.frames = []
        for t, x_t, x0 in record:
            strip = torch.cat([to_unit(x_t[:n_show]), to_unit(x0[:n_show])])  # (2n, C, H, W)
            self.frames.append((t, _to_png(make_grid(strip, nrow=min(n_show, len(x_t))), scale)))
        self.step = W.IntSlider(0, 0, len(self.frames) - 1, description="step",
                                layout=W.Layout(width="420px"))
        self.image = W.Image(format="png")
        self.label = W.HTML()
        self.step.observe(lambda _: self.redraw(), "value")
        super().__init__([self.step, self.label, self.image])
        self.redraw()

    def redraw(self) -> None:
        t, png = self.frames[self.step.value]
        self.image.value = png
        self.label.value = f"t = {t}: top row x<sub>t</sub>, bottom row the model's guess of x<sub>0</sub>"


def trajectory_explorer(record, n_show: int = 8) -> TrajectoryExplorer:
    """A slider over a recorded denoising trajectory [(t, x_t, x0_pred), ...]; returns the widget."""
    return TrajectoryExplorer(record, n_show)


class SimilarityExplorer(W.VBox):
    """Two prompt boxes: their cosine similarity, and each one's nearest neighbours in a corpus."""

    def __init__(self, corpus, a: str = "a crimson circle", b: str = "a red circle", k: int = 3):
        from . import text

        self.corpus, self.k = list(corpus), k
        self.corpus_emb = text.sentence_embeddings(self.corpus)                 # (N, d)
        self.a = W.Text(a, description="prompt A", layout=W.Layout(width="420px"))
        self.b = W.Text(b, description="prompt B", layout=W.Layout(width="420px"))
        self.out = W.HTML()
        for box in (self.a, self.b):
            box.observe(lambda _: self.redraw(), "value")
        super().__init__([self.a, self.b, self.out])
        self.redraw()

    def compare(self, a: str, b: str) -> dict:
        """{'similarity': cos(A, B), 'neighbours_a': [(prompt, cos), ...], 'neighbours_b': [...]}"""
        from . import text

        e = text.sentence_embeddings([a, b])                                     # (2, d)
        sims = text.cosine_similarity(e, self.corpus_emb)                        # (2, N)
        top = [[(self.corpus[j], float(s[j])) for j in s.argsort(descending=True)[: self.k]] for s in sims]
        return {"similarity": float(e[0] @ e[1]), "neighbours_a": top[0], "neighbours_b": top[1]}

    def redraw(self) -> None:
        if not self.a.value.strip() or not self.b.value.strip():
            self.out.value = "<i>type a prompt in both boxes</i>"
            return
        r = self.compare(self.a.value, self.b.value)
        def rows(items):
            return "".join(f"<li>{p} <b>{s:.2f}</b></li>" for p, s in items)
        self.out.value = (f"<p>cosine similarity of A and B: <b>{r['similarity']:.3f}</b></p>"
                          f"<p>nearest to A:</p><ul>{rows(r['neighbours_a'])}</ul>"
                          f"<p>nearest to B:</p><ul>{rows(r['neighbours_b'])}</ul>")


def similarity_explorer(corpus, a: str = "a crimson circle", b: str = "a red circle") -> SimilarityExplorer:
    """Type two prompts, see how similar the text encoder finds them; returns the widget.

    Example: similarity_explorer(data.shapes_world(200).captions)"""
    return SimilarityExplorer(corpus, a, b)
