"""The course's small models and their shipped checkpoints.

`load_pretrained(name)` loads a checkpoint from assets/checkpoints/; `sample(name, n, seed)`
draws n images from it as a tensor (n, C, H, W) in [0, 1]. Both look the name up in
course_utils/registry.py, which lists every shipped model."""

from __future__ import annotations

import numbers

import torch

from .. import validate
from ..diffusion import sample_diffusion  # noqa: F401  (the public name lessons use: models.sample_diffusion)
from ..paths import ROOT, checkpoint_dir
from ..registry import REGISTRY

_CACHE: dict = {}


def load_pretrained(name: str, device: str | torch.device | None = None):
    """Load a shipped checkpoint by name (cached per device); device None: the course's device.

    'rbm-digits' -> our RBM; 'gan-digits' -> (G, D); 'ddpm-digits' -> a DDPMPipeline;
    'vae-shapes' -> an AutoencoderKL; 'unet-shapes' -> a UNet2DConditionModel;
    'flow-digits' -> a UNet2DModel that predicts velocities. (registry.REGISTRY[name].returns)
    Example: pipe = load_pretrained("ddpm-digits"); pipe.unet, pipe.scheduler"""
    from ..setup import pick_device

    validate.text("name", name, hint=f"one of {', '.join(REGISTRY)}")
    folder = checkpoint_dir(name)                 # unknown or missing: an error that says what to do
    device = validate.device("device", device) if device is not None else pick_device()
    key = (name, str(device))
    if key not in _CACHE:
        from diffusers.utils import logging as diffusers_logging

        diffusers_logging.disable_progress_bar()  # no "Loading pipeline components" bars in lessons
        try:
            _CACHE[key] = REGISTRY[name].load(folder, device)
        except (OSError, ValueError, RuntimeError, KeyError) as e:
            raise RuntimeError(
                f"checkpoint {name!r} in {folder} could not be loaded ({type(e).__name__}: {e}). A file may be "
                f"missing, truncated or from another version. Rebuild it with: "
                f"cd {ROOT} && python {REGISTRY[name].script}") from e
    return _CACHE[key]


@torch.no_grad()
def sample(name: str, n: int = 16, seed: int = 0, steps: int | None = None, device=None) -> torch.Tensor:
    """n samples of a shipped model as (n, C, H, W) in [0, 1]; the same seed, the same images.

    steps: DDIM steps for 'ddpm-digits' (50 if None), Euler steps for 'flow-digits' (50),
    Gibbs steps for 'rbm-digits' (1000); a GAN takes none.
    Example: sample("ddpm-digits", 16, seed=0).shape -> (16, 1, 16, 16)"""
    validate.text("name", name, hint=f"one of {', '.join(REGISTRY)}")
    entry = REGISTRY.get(name)
    if entry is not None and entry.sampler is None:
        raise ValueError(f"{name!r} has no sampler of its own: " + (
            "use pipelines.load_text_to_image() to generate from a prompt" if name == "unet-shapes"
            else "it is an autoencoder; encode and decode images with course_utils.models.vae" if name == "vae-shapes"
            else f"load_pretrained({name!r}) gives a text-to-image pipeline; call it with a prompt"))
    for arg, value in (("n", n), ("seed", seed)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{arg} must be a whole number, got {value!r}")
    if not 1 <= n <= 10_000:
        raise ValueError(f"n must be between 1 and 10000 images, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be a whole number of at least 0, got {seed}")
    model = load_pretrained(name, device)          # unknown names get the helpful error here
    if steps is None:
        steps = entry.default_steps
    elif entry.default_steps is None:
        raise ValueError(f"{name!r} draws a sample in one pass and takes no steps; leave steps out")
    elif isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"steps must be a whole number of at least 1 for {name!r}, got {steps!r}")
    return entry.sample(model, int(n), torch.Generator().manual_seed(int(seed)), steps)
