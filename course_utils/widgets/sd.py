"""Widgets of lesson 06: the text-to-image playground and a guidance-scale slider."""

from __future__ import annotations

import html
import math
import time

import ipywidgets as W
import torch

from ..images import to_png
from ..pipelines import SCHEDULERS, make_scheduler  # noqa: F401  (lesson 06 used to import it from here)
from .basic import on_enter, picture, show, side_by_side
from .fast import GUIDANCE, STEPS, FastSwitch

EXAMPLE_PROMPT = "a small red circle in the top left"


def prompt_words() -> dict:
    """The words the course's model was trained on, by what they name: {'colour': [...], 'shape': [...], ...}.

    classroom/web/t2i-ui.js holds the same lists for the in-browser playground (a test compares them)."""
    from .. import captions, shapes

    return {"colour": list(shapes.COLOURS), "shape": [w for ws in captions.SHAPE_WORDS.values() for w in dict.fromkeys(ws)],
            "size": sorted({w for d in (shapes.SIZE_WORDS["train"], captions.SIZE_WORDS) for ws in d.values()
                            for w in ws if w.isalpha()}),
            "background": [w for ws in captions.BACKGROUND_WORDS.values() for w in ws],
            "position": ["top", "bottom", "left", "right", "center", "centre", "middle", "upper", "lower"]}


def named_attributes(prompt: str) -> list[str]:
    """Which of colour, shape, size, background and position the prompt names (a plural 's' is allowed)."""
    import re

    said = {w.removesuffix("s") for w in re.findall(r"[a-z]+", prompt.lower())} | set(re.findall(r"[a-z]+", prompt.lower()))
    return [what for what, words in prompt_words().items() if said & set(words)]


def prompt_problem(prompt: str) -> str | None:
    """Why the playground will not draw `prompt`, or None: it is empty, or it names no shape and no colour
    the model knows (it would draw a shape of its own choosing, and the room would think it understood)."""
    if not prompt.strip():
        return f"Type what to draw first, for example: {EXAMPLE_PROMPT}."
    if not {"colour", "shape"} & set(named_attributes(prompt)):
        w = prompt_words()
        return (f"The model knows no shape or colour in this prompt: it only ever saw pictures of shapes. "
                f"Shapes: {', '.join(w['shape'])}. Colours: {', '.join(w['colour'])}. Also small or large, "
                f"a black, white or gray background, and where (top left, center, bottom right...). "
                f"Try: {EXAMPLE_PROMPT}.")
    return None


class PromptPlayground(W.VBox):
    """Type a prompt, set guidance / steps / seed / scheduler; Enter or Generate makes the image.

    The controls sit left of the image; under them, the latents after evenly spaced steps decoded by
    the VAE, and the time taken. Enter generates even when the prompt is unchanged; moving a slider,
    the seed or the scheduler generates when it is let go (`continuous_update=False`).
    The "fast (4 steps)" switch (off at first) draws with lcm-shapes instead: 4 LCM steps, guidance 1,
    the negative prompt, guidance, steps and scheduler controls resting (widgets.fast.FastSwitch)."""

    def __init__(self, pipe, prompt: str = "a big yellow star in the top right", scale: int = 4,
                 strip_scale: int = 2):
        self.pipe, self.scale, self.strip_scale = pipe, scale, strip_scale
        lay = W.Layout(width="420px")
        self.prompt = W.Text(prompt, description="prompt", layout=lay)
        self.negative = W.Text("", description="negative", layout=lay,
                               placeholder="what to steer away from (optional)")
        self.guidance = W.FloatSlider(2.0, min=1.0, max=12.0, step=0.5, description="guidance",
                                      continuous_update=False, layout=lay)
        self.steps = W.IntSlider(25, min=1, max=50, description="steps", continuous_update=False, layout=lay)
        self.seed = W.IntText(0, description="seed", layout=W.Layout(width="180px"))
        self.scheduler = W.Dropdown(options=SCHEDULERS, value="DDIM", description="scheduler",
                                    layout=W.Layout(width="236px"))
        self.button = W.Button(description="Generate", button_style="primary")
        self.fast = FastSwitch(pipe, width=lay.width)
        self.image, self.strip, self.label = picture(), picture(), W.HTML(layout=lay)
        self.button.on_click(lambda _: self.generate())
        for text in (self.prompt, self.negative):          # Enter generates, changed or not
            on_enter(text, self.generate)
        for control in (self.guidance, self.steps, self.seed, self.scheduler):
            control.observe(lambda _: self.generate(), "value")
        self.fast.toggle.observe(self._switched, "value")
        controls = W.VBox([self.prompt, self.negative, self.guidance, self.steps,
                           W.HBox([self.seed, self.scheduler]), self.button, self.fast, self.label])
        super().__init__([side_by_side(controls, self.image), self.strip])
        self.generate()

    def _switched(self, change) -> None:
        if change["new"] and not self.fast.ready():     # it said why and switched itself back off
            return
        for control in (self.negative, self.guidance, self.steps, self.scheduler):
            control.disabled = self.fast.on
        self.generate()

    def run(self, prompt, negative="", guidance=2.0, steps=25, seed=0, scheduler="DDIM", fast=False) -> dict:
        """One generation -> {'image' (3, H, W), 'strip' (k, 3, H, W), 'steps_shown', 'seconds'}.

        fast=True: lcm-shapes' pipeline with its LCMScheduler (`scheduler` unused; generate() passes 4 steps, guidance 1)."""
        from ..inspection import denoising_strip, latents_to_images
        from ..pipelines import with_scheduler

        # a pipeline of its own: the shared one keeps its scheduler
        pipe = self.fast.pipeline() if fast else with_scheduler(self.pipe, scheduler)
        t0 = time.perf_counter()
        img, latents, shown = denoising_strip(pipe, prompt, n_show=5, seed=seed, guidance_scale=guidance,
                                              num_inference_steps=steps, negative_prompt=negative or None)
        seconds = time.perf_counter() - t0
        return {"image": img, "strip": latents_to_images(pipe, latents), "steps_shown": shown, "seconds": seconds}

    def generate(self) -> dict:
        from ..images import make_grid, to_png

        problem = prompt_problem(self.prompt.value) if isinstance(self.prompt.value, str) else None
        if problem:                                               # say so, keep the old image
            self.label.value = f"<span style='color:#b00'>{html.escape(problem)}</span>"
            return {}
        try:
            if self.fast.on:
                r = self.run(self.prompt.value, "", GUIDANCE, STEPS, self.seed.value, fast=True)
            else:
                r = self.run(self.prompt.value, self.negative.value, self.guidance.value, self.steps.value,
                             self.seed.value, self.scheduler.value)
        except ValueError as e:                                   # a bad prompt: say so, keep the old image
            self.label.value = f"<span style='color:#b00'>{e}</span>"
            return {}
        show(self.image, to_png(r["image"], self.scale))
        show(self.strip, to_png(make_grid(r["strip"], nrow=len(r["strip"]), padding=2), self.strip_scale))
        if self.fast.on:
            self.label.value = (f"fast: LCM, {STEPS} steps in <b>{r['seconds']:.2f} s</b>, no guidance (negative, "
                                f"guidance, steps and scheduler unused); below: the latents after steps "
                                f"{r['steps_shown']}, decoded")
        else:
            self.label.value = (f"{self.scheduler.value}, {self.steps.value} steps in <b>{r['seconds']:.2f} s</b>; "
                                f"below: the latents after steps {r['steps_shown']}, decoded")
        return r


def prompt_playground(pipe, prompt: str = "a big yellow star in the top right", scale: int = 4,
                      strip_scale: int = 2) -> PromptPlayground:
    """The text-to-image playground: prompt, negative prompt, guidance, steps, seed, scheduler.

    Example: prompt_playground(pipelines.load_text_to_image())  # scale=7 for a projector"""
    return PromptPlayground(pipe, prompt, scale, strip_scale)


def seed_spread(images: torch.Tensor) -> float:
    """How different a batch of pictures is: the mean absolute pixel difference over all pairs, in 0-255 levels."""
    n = len(images)
    pairs = [(images[i] - images[j]).abs().mean() for i in range(n) for j in range(i + 1, n)]
    return float(torch.stack(pairs).mean()) * 255 if pairs else 0.0


LOOK_THE_SAME = 8.0   # a mean difference under 8 of 255 levels: the room sees one picture several times


class GuidanceExplorer(W.VBox):
    """A slider over the guidance scale for one prompt and a few seeds (images made up front).

    Under the pictures it says how different the seeds' pictures are (seed_spread) and why: a prompt
    that names the size, colour, shape, position and background leaves the seeds nothing to choose,
    at every scale; a prompt that leaves something open shows guidance's cost in diversity."""

    def __init__(self, pipe, prompt: str, scales=(1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0), n_seeds: int = 4,
                 num_inference_steps: int = 25, scale: int = 3):
        from ..adherence import generate

        self.prompt, self.scales, self.scale = prompt, list(scales), scale
        self.images = {s: generate(pipe, [prompt] * n_seeds, seed=0, guidance_scale=s,
                                   num_inference_steps=num_inference_steps) for s in self.scales}
        self.spread = {s: seed_spread(x) for s, x in self.images.items()}
        self.slider = W.SelectionSlider(options=self.scales, value=self.scales[len(self.scales) // 2],
                                        description="guidance", layout=W.Layout(width="420px"))
        self.image, self.label = picture(), W.HTML(layout=W.Layout(max_width="760px"))
        self.slider.observe(lambda _: self.redraw(), "value")   # the images are made: the slider is live
        super().__init__([W.HTML(f"<b>{html.escape(prompt)}</b>"), self.slider, self.image, self.label])
        self.redraw()

    def redraw(self) -> None:
        from ..images import make_grid

        x = self.images[self.slider.value]
        show(self.image, to_png(make_grid(x, nrow=len(x), padding=2), self.scale))
        self.label.value = self.explain(self.slider.value)

    def explain(self, w: float) -> str:
        """What the room is seeing at guidance w: how far apart the seeds' pictures are, and why."""
        n, low = len(self.images[w]), min(self.scales)
        now = (f"{n} seeds (noise drawn from one generator, so {n} different starts) at guidance {w} "
               f"(1 = no guidance): their pictures differ by <b>{self.spread[w]:.1f}</b> of 255 levels per pixel "
               f"on average (at {low}: {self.spread[low]:.1f}).")
        named = named_attributes(self.prompt)
        open_ = [a for a in ("size", "colour", "shape", "position", "background") if a not in named]
        if max(self.spread.values()) < LOOK_THE_SAME:
            return (f"{now} They look the same at every scale: the prompt names the {_and(named)}, so the seed has "
                    "nothing left to choose. That is the prompt, not guidance. Leave words out, e.g. "
                    "<i>a green triangle</i>, and the seeds draw different sizes, places and backgrounds.")
        return (f"{now} The prompt leaves the {_and(open_) or 'details'} to the seed. As guidance grows, the "
                "pictures move toward what fits the prompt best: guidance buys adherence with diversity.")


def _and(words: list[str]) -> str:
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1]])) if words else ""


def guidance_explorer(pipe, prompt: str = "a small red circle in the top left", **kwargs) -> GuidanceExplorer:
    """Slide over the classifier-free guidance scale; the same seeds at every scale.

    Example: guidance_explorer(pipe, "a big blue star at the bottom")"""
    return GuidanceExplorer(pipe, prompt, **kwargs)


class Img2ImgExplorer(W.VBox):
    """A strength slider for img2img: the start picture next to the result for the prompt."""

    def __init__(self, i2i, prompt: str, image, strength: float = 0.6, seed: int = 0, scale: int = 4, **kwargs):
        self.i2i, self.prompt, self.picture, self.seed, self.scale = i2i, prompt, image, seed, scale
        self.kwargs = {"num_inference_steps": 25, "guidance_scale": 2.0} | kwargs
        lowest = math.ceil(20 / self.kwargs["num_inference_steps"] - 1e-9) / 20   # runs at least one step
        self.strength = W.FloatSlider(max(strength, lowest), min=lowest, max=1.0, step=0.05, description="strength",
                                      layout=W.Layout(width="360px"), continuous_update=False)  # one run per release
        self.image, self.label = picture(), W.HTML(layout=W.Layout(width="360px"))
        self.strength.observe(lambda _: self.redraw(), "value")
        controls = W.VBox([W.HTML(f"prompt: <b>{prompt}</b>"), self.strength, self.label],
                          layout=W.Layout(width="380px"))
        super().__init__([side_by_side(self.image, controls)])
        self.redraw()

    def run(self, strength: float) -> torch.Tensor:
        """The img2img result at `strength`, (3, H, W) in [0, 1]."""
        g = torch.Generator().manual_seed(self.seed)
        return self.i2i(self.prompt, image=self.picture, strength=strength, generator=g, output_type="pt",
                        **self.kwargs).images[0].cpu()

    def redraw(self) -> None:
        from ..images import make_grid

        try:
            out = self.run(self.strength.value)
        except ValueError as e:                                   # say so, keep the old picture
            self.label.value = f"<span style='color:#b00'>{e}</span>"
            return
        start = self.picture[0] if self.picture.ndim == 4 else self.picture
        show(self.image, to_png(make_grid(torch.stack([start.cpu(), out]), nrow=2, padding=2), self.scale))
        steps = int(self.kwargs["num_inference_steps"] * self.strength.value)
        self.label.value = f"left: the start picture; right: strength {self.strength.value:.2f} ({steps} denoising steps run)"


def img2img_explorer(i2i, prompt: str, image, **kwargs) -> Img2ImgExplorer:
    """Slide the img2img strength from 'keep the picture' to 'ignore it'.

    Example: img2img_explorer(pipelines.img2img(pipe), "a blue square", shapes_world(1).images)"""
    return Img2ImgExplorer(i2i, prompt, image, **kwargs)


class AttentionExplorer(W.VBox):
    """Pick a word of the prompt and a denoising step ("mean": all steps); see where that word's
    cross-attention goes.

    One generation records every step's maps (attention.cross_attention_maps) when the widget is
    made; moving the controls only redraws from them, so it is instant. The picture: the generated
    image, then the map over it in gray (brighter = a larger share of the words' attention; one
    colour scale for all words of that step, as in viz.plot_cross_attention)."""

    def __init__(self, pipe, prompt: str, seed: int = 0, scale: int = 4, **kwargs):
        from ..attention import cross_attention_maps

        self.scale = scale
        self.maps = cross_attention_maps(pipe, prompt, seed=seed, **{"guidance_scale": 2.0} | kwargs)
        n = len(self.maps.maps)
        self.word = W.Dropdown(options=[(f"{w} ({i})", i) for i, w in enumerate(self.maps.words)], value=0,
                               description="word", layout=W.Layout(width="260px"))
        self.step = W.SelectionSlider(options=[("mean", "mean")] + [(str(k + 1), k) for k in range(n)], value="mean",
                                      description="step", layout=W.Layout(width="420px"))
        self.image, self.label = picture(), W.HTML()
        for control in (self.word, self.step):
            control.observe(lambda _: self.redraw(), "value")
        super().__init__([W.HTML(f"<b>{prompt}</b>"), W.HBox([self.word, self.step]), self.image, self.label])
        self.redraw()

    def overlay(self, word, step=None) -> torch.Tensor:
        """(3, H, W) in [0, 1]: the image in gray under the word's map (magma colours, alpha 0.65)."""
        import matplotlib

        i = self.maps.index(word)
        heat = torch.stack([self.maps.for_word(j, step) for j in range(len(self.maps.words))])   # (words, 64, 64)
        self.top = float(heat.max())                          # the colour scale: 0 ... the largest share at this step
        h = heat[i] / max(self.top, 1e-12)
        colour = torch.from_numpy(matplotlib.colormaps["magma"](h.numpy())[..., :3]).permute(2, 0, 1).float()
        gray = self.maps.image.mean(0, keepdim=True).expand(3, -1, -1)
        if colour.shape[-2:] != gray.shape[-2:]:
            colour = torch.nn.functional.interpolate(colour[None], size=gray.shape[-2:], mode="bilinear")[0]
        return (0.35 * gray + 0.65 * colour).clamp(0, 1)

    def redraw(self) -> None:
        from ..images import make_grid

        word, step = self.word.value, None if self.step.value == "mean" else self.step.value
        show(self.image, to_png(make_grid(torch.stack([self.maps.image, self.overlay(word, step)]), nrow=2,
                                          padding=2), self.scale))
        when = "averaged over all steps" if step is None else f"at step {step + 1} of {len(self.maps.maps)}"
        share = float(self.maps.for_word(word, step).mean())
        self.label.value = (f"left: the image; right: where <b>{self.maps.words[word]}</b> looks, {when} "
                            f"({share:.0%} of the words' attention over the image; start/end tokens and padding "
                            f"left out); brightest = {self.top:.0%}, the largest share of any word here")


def attention_explorer(pipe, prompt: str = "a small red circle in the top left", seed: int = 0,
                       **kwargs) -> AttentionExplorer:
    """Where each word looks: pick a word and a step of one generation (maps recorded once).

    Example: attention_explorer(pipe, "a red circle and a blue square", guidance_scale=2.0)"""
    return AttentionExplorer(pipe, prompt, seed, **kwargs)
