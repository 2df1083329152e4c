"""`load_text_to_image(model_id=None)`: a real diffusers StableDiffusionPipeline.

None -> the course's own: the bundled all-MiniLM-L6-v2 text encoder and tokenizer, `vae-shapes`,
`unet-shapes` and a DDIM scheduler, assembled in memory from safetensors (no safety checker).
A hub id (e.g. "stable-diffusion-v1-5/stable-diffusion-v1-5") -> that model, in half precision on
a GPU only. The same cells and helpers then work on either."""

from __future__ import annotations

import torch

from .text import MAX_TOKENS

_CACHE: dict = {}


def course_components(device="cpu") -> dict:
    """The course's text encoder, tokenizer, VAE and U-Net, ready for a StableDiffusionPipeline."""
    from diffusers import DDIMScheduler, UNet2DConditionModel

    from .models import load_pretrained
    from .models.unet_shapes import SCHEDULER_CONFIG
    from .paths import checkpoint_dir
    from .text import load_text_encoder

    tokenizer, text_encoder = load_text_encoder(None, device)
    tokenizer.model_max_length = MAX_TOKENS           # the pipeline pads every prompt to this length
    text_encoder.config.use_attention_mask = True     # and lets BERT ignore the padding, as in training
    unet = UNet2DConditionModel.from_pretrained(checkpoint_dir("unet-shapes"), use_safetensors=True,
                                                dtype=torch.float32)     # stored as float16, run as float32
    return dict(tokenizer=tokenizer, text_encoder=text_encoder, vae=load_pretrained("vae-shapes", device),
                unet=unet.eval().to(device), scheduler=DDIMScheduler(**SCHEDULER_CONFIG))


def load_text_to_image(model_id: str | None = None, device: str | torch.device | None = None):
    """A StableDiffusionPipeline: the course's own (model_id=None) or a hub model.

    Example: pipe = load_text_to_image(); pipe("a small red circle in the top left").images[0]"""
    import warnings

    from diffusers import StableDiffusionPipeline
    from diffusers.utils import logging as diffusers_logging

    from .setup import pick_device

    device = torch.device(device) if device is not None else pick_device()
    key = (model_id, str(device))
    if key in _CACHE:
        return _CACHE[key]
    diffusers_logging.disable_progress_bar()
    if model_id is None:
        with warnings.catch_warnings():  # "expected CLIPTextModel, got BertModel": intended, see lesson 06
            warnings.simplefilter("ignore")
            pipe = StableDiffusionPipeline(**course_components(device), safety_checker=None,
                                           feature_extractor=None, requires_safety_checker=False)
    else:
        dtype = torch.float16 if device.type == "cuda" else torch.float32
        try:
            pipe = StableDiffusionPipeline.from_pretrained(model_id, dtype=dtype, safety_checker=None)
        except OSError as e:
            raise OSError(f"could not load {model_id!r}: it is not on this machine and the hub cannot be "
                          "reached (offline: HF_HUB_OFFLINE=1). Use model_id=None for the course's own "
                          "model, or go online and set HF_HUB_OFFLINE=0.") from e
        pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    _CACHE[key] = pipe
    return pipe
