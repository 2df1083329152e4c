"""Widget of lesson 08: how much of the LoRA adapter to use, on any prompt."""

from __future__ import annotations

import ipywidgets as W

from ..images import to_png
from .basic import on_enter, picture, show, side_by_side


class LoraExplorer(W.VBox):
    """A prompt, a seed and the adapters' scale (0 = the base model, 1 = as trained; the VAE's
    adapters are on whenever the scale is above 0): the picture
    and what the reader sees in it (the reader knows teal). Needs a pipeline with a LoRA loaded
    (pipe.load_lora_weights). Pictures are cached per (prompt, scale, seed): going back is instant."""

    def __init__(self, pipe, prompt: str = "a large teal star in the center on white", scale: int = 4):
        self.pipe, self.zoom, self._cache = pipe, scale, {}
        lay = W.Layout(width="420px")
        self.prompt = W.Text(prompt, description="prompt", layout=lay)
        self.lora_scale = W.FloatSlider(1.0, min=0.0, max=1.5, step=0.25, description="LoRA scale",
                                        continuous_update=False, layout=lay)
        self.seed = W.IntSlider(0, min=0, max=20, description="seed", continuous_update=False, layout=lay)
        self.image, self.label = picture(), W.HTML(layout=lay)
        on_enter(self.prompt, self.update)
        for control in (self.lora_scale, self.seed):
            control.observe(lambda _: self.update(), "value")
        super().__init__([side_by_side(W.VBox([self.prompt, self.lora_scale, self.seed, self.label]), self.image)])
        self.update()

    def render(self, prompt: str, scale: float, seed: int) -> dict:
        """{'image': (3, 64, 64) in [0, 1], 'read': what metrics.describe reads, teal included}."""
        import torch

        from .. import metrics
        from ..finetune.teal import NEW_COLOUR
        from ..finetune.unet_adapters import lora_scale

        key = (prompt, float(scale), int(seed))
        if key not in self._cache:
            g = torch.Generator().manual_seed(int(seed))
            img = self.pipe(prompt, num_inference_steps=25, guidance_scale=2.0, generator=g, output_type="pt",
                            **lora_scale(self.pipe, float(scale))).images[0].cpu()
            bg, found = metrics.read_scene(img, extra_colours=(NEW_COLOUR,))
            read = "; ".join(f"{o.size} {o.colour} {o.shape}, {o.position}" for o in found[:2]) or "no shape"
            self._cache[key] = {"image": img, "read": f"{read} (on {bg})"}
        return self._cache[key]

    def update(self) -> dict:
        try:
            r = self.render(self.prompt.value, self.lora_scale.value, self.seed.value)
        except ValueError as e:                                   # a bad prompt: say so, keep the old image
            self.label.value = f"<span style='color:#b00'>{e}</span>"
            return {}
        show(self.image, to_png(r["image"], self.zoom))
        self.label.value = f"the reader sees: <b>{r['read']}</b>"
        return r


def lora_explorer(pipe, prompt: str = "a large teal star in the center on white", scale: int = 4) -> LoraExplorer:
    """The LoRA-scale widget of lesson 08. Example: pipe.load_lora_weights(folder); lora_explorer(pipe)"""
    return LoraExplorer(pipe, prompt, scale)
