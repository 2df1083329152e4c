"""The classroom playground (`make playground`): four widgets of the course on tabs, sized for a projector."""

from __future__ import annotations

import ipywidgets as W


def classroom_playground(pipe=None, scale: int = 6) -> W.Tab:
    """Tabs: the text-to-image playground (lesson 06, with its "fast (4 steps)" switch to lcm-shapes, lesson 07),
    the noising explorer (03), the VAE autoencoder (05), and the lora-teal adapter's scale (08).

    `pipe` defaults to the course's own pipeline; its VAE serves the third tab, so nothing loads twice.
    The fourth tab loads its own pipeline with the adapter the first time it is opened; the fast switch, the
    first time it is switched on.
    Example: classroom_playground(pipelines.load_text_to_image())"""
    from .. import data
    from ..pipelines import load_text_to_image
    from .diffusion import NoisingExplorer
    from .personalize import LoraExplorer
    from .sd import PromptPlayground
    from .vae import SceneAutoencoder

    pipe = pipe if pipe is not None else load_text_to_image()
    tabs = W.Tab([PromptPlayground(pipe, scale=scale, strip_scale=2),
                  NoisingExplorer(data.photo("astronaut", 128), display_size=64 * scale),
                  SceneAutoencoder(pipe.vae, scale=scale - 2),
                  W.VBox([W.HTML("loading the pipeline with the lora-teal adapter ...")])])
    for i, title in enumerate(("Text to image", "Noising (lesson 03)", "The VAE (lesson 05)", "Teal (lesson 08)")):
        tabs.set_title(i, title)

    def open_teal(change):
        holder = tabs.children[3]
        if change["new"] == 3 and not isinstance(holder.children[0], LoraExplorer):
            from ..models import load_pretrained

            holder.children = [LoraExplorer(load_pretrained("lora-teal"), scale=scale)]

    tabs.observe(open_teal, "selected_index")
    return tabs
