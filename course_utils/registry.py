"""Every model the course ships, one entry each: what it is, which lesson uses it, how it is
loaded, how it is sampled, which script rebuilds it and which function measures it.

`models.load_pretrained(name)` and `models.sample(name, n, seed)` are lookups in this table;
`paths.KNOWN_CHECKPOINTS`, `setup()`'s list and scripts/evaluate_checkpoints.py read it too.
Adding a model is adding one entry (and the loader and sampler it names).

Loaders, samplers and evaluations are named as "module:function" and imported only when used, so reading
the table costs nothing. A loader is load(folder, device) -> the model; a sampler is
sample(model, n, generator, steps) -> images (n, C, H, W) in [0, 1] on the CPU."""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Checkpoint:
    name: str
    what: str
    lesson: str
    loader: str                      # "module:function", load(folder, device) -> model
    script: str                      # rebuilds it from scratch
    evaluation: str                  # "module:function" that measures it for metrics.json (evaluate_checkpoints.py)
    sampler: str | None = None       # "module:function", sample(model, n, generator, steps) -> images
    default_steps: int | None = None  # sampler steps when the caller gives none
    returns: str = ""                # what load_pretrained gives back, in words

    def load(self, folder, device):
        return _resolve(self.loader)(folder, device)

    def sample(self, model, n, generator, steps):
        return _resolve(self.sampler)(model, n, generator, steps)

    def evaluate(self, **kwargs) -> dict:
        """Measure the shipped checkpoint as its card does (minutes): the dict metrics.json holds."""
        return _resolve(self.evaluation)(**kwargs)


def _resolve(ref: str):
    module, function = ref.split(":")
    return getattr(importlib.import_module(module), function)


REGISTRY: dict[str, Checkpoint] = {c.name: c for c in [
    Checkpoint("rbm-digits", "our torch RBM, 64 visible x 256 hidden units, CD-1 on binarised digits",
               "01_rbm", "course_utils.models.rbm:load", "scripts/train_rbm_digits.py", "course_utils.evaluation:evaluate_rbm",
               "course_utils.models.rbm:sample_from", 1000, "an RBM (course_utils.models.rbm.RBM)"),
    Checkpoint("gan-digits", "MLP generator and discriminator on the digits", "02_gan",
               "course_utils.models.gan:load", "scripts/train_gan_digits.py", "course_utils.evaluation:evaluate_gan",
               "course_utils.models.gan:sample_from", None, "a pair (G, D) of torch MLPs"),
    Checkpoint("ddpm-digits", "diffusers UNet2DModel + DDPM scheduler on 16x16 digits", "03_diffusion",
               "course_utils.models.ddpm:load", "scripts/train_ddpm_digits.py", "course_utils.evaluation:evaluate_ddpm",
               "course_utils.diffusion:sample_from_pipeline", 50, "a diffusers DDPMPipeline (.unet, .scheduler)"),
    Checkpoint("vae-shapes", "diffusers AutoencoderKL, 64x64x3 <-> 8x8x4, on Shapes World", "05_vae",
               "course_utils.models.vae:load", "scripts/train_vae_shapes.py", "course_utils.evaluation:evaluate_vae",
               returns="a diffusers AutoencoderKL"),
    Checkpoint("unet-shapes", "diffusers UNet2DConditionModel on vae-shapes latents, cross-attending to MiniLM "
               "token embeddings", "06_stable_diffusion", "course_utils.models.unet_shapes:load",
               "scripts/train_unet_shapes.py", "course_utils.evaluation:evaluate_unet_shapes",
               returns="a diffusers UNet2DConditionModel (pipelines.load_text_to_image() gives the whole pipeline)"),
    Checkpoint("flow-digits", "the ddpm-digits UNet2DModel trained with rectified flow", "07_beyond",
               "course_utils.models.ddpm:load_unet", "scripts/train_flow_digits.py", "course_utils.evaluation:evaluate_flow",
               "course_utils.flow:sample_from_unet", 50, "a diffusers UNet2DModel that predicts velocities"),
    Checkpoint("lora-teal", "LoRA adapters (PEFT) on unet-shapes' attention (rank 4) and vae-shapes' encoder and decoder (rank 8) "
               "that teach the pipeline the colour word 'teal'", "08_make_it_yours", "course_utils.finetune.unet_adapters:load_adapter", "scripts/train_lora_teal.py",
               "course_utils.evaluation:evaluate_lora", returns="a StableDiffusionPipeline of its own with the adapter loaded "
               "(finetune.lora_scale(pipe, 0) gives the base model back)"),
    Checkpoint("lcm-shapes", "a LoRA (PEFT, rank 16) on unet-shapes' attention and resnet convolutions, distilled by "
               "latent consistency distillation so that 4 steps of diffusers' LCMScheduler draw what 25 guided DDIM steps draw",
               "07_beyond", "course_utils.lcm:load", "scripts/train_lcm_shapes.py", "course_utils.evaluation:evaluate_lcm",
               returns="a StableDiffusionPipeline of its own with the adapter loaded and an LCMScheduler "
               "(call it with guidance_scale=1 and 1-8 steps)"),
]}
