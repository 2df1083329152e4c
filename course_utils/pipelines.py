"""`load_text_to_image(model_id=None)`: a real diffusers StableDiffusionPipeline.

None -> the course's own: the bundled all-MiniLM-L6-v2 text encoder and tokenizer, `vae-shapes`,
`unet-shapes` and a DDIM scheduler, assembled in memory from safetensors (no safety checker).
A hub id (e.g. "stable-diffusion-v1-5/stable-diffusion-v1-5") -> that model, in half precision on
a GPU only. The same cells and helpers then work on either.

This module loads and assembles pipelines (load_text_to_image, with_scheduler, img2img); it does not
measure or take them apart. What uses a pipeline lives above it: adherence.py (generate,
measure_adherence, adherence), inspection.py (component_table, denoise_by_hand, denoising_strip,
latents_to_images), editing.py, attention.py. Lessons written before that split call those names
here (pipelines.generate, ...): they still work, looked up in their new module on first use."""

from __future__ import annotations

import os

import torch

from . import validate as v
from .pipeline_inputs import check_call, check_generation_inputs, check_pipe  # noqa: F401  (public: pipelines.check_*)
from .quiet import quiet
from .text import MAX_TOKENS

_CACHE: dict = {}
# the two library messages our own warning replaces ("... CLIP can only handle ...", "... indexing errors")
_QUIET_LOGGERS = ("diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion",
                  "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img",
                  "transformers.tokenization_utils_base")


def _diffusers_sd():
    """diffusers' StableDiffusionPipeline, imported without transformers' torchvision notices."""
    with quiet("transformers"):
        from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
    return StableDiffusionPipeline, StableDiffusionImg2ImgPipeline


_SD, _SDImg2Img = _diffusers_sd()


class StableDiffusionPipeline(_SD):
    """diffusers' StableDiffusionPipeline, plus input checks a student can act on.

    Only __call__ is added to (course_utils/pipeline_inputs.py): every argument is checked before
    diffusers runs (a clear ValueError / TypeError naming it; an unknown keyword such as
    `guidence_scale` too), and over-long prompts warn what was kept. guidance_scale <= 1 means no
    guidance, as in diffusers. It saves as, and loads back as, a plain StableDiffusionPipeline."""

    def __call__(self, *args, **kwargs):
        with quiet(*_QUIET_LOGGERS):
            check_call(self, _SD.__call__, args, kwargs)
            return super().__call__(*args, **kwargs)


class StableDiffusionImg2ImgPipeline(_SDImg2Img):
    """diffusers' StableDiffusionImg2ImgPipeline with the same checks, plus the start picture and a
    `strength` that runs at least one denoising step (int(num_inference_steps * strength) >= 1)."""

    def __call__(self, *args, **kwargs):
        with quiet(*_QUIET_LOGGERS):
            check_call(self, _SDImg2Img.__call__, args, kwargs)
            return super().__call__(*args, **kwargs)


def course_components(device="cpu") -> dict:
    """The course's text encoder, tokenizer, VAE and U-Net, ready for a StableDiffusionPipeline."""
    from diffusers import DDIMScheduler

    from .models import load_pretrained
    from .models.unet_shapes import SCHEDULER_CONFIG

    tokenizer, text_encoder = course_text_encoder(device)
    return dict(tokenizer=tokenizer, text_encoder=text_encoder, vae=load_pretrained("vae-shapes", device),
                unet=load_pretrained("unet-shapes", device), scheduler=DDIMScheduler(**SCHEDULER_CONFIG))


def course_text_encoder(device="cpu"):
    """(tokenizer, text encoder) as the U-Net sees them: every prompt padded to MAX_TOKENS, BERT told to ignore
    the padding. Copies: the cached pair text.load_text_encoder hands to lesson 04 stays as it was (the training
    scripts use this too, so that a run in the same process changes nothing either)."""
    from .text import load_text_encoder

    tokenizer, text_encoder = _own_copies(*load_text_encoder(None, device))
    tokenizer.model_max_length = MAX_TOKENS           # the pipeline pads every prompt to this length
    text_encoder.config.use_attention_mask = True     # and lets BERT ignore the padding, as in training
    return tokenizer, text_encoder


def _own_copies(tokenizer, text_encoder):
    """A copy of the tokenizer, and the encoder with a config of its own (its weights shared): settings made
    on them leave the cached pair that text.load_text_encoder hands to other lessons as it was."""
    import copy

    encoder = copy.copy(text_encoder)                 # the same modules and weights, no second copy in memory
    encoder.config = copy.deepcopy(text_encoder.config)
    return copy.deepcopy(tokenizer), encoder


def load_text_to_image(model_id: str | None = None, device: str | torch.device | None = None):
    """A StableDiffusionPipeline: the course's own (model_id=None), a hub id, or a saved folder.

    Example: pipe = load_text_to_image(); pipe("a small red circle in the top left").images[0]"""
    from diffusers.utils import logging as diffusers_logging

    from .setup import pick_device

    if model_id is not None and not isinstance(model_id, (str, os.PathLike)):
        raise v.InputTypeError(f"model_id must be None (the course's own model), a hub id or a folder, got {model_id!r:.60}")
    device = v.device("device", device) if device is not None else pick_device()
    key = (str(model_id) if model_id is not None else None, str(device))
    if key in _CACHE:
        return _CACHE[key]
    diffusers_logging.disable_progress_bar()
    if model_id is None:
        with quiet(warnings=Warning):  # "expected CLIPTextModel, got BertModel": intended, see lesson 06
            pipe = StableDiffusionPipeline(**course_components(device), safety_checker=None,
                                           feature_extractor=None, requires_safety_checker=False)
    else:
        pipe = _from_pretrained(str(model_id), torch.float16 if device.type == "cuda" else torch.float32).to(device)
    pipe.set_progress_bar_config(disable=True)
    _CACHE[key] = pipe
    return pipe


def _from_pretrained(model_id: str, dtype):
    """A saved pipeline from a folder or a hub id, safetensors weights only, with errors that say why."""
    from .network import is_offline

    try:
        with quiet("diffusers.pipelines.pipeline_utils", warnings=Warning):  # BERT, not CLIP
            return StableDiffusionPipeline.from_pretrained(model_id, dtype=dtype, safety_checker=None,
                                                           requires_safety_checker=False, use_safetensors=True)
    except Exception as e:  # noqa: BLE001 - every failure gets the same kind of actionable message
        if os.path.isdir(model_id):
            where = (f"the folder {model_id!r} holds no complete pipeline with safetensors weights (the course "
                     "never loads pickle .bin files); save one there with pipe.save_pretrained(folder)")
        elif is_offline():
            where = (f"{model_id!r} is not a folder, nor a hub model in the local cache, and the course is offline; "
                     "run course_utils.go_online() first, or use model_id=None for the course's own model")
        else:
            where = (f"{model_id!r} could not be fetched from the hub: check the id (owner/name), the network, and "
                     "that the model has safetensors weights; model_id=None gives the course's own model")
        raise OSError(f"could not load {model_id!r} ({type(e).__name__}: {str(e)[:200]}). {where}") from e


SCHEDULERS = ("DDIM", "DPM-Solver++", "Euler")


def make_scheduler(name: str, config):
    """A diffusers scheduler by its lesson name ('DDIM', 'DPM-Solver++', 'Euler') from `config`.

    Example: pipe.scheduler = make_scheduler("Euler", pipe.scheduler.config)"""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

    classes = dict(zip(SCHEDULERS, (DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler)))
    if name not in classes:
        raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {name!r}")
    return classes[name].from_config(config)


def with_scheduler(pipe, name: str):
    """A pipeline sharing `pipe`'s parts (no extra memory) with a new scheduler by its lesson name, made from
    `pipe`'s scheduler config; `pipe` itself, and the cached one every lesson shares, are left as they were.

    Example: with_scheduler(pipe, "Euler")("a red circle", num_inference_steps=10).images[0]"""
    check_pipe(pipe)
    scheduler = make_scheduler(name, pipe.scheduler.config)
    with quiet("diffusers", warnings=Warning):   # BERT, not CLIP, as when it was loaded; from_pipe's float32 notices
        other = type(pipe).from_pipe(pipe, scheduler=scheduler)
    other.set_progress_bar_config(disable=True)
    return other


def img2img(pipe):
    """A StableDiffusionImg2ImgPipeline sharing `pipe`'s components (no extra memory).

    Example: out = img2img(pipe)("a blue star", image=picture, strength=0.6).images[0]"""
    check_pipe(pipe)
    i2i = StableDiffusionImg2ImgPipeline(**pipe.components, requires_safety_checker=False)  # no stderr notice
    i2i.set_progress_bar_config(disable=True)
    return i2i


# names that moved out of this module, for lessons and exercises written before the split: each is looked up
# in its new module on first use (PEP 562), so loading a pipeline never imports what measures or inspects one
_MOVED = {"generate": "adherence", "measure_adherence": "adherence", "adherence": "adherence",
          "recorded_adherence": "recorded",          # recorded.adherence, under the name lesson 06 used first
          "latents_to_images": "inspection", "denoising_strip": "inspection", "component_table": "inspection",
          "denoise_by_hand": "inspection"}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f".{_MOVED[name]}", __package__)
    return getattr(module, "adherence" if name == "recorded_adherence" else name)


def __dir__():
    return sorted(set(globals()) | set(_MOVED))
