"""Lesson 08's data: Shapes World scenes in the extra colour teal (20, 160, 160), which no base model ever
saw, and the latents and pipelines that the three techniques (textual_inversion, vae_adapters,
unet_adapters) train on.

- `teal_examples`: scenes with captions in the course's varied wording; `recoloured`: the same scenes with
  their objects in the old colours.
- `latents_for`: latents that `vae-shapes` decodes to given pictures. Its encoder never saw teal and
  returns latents that decode to a duller, greener colour; a few steps of gradient descent through the
  frozen decoder find latents that decode to teal (the VAE bounds what the whole model can draw).
- `drawn_latents`: the latents a pipeline draws for prompts (what prior preservation keeps).
- `read_colours`: read pictures back with a reader that knows teal.
- `fresh_pipeline`: a course pipeline with its own copies, to add a word or an adapter to.

Latents, here and in every function of `finetune`, are scaled: as the U-Net sees them, the VAE's own
times vae.config.scaling_factor (what `pipe(..., output_type="latent")` gives and diffusers' training
scripts use). `vae_adapters.to_decoder` and `vae_adapters.from_encoder` are the one place that converts."""

from __future__ import annotations

import copy

import numpy as np
import torch

from .. import metrics, shapes
from .. import validate as v
from ..data import render_scenes
from .vae_adapters import from_encoder

NEW_COLOUR = "teal"


def fresh_pipeline(device: str = "cpu"):
    """A course StableDiffusionPipeline with its own copies of the tokenizer, text encoder, U-Net and VAE,
    so that adding a word or an adapter leaves `pipelines.load_text_to_image()` untouched."""
    from ..pipelines import load_text_to_image

    base = load_text_to_image(None, device)
    parts = dict(base.components)
    for name in ("tokenizer", "text_encoder", "unet", "vae"):
        parts[name] = copy.deepcopy(parts[name])
    pipe = type(base)(**parts, requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    return pipe


def teal_examples(n: int, seed: int = 0, colour: str = NEW_COLOUR, other_share: float = 0.0,
                  wording: str = "varied"):
    """n single-object scenes -> (images (n, 3, 64, 64) in [0, 1], scenes, captions). The object is
    `colour`; a share `other_share` of the scenes keep one of the six old colours (so that a
    fine-tuned model keeps them: DreamBooth's "prior preservation"). Captions in `wording`
    ('varied' for training, 'freeform' for measuring: wordings training never used)."""
    v.whole("n", n, 1, v.MAX_IMAGES)
    v.whole("seed", seed, 0, 2**62)
    v.number("other_share", other_share, 0.0, 1.0)
    v.one_of("wording", wording, ("varied", "freeform"))
    if colour not in shapes.COLOURS | shapes.EXTRA_COLOURS:
        raise ValueError(f"colour must be one of {list(shapes.COLOURS | shapes.EXTRA_COLOURS)}, got {colour!r}")
    rng = np.random.default_rng([seed, 8])
    scenes = []
    for _ in range(n):
        fixed = {} if rng.random() < other_share else {"colour": colour}
        scene = shapes.Scene(str(rng.choice(list(shapes.BACKGROUNDS))), [shapes.random_object(rng, **fixed)])
        scene.caption = shapes.make_caption(scene, rng, wording)
        scenes.append(scene)
    return render_scenes(scenes), scenes, [s.caption for s in scenes]


def recoloured(scenes, colours=None) -> torch.Tensor:
    """The same scenes drawn again with their objects in each of `colours` (the six old ones by
    default) -> (N, K, 3, 64, 64) in [0, 1]: what train_decoder_lora(apart=...) keeps a new colour away from."""
    from dataclasses import replace

    colours = list(shapes.COLOURS if colours is None else colours)
    unknown = [c for c in colours if c not in shapes.COLOURS | shapes.EXTRA_COLOURS]
    if unknown or not colours:
        raise ValueError(f"colours must be some of {list(shapes.COLOURS | shapes.EXTRA_COLOURS)}, got {colours!r}")
    out = render_scenes([replace(s, objects=[replace(o, colour=c) for o in s.objects]) for s in scenes for c in colours])
    return out.reshape(len(scenes), len(colours), *out.shape[1:])


def latents_for(vae, images: torch.Tensor, steps: int = 150, lr: float = 0.05, jitter: float = 0.0,
                seed: int = 0) -> torch.Tensor:
    """Scaled latents (N, 4, 8, 8) that `vae` decodes to `images` (N, 3, 64, 64) in [0, 1]: the
    encoder's answer, then `steps` Adam steps on the decoder's pixel error (the decoder frozen).
    jitter > 0 decodes z + jitter * N(0, 1) at each step instead, so that latents near z decode to
    the picture too (a model that makes them will make them only approximately)."""
    from ..models.vae import check_vae, encode

    check_vae(vae)
    images = v.tensor("images", images, 4, "(N, 3, 64, 64) in [0, 1]")
    v.whole("steps", steps, 0, 100_000)
    v.number("lr", lr, 0.0, 10.0, open_lo=True)
    v.number("jitter", jitter, 0.0, 100.0)
    z = encode(vae, images).clone().requires_grad_(True)                       # (N, 4, 8, 8), the VAE's own
    opt = torch.optim.Adam([z], lr=lr)
    target = images * 2 - 1                                                    # the decoder speaks [-1, 1]
    for p in vae.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        shaken = z + jitter * torch.randn(z.shape, generator=g) if jitter else z
        loss = (vae.decode(shaken).sample.clamp(-1, 1) - target).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return from_encoder(vae, z.detach())


def drawn_latents(pipe, prompts: list[str], seed: int = 0, guidance_scales=(2.0, 5.0), steps: int = 25) -> torch.Tensor:
    """The scaled latents that `pipe` draws for `prompts` at each guidance scale (pipe(..., output_type="latent")),
    batches of 64 seeded seed, seed + 1, ... -> (len(prompts) * len(guidance_scales), 4, 8, 8).
    train_decoder_lora(preserve_latents=...) keeps what the base decoder paints for them; given to train_lora
    with preserve=True, what the base U-Net predicts on them."""
    from ..pipelines import check_pipe

    check_pipe(pipe)
    prompts = v.texts("prompts", prompts)
    out, i = [], 0
    for w in guidance_scales:
        for start in range(0, len(prompts), 64):
            g = torch.Generator().manual_seed(seed + i)
            out.append(pipe(prompts[start:start + 64], generator=g, output_type="latent", guidance_scale=w,
                            num_inference_steps=steps).images)
            i += 1
    return torch.cat(out)


def read_colours(images) -> list[str]:
    """The colour of the largest object of each picture (N, 3, 64, 64), read by a reader that knows
    teal too ('none' where it finds no object). Example: Counter(read_colours(images))"""
    found = [metrics.read_scene(im, extra_colours=(NEW_COLOUR,))[1] for im in v.tensor("images", images, 4)]
    return [f[0].colour if f else "none" for f in found]


def check_training_args(latents, captions, steps, lr, batch_size) -> None:
    """The arguments learn_word and train_lora share: scaled latents (N, 4, h, w), N captions, steps, lr, batch."""
    latents = v.tensor("latents", latents, 4, "scaled latents (N, 4, 8, 8)")
    captions = v.texts("captions", captions)
    if len(captions) != len(latents):
        raise ValueError(f"captions must be one per latent: got {len(latents)} latents and {len(captions)} captions")
    v.whole("steps", steps, 1, 1_000_000)
    v.number("lr", lr, 0.0, 10.0, open_lo=True)
    v.whole("batch_size", batch_size, 1, 4096)
