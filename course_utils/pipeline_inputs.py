"""The input checks of the course's pipelines (text-to-image and img2img), before diffusers runs.

Every argument a student types is checked here, so that a slip gets a ValueError or TypeError
that names it and says what to do, not an IndexError from inside transformers, a silently
ignored typo (`guidence_scale=5`) or a picture made from zero denoising steps.

Guidance, as in diffusers (`StableDiffusionPipeline.do_classifier_free_guidance`): a scale
w > 1 runs the U-Net with and without the prompt and steps w times past the difference; any
w <= 1 (0 included) means no guidance, the prediction with the prompt alone. The loop by hand,
`inspection.denoise_by_hand`, follows the same rule.

`check_pipe` and `own_arguments` check what the helpers that take a pipeline are given
(adherence.py, inspection.py, editing.py, attention.py)."""

from __future__ import annotations

import difflib
import inspect
import math
import warnings

import torch

from . import validate as v

MAX_GUIDANCE = 100.0
OUTPUT_TYPES = ("pil", "np", "pt", "latent")
_LEGACY = {"callback", "callback_steps"}   # what diffusers' **kwargs still reads


def check_pipe(pipe) -> None:
    """A TypeError unless `pipe` is a text-to-image pipeline (tokenizer, text encoder, U-Net, VAE)."""
    if not all(hasattr(pipe, part) for part in ("tokenizer", "text_encoder", "unet", "vae", "scheduler")):
        raise v.InputTypeError(f"pipe must be a text-to-image pipeline, e.g. pipe = pipelines.load_text_to_image(), "
                               f"got {type(pipe).__name__}")


def own_arguments(function: str, kwargs: dict, *names) -> None:
    """A TypeError if kwargs holds an argument that `function` sets itself."""
    for name in names:
        if name in kwargs:
            raise v.InputTypeError(f"{function} sets {name} itself; leave {name} out (use seed= for the randomness)")


def _check_prompt(name: str, p) -> list[str] | None:
    if p is None:
        return None
    return v.texts(name, p, most=v.MAX_IMAGES)


def check_prompts(prompt, negative_prompt=None, prompt_embeds=None) -> int:
    """Check the prompt(s) and negative prompt(s); returns how many prompts there are."""
    prompts = _check_prompt("prompt", prompt)
    negatives = _check_prompt("negative_prompt", negative_prompt)
    if prompts is None and prompt_embeds is None:
        raise ValueError('prompt must be given, e.g. pipe("a small red circle in the top left"); "" for no prompt')
    if prompts is not None and negatives is not None and isinstance(negative_prompt, list) \
            and len(negatives) != len(prompts):
        raise ValueError(f"negative_prompt must be one string or a list as long as prompt ({len(prompts)}), "
                         f"got a list of {len(negatives)}")
    return len(prompts) if prompts is not None else len(prompt_embeds)


def check_size(height, width) -> None:
    """height and width: None (the model's own size) or a multiple of 8 up to validate.MAX_SIDE."""
    for name, value in (("height", height), ("width", width)):
        if value is None:
            continue
        hint = "use a multiple of 8 (the VAE turns 8x8 pixels into one latent); this model was trained at 64x64"
        if v.whole(name, value, 8, v.MAX_SIDE, hint) % 8:
            raise ValueError(f"{name} must be a multiple of 8 from 8 to {v.MAX_SIDE}, got {value}; {hint[4:]}")


def check_numbers(num_inference_steps=25, guidance_scale=1.0, num_images_per_prompt=1, eta=0.0,
                  guidance_rescale=0.0, n_prompts: int = 1) -> None:
    """Steps, guidance scale, images per prompt, eta and guidance_rescale, each in its range."""
    v.whole("num_inference_steps", num_inference_steps, 1, v.MAX_STEPS,
            "25 is a good default; 1 gives a blurry guess")
    v.number("guidance_scale", guidance_scale, 0.0, MAX_GUIDANCE,
             "1 (or anything up to 1) means no guidance; 2 to 7.5 are usual")
    per = v.whole("num_images_per_prompt", num_images_per_prompt, 1, v.MAX_IMAGES)
    if per * n_prompts > v.MAX_IMAGES:
        raise ValueError(f"num_images_per_prompt x prompts must be at most {v.MAX_IMAGES} images, got "
                         f"{per} x {n_prompts}; generate in smaller batches (adherence.generate does)")
    v.number("eta", eta, 0.0, 1.0, "0 is DDIM's deterministic sampler, 1 adds DDPM's noise")
    v.number("guidance_rescale", guidance_rescale, 0.0, 1.0)


def warn_truncation(tokenizer, prompt) -> None:
    """Warn, naming what the model reads, when a prompt is longer than the text encoder's window."""
    for p in [prompt] if isinstance(prompt, str) else (prompt or []):
        n = len(tokenizer(p).input_ids)
        if n > tokenizer.model_max_length:
            kept = tokenizer.decode(tokenizer(p).input_ids[1:tokenizer.model_max_length - 1])
            warnings.warn(f"the prompt is {n} tokens long; the text encoder reads only the first "
                          f"{tokenizer.model_max_length} (with [CLS] and [SEP]), so the model sees just "
                          f"{kept!r}", UserWarning, stacklevel=4)


def check_generation_inputs(tokenizer, prompt, height=None, width=None, num_inference_steps=1,
                            negative_prompt=None, prompt_embeds=None, guidance_scale=1.0,
                            num_images_per_prompt=1, eta=0.0, guidance_rescale=0.0) -> None:
    """Raise a ValueError / TypeError a student can act on, or warn when a prompt will be truncated.

    An empty prompt "" is fine: it asks for an unconditional image.
    Example: check_generation_inputs(pipe.tokenizer, "a red circle", 64, 64, 25)"""
    n = check_prompts(prompt, negative_prompt, prompt_embeds)
    check_size(height, width)
    check_numbers(num_inference_steps, guidance_scale, num_images_per_prompt, eta, guidance_rescale, n)
    warn_truncation(tokenizer, prompt)


def check_generator(generator, n_images: int) -> None:
    """None, one torch.Generator, or a list of one per image."""
    if isinstance(generator, list):
        if len(generator) != n_images:
            raise ValueError(f"generator must be one torch.Generator or a list of {n_images} (one per image), "
                             f"got a list of {len(generator)}")
        for g in generator:
            v.generator("generator", g)
    else:
        v.generator("generator", generator)


def check_start_image(image) -> None:
    """The start picture of img2img: a PIL image, or a tensor (N, 3, H, W) / (3, H, W) in [0, 1]."""
    from PIL import Image

    if image is None:
        raise ValueError("image must be given: the start picture, e.g. image=data.shapes_world(1).images")
    for item in image if isinstance(image, list) and image else [image]:
        if isinstance(item, Image.Image):
            if max(item.size) > v.MAX_SIDE:
                raise ValueError(f"image must be at most {v.MAX_SIDE} pixels per side, got {item.size}")
            continue
        if not isinstance(item, torch.Tensor):
            raise v.InputTypeError(f"image must be a PIL image or a torch.Tensor (N, 3, H, W) in [0, 1], got "
                            f"{type(item).__name__}; convert a NumPy array with images.from_numpy(arr)")
        from .models.vae import check_images

        x = check_images(v.tensor("image", item, (3, 4)))
        if max(x.shape[-2:]) > v.MAX_SIDE:
            raise ValueError(f"image must be at most {v.MAX_SIDE} pixels per side, got {tuple(x.shape[-2:])}")


def check_strength(strength, num_inference_steps) -> None:
    """img2img: strength in (0, 1], and enough of it that at least one denoising step runs."""
    strength = v.number("strength", strength, 0.0, 1.0, "0.1 keeps the picture, 1.0 ignores it", open_lo=True)
    runs = min(int(num_inference_steps * strength), num_inference_steps)     # diffusers' get_timesteps
    if runs < 1:
        raise ValueError(f"strength {strength} with num_inference_steps={num_inference_steps} runs "
                         f"int({num_inference_steps} x {strength}) = 0 denoising steps, so nothing would change; "
                         f"raise strength to at least {1 / num_inference_steps:.2g} or num_inference_steps "
                         f"to at least {_fewest_steps(strength)}")


def _fewest_steps(strength: float) -> int:
    """The smallest num_inference_steps for which img2img at `strength` runs one step."""
    guess = max(1, math.ceil(1 / strength) - 1)
    return guess if int(guess * strength) >= 1 else guess + 1


def _check_unknown(extra: dict, signature: inspect.Signature) -> None:
    for name in set(extra) - _LEGACY:
        close = difflib.get_close_matches(name, list(signature.parameters), n=1)
        raise v.InputTypeError(f"{name} is not an argument of this pipeline"
                        + (f"; did you mean {close[0]}?" if close else "; see help(pipe.__call__)"))


def check_call(pipe, call, args: tuple, kwargs: dict) -> None:
    """Check the arguments of a pipeline call `call(pipe, *args, **kwargs)` (text-to-image or img2img)."""
    signature = inspect.signature(call)
    try:
        bound = signature.bind(pipe, *args, **kwargs)
    except TypeError as e:
        raise v.InputTypeError(f"{e}; see help(pipe.__call__) for the arguments") from None
    _check_unknown(bound.arguments.get("kwargs", {}), signature)
    bound.apply_defaults()
    a = bound.arguments
    check_generation_inputs(pipe.tokenizer, a["prompt"], a.get("height"), a.get("width"), a["num_inference_steps"],
                            a["negative_prompt"], a["prompt_embeds"], a["guidance_scale"],
                            a["num_images_per_prompt"], a["eta"], a.get("guidance_rescale", 0.0))
    n_prompts = 1 if isinstance(a["prompt"], str) else len(a["prompt"] or a["prompt_embeds"])
    check_generator(a["generator"], n_prompts * (a["num_images_per_prompt"] or 1))
    v.one_of("output_type", a["output_type"], OUTPUT_TYPES, "'pt' gives tensors in [0, 1], 'pil' PIL images")
    if "strength" in a:                                                      # img2img
        check_start_image(a["image"])
        check_strength(a["strength"], a["num_inference_steps"])
