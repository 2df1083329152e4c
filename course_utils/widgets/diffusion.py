"""Widgets of lesson 03: the forward process and a denoising trajectory."""

from __future__ import annotations

import ipywidgets as W
import torch

from ..images import to_png, to_unit
from .basic import picture, show, side_by_side


class NoisingExplorer(W.VBox):
    """A slider over t and a schedule dropdown: the image x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps."""

    def __init__(self, x0: torch.Tensor, num_timesteps: int = 1000, seed: int = 0, display_size: int = 256):
        from ..images import to_signed
        from ..noise import KINDS, make_schedule

        if x0.ndim != 3 or x0.shape[0] not in (1, 3):
            raise ValueError(f"expected one image (C, H, W) in [0, 1], got shape {tuple(x0.shape)}")
        self.x0 = to_signed(x0.float())
        self.noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(seed))  # fixed: only t moves
        self.schedules = {k: make_schedule(k, num_timesteps) for k in KINDS}
        self.scale = max(1, display_size // x0.shape[-1])
        self.t = W.IntSlider(0, 0, num_timesteps - 1, description="t", continuous_update=True,  # no model: live
                             layout=W.Layout(width="360px"))
        self.kind = W.Dropdown(options=list(KINDS), value="linear", description="schedule",
                               layout=W.Layout(width="360px"))
        self.image = picture()
        self.label = W.HTML(layout=W.Layout(width="360px"))
        self.t.observe(lambda _: self.redraw(), "value")
        self.kind.observe(lambda _: self.redraw(), "value")
        super().__init__([side_by_side(self.image, W.VBox([self.t, self.kind, self.label]))])
        self.redraw()

    def redraw(self) -> None:
        """Recompute x_t for the current slider and dropdown, and show it."""
        from ..images import to_unit

        s, t = self.schedules[self.kind.value], self.t.value
        abar = s.alphas_cumprod[t]
        x_t = abar.sqrt() * self.x0 + (1 - abar).sqrt() * self.noise
        show(self.image, to_png(to_unit(x_t), self.scale))
        self.label.value = (f"t = {t}: ᾱ<sub>t</sub> = {abar:.4f} (signal kept {abar.sqrt():.3f}, noise "
                            f"{(1 - abar).sqrt():.3f}), SNR = {abar / (1 - abar):.3g}")


def noising_explorer(x0: torch.Tensor, num_timesteps: int = 1000, seed: int = 0) -> NoisingExplorer:
    """A slider over t and a schedule dropdown showing q(x_t | x_0) on any image; returns the widget.

    Example: noising_explorer(data.photo("astronaut", 128))"""
    return NoisingExplorer(x0, num_timesteps, seed)


class TrajectoryExplorer(W.VBox):
    """A slider over the recorded steps of a reverse process: x_t and the model's guess of x_0."""

    def __init__(self, record, n_show: int = 8, scale: int = 6):
        from ..images import make_grid, to_unit

        if not record:
            raise ValueError("the trajectory is empty: sample with record_every > 0")
        self.frames = []
        for t, x_t, x0 in record:
            strip = torch.cat([to_unit(x_t[:n_show]), to_unit(x0[:n_show])])  # (2n, C, H, W)
            self.frames.append((t, to_png(make_grid(strip, nrow=min(n_show, len(x_t))), scale)))
        self.step = W.IntSlider(0, 0, len(self.frames) - 1, description="step",
                                layout=W.Layout(width="420px"))
        self.image = picture()
        self.label = W.HTML()
        self.step.observe(lambda _: self.redraw(), "value")
        super().__init__([self.step, self.label, self.image])
        self.redraw()

    def redraw(self) -> None:
        t, png = self.frames[self.step.value]
        show(self.image, png)
        self.label.value = f"t = {t}: top row x<sub>t</sub>, bottom row the model's guess of x<sub>0</sub>"


def trajectory_explorer(record, n_show: int = 8) -> TrajectoryExplorer:
    """A slider over a recorded denoising trajectory [(t, x_t, x0_pred), ...]; returns the widget."""
    return TrajectoryExplorer(record, n_show)


class _Stopped(Exception):
    """A background computation the slider's move made pointless."""


class _Stoppable:
    """The U-Net as ddim_sample uses it (config, device, a call), raising _Stopped when stop() is true."""

    def __init__(self, unet, stop):
        self.unet, self.stop, self.config, self.device = unet, stop, unet.config, unet.device

    def __call__(self, *args, **kwargs):
        if self.stop():
            raise _Stopped
        return self.unet(*args, **kwargs)


class DDIMExplorer(W.VBox):
    """Sliders over the number of DDIM steps and eta: 64 digits from the same noise, and the judge's
    score of them, computed once per setting and cached (a setting seen before shows at once).

    With `prefetch` (the default), while the room looks at a setting, a background thread computes the
    settings one slider step away (more and fewer steps, the next eta), so that the next move usually
    shows at once too; a move to a setting not yet computed stops that work at its next network call
    and says "computing" until its pictures are there. The pictures are the same either way: each
    setting starts from its own seeded generator."""

    STEPS = (1, 2, 5, 10, 20, 50, 100)
    ETAS = (0.0, 0.5, 1.0)

    def __init__(self, unet, alphas_cumprod, n: int = 64, seed: int = 0, n_show: int = 16, scale: int = 4,
                 prefetch: bool = True):
        import threading

        from .. import validate as v

        self.unet, self.abar = unet, getattr(alphas_cumprod, "alphas_cumprod", alphas_cumprod)
        self.n, self.seed = v.whole("n", n, 2, v.MAX_IMAGES), v.whole("seed", seed, 0, 2**32 - 1)
        self.n_show, self.scale, self.cache = min(n_show, n), scale, {}
        self.prefetch, self._lock, self._worker, self._wanted = bool(prefetch), threading.Lock(), None, None
        self.steps = W.SelectionSlider(options=self.STEPS, value=10, description="DDIM steps",
                                       continuous_update=False, layout=W.Layout(width="360px"))
        self.eta = W.SelectionSlider(options=self.ETAS, value=0.0, description="η", continuous_update=False,
                                     layout=W.Layout(width="360px"))
        self.image, self.label = picture(), W.HTML(layout=W.Layout(width="360px"))
        self.steps.observe(lambda _: self.redraw(), "value")
        self.eta.observe(lambda _: self.redraw(), "value")
        super().__init__([side_by_side(self.image, W.VBox([self.steps, self.eta, self.label]))])
        self.redraw()

    def result(self, steps: int, eta: float, stop=None):
        """(images (n, 1, H, W) in [0, 1], the judge's DigitReport) for one setting, cached. With `stop`
        (the background thread's), the computation gives up at the first network call after stop()
        turns true, and returns None."""
        from ..diffusion import ddim_sample
        from ..digit_judge import judge_digits

        key = (int(steps), float(eta))
        if key in self.cache:             # computed: no waiting for the background thread
            return self.cache[key]
        with self._lock:                  # one setting at a time; a move stops the background one (below)
            if key not in self.cache:
                unet = self.unet if stop is None else _Stoppable(self.unet, stop)
                try:
                    x = ddim_sample(unet, self.abar, self.n, key[0], key[1], torch.Generator().manual_seed(self.seed))
                except _Stopped:
                    return None
                images = to_unit(x)
                self.cache[key] = (images, judge_digits(images))
            return self.cache[key]

    def neighbours(self) -> list[tuple[int, float]]:
        """The settings one slider step away from the current one, nearest first, not yet computed."""
        i, j = self.STEPS.index(self.steps.value), self.ETAS.index(self.eta.value)
        near = [(self.STEPS[i + 1], self.ETAS[j]) if i + 1 < len(self.STEPS) else None,
                (self.STEPS[i - 1], self.ETAS[j]) if i > 0 else None,
                (self.STEPS[i], self.ETAS[j + 1]) if j + 1 < len(self.ETAS) else None,
                (self.STEPS[i], self.ETAS[j - 1]) if j > 0 else None]
        return [k for k in near if k is not None and k not in self.cache]

    def _start_prefetch(self) -> None:
        import threading

        wanted = self._wanted = (self.steps.value, self.eta.value)

        def moved() -> bool:                  # the slider moved on: its own thread fetches its neighbours
            return self._wanted != wanted

        def work(keys):
            for key in keys:
                try:
                    if moved() or self.result(*key, stop=moved) is None:
                        return
                except Exception:             # never a traceback on the slide; a move computes it again
                    return
        if self._worker is None:          # at exit, stop it first (torch aborts on a thread killed mid-call)
            import atexit

            atexit.register(self._stop_for_exit)
        self._worker = threading.Thread(target=work, args=(self.neighbours(),), daemon=True, name="ddim-prefetch")
        self._worker.start()

    def _stop_for_exit(self) -> None:
        self._wanted = ("exit",)
        self.wait(10)

    def wait(self, timeout: float | None = None) -> None:
        """Until the background computation of the neighbouring settings has finished (tests, scripts)."""
        if self._worker is not None:
            self._worker.join(timeout)

    def redraw(self) -> None:
        """Sample (or look up) the current setting, and show its first digits and its scores."""
        from ..images import make_grid

        key = (self.steps.value, self.eta.value)
        self._wanted = ("shown", key)     # a background computation stops at its next network call
        if (int(key[0]), float(key[1])) not in self.cache:   # say so at once: 100 steps take seconds
            self.label.value = f"{key[0]} steps, η = {key[1]}: computing {self.n} digits…"
        images, report = self.result(*key)
        show(self.image, to_png(make_grid(images[: self.n_show], nrow=8), self.scale))
        calls = f"{self.steps.value} network call{'s' if self.steps.value > 1 else ''}"
        self.label.value = (f"{self.steps.value} steps, η = {self.eta.value}: {calls} per digit<br>judge on {report.n} digits: confidence {report.confidence:.2f}, "
                            f"{report.classes_covered}/10 classes, Fréchet distance {report.frechet:.1f} "
                            "(lower is better)")
        if self.prefetch:
            self._start_prefetch()


def ddim_explorer(unet, alphas_cumprod, n: int = 64, seed: int = 0, prefetch: bool = True) -> DDIMExplorer:
    """Sliders over DDIM's number of steps and eta, with the digit judge's score live; returns the widget.
    `prefetch`: compute the settings one slider step away in the background (DDIMExplorer).

    Example: ddim_explorer(models.load_pretrained("ddpm-digits").unet, noise.make_schedule("linear"))"""
    return DDIMExplorer(unet, alphas_cumprod, n, seed, prefetch=prefetch)
