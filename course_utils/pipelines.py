"""`load_text_to_image(model_id=None)`: a real diffusers StableDiffusionPipeline.

None -> the course's own: the bundled all-MiniLM-L6-v2 text encoder and tokenizer, `vae-shapes`,
`unet-shapes` and a DDIM scheduler, assembled in memory from safetensors (no safety checker).
A hub id (e.g. "stable-diffusion-v1-5/stable-diffusion-v1-5") -> that model, in half precision on
a GPU only. The same cells and helpers then work on either."""

from __future__ import annotations

import os

import torch

from . import validate as v
from .images import to_unit
from .pipeline_inputs import check_call, check_generation_inputs  # noqa: F401  (public: pipelines.check_generation_inputs)
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


def check_pipe(pipe) -> None:
    """A TypeError unless `pipe` is a text-to-image pipeline (tokenizer, text encoder, U-Net, VAE)."""
    if not all(hasattr(pipe, part) for part in ("tokenizer", "text_encoder", "unet", "vae", "scheduler")):
        raise v.InputTypeError(f"pipe must be a text-to-image pipeline, e.g. pipe = pipelines.load_text_to_image(), "
                        f"got {type(pipe).__name__}")


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


@torch.no_grad()
def generate(pipe, prompts, seed: int = 0, batch_size: int = 64, **kwargs) -> torch.Tensor:
    """Images for a list of prompts, (N, 3, H, W) in [0, 1]; batch i uses generator seed + i.

    Example: generate(pipe, ["a red circle", "a blue star"], guidance_scale=5, num_inference_steps=25)"""
    check_pipe(pipe)
    prompts = v.texts("prompts", prompts)
    seed, batch_size = v.whole("seed", seed, 0, 2**62), v.whole("batch_size", batch_size, 1, v.MAX_IMAGES)
    _own_arguments("generate", kwargs, "prompt", "generator", "output_type")
    kwargs.setdefault("num_inference_steps", 25)
    out = []
    for i, start in enumerate(range(0, len(prompts), batch_size)):
        g = torch.Generator().manual_seed(seed + i)
        out.append(pipe(prompts[start:start + batch_size], generator=g, output_type="pt", **kwargs).images.cpu())
    return torch.cat(out)


def measure_adherence(pipe, n: int = 200, seed: int = 2024, two_object_fraction: float = 0.0,
                      wording: str = "heldout", **kwargs) -> dict:
    """Generate from n Shapes World prompts (seed 2024: scenes never trained on; 'heldout'
    wordings the model never read) and read the pictures back: metrics.adherence's dict.

    Example: measure_adherence(pipe, 48, guidance_scale=5)['colour'] -> 0.98"""
    from . import data, metrics
    from .shapes import WORDINGS

    check_pipe(pipe)
    n, seed = v.whole("n", n, 1, v.MAX_IMAGES), v.whole("seed", seed, 0, 2**62)
    v.number("two_object_fraction", two_object_fraction, 0.0, 1.0)
    v.one_of("wording", wording, WORDINGS)
    scenes = [data.shapes_scene(seed, i, two_object_fraction, wording) for i in range(n)]
    images = generate(pipe, [s.caption for s in scenes], **kwargs)
    return metrics.adherence(images, scenes)


def recorded_adherence(guidance_scale: float = 2.0, two_object_fraction: float = 0.0, guidance_rescale: float = 0.0,
                       num_inference_steps: int = 25, name: str = "unet-shapes") -> dict:
    """recorded.adherence (the card's numbers for these settings), under the name lesson 06 used first."""
    from . import recorded

    return recorded.adherence(guidance_scale, two_object_fraction, guidance_rescale, num_inference_steps, name)


def adherence(pipe, n: int, live: bool = True, **kwargs) -> dict:
    """measure_adherence(pipe, n, **kwargs) plus 'n' when `live`; otherwise, instantly, what the model card
    recorded for the same settings (recorded_adherence). Lesson 06's presenter mode passes live=False.

    Example: adherence(pipe, 24, False, guidance_scale=5.0) -> {'colour': 0.88, ..., 'n': 300}"""
    if live:
        return measure_adherence(pipe, n, **kwargs) | {"n": n}
    return recorded_adherence(**kwargs)


def latents_to_images(pipe, latents: torch.Tensor) -> torch.Tensor:
    """Decode latents (N, 4, h, w), as the pipeline holds them, to images in [0, 1]."""
    check_pipe(pipe)
    latents = v.tensor("latents", latents, 4)
    if latents.shape[1] != pipe.vae.config.latent_channels:
        raise ValueError(f"latents must have {pipe.vae.config.latent_channels} channels (N, "
                         f"{pipe.vae.config.latent_channels}, h, w), got shape {tuple(latents.shape)}")
    with torch.no_grad():
        x = pipe.vae.decode(latents.to(pipe.vae.dtype) / pipe.vae.config.scaling_factor).sample
    return to_unit(x.float()).cpu()


def denoising_strip(pipe, prompt: str, n_show: int = 6, seed: int = 0, **kwargs):
    """Run the pipeline once, keeping the latents after each step.

    Returns (image (3, H, W) in [0, 1], latents (n_show, 4, h, w) at evenly spaced steps rescaled
    to unit variance, their step numbers). A callback collects them, so any scheduler works."""
    check_pipe(pipe)
    v.text("prompt", prompt)
    n_show, seed = v.whole("n_show", n_show, 1, v.MAX_STEPS), v.whole("seed", seed, 0, 2**62)
    _own_arguments("denoising_strip", kwargs, "generator", "output_type", "callback_on_step_end")
    kept = []

    def keep(pipeline, i, t, tensors):
        x = tensors["latents"]
        sigmas = getattr(pipeline.scheduler, "sigmas", None)
        if pipeline.scheduler.init_noise_sigma > 1 and sigmas is not None:   # Euler-style: x = x0 + sigma eps
            x = x / (1 + sigmas[pipeline.scheduler.step_index] ** 2).sqrt()
        kept.append(x.detach().cpu().clone())
        return {}

    g = torch.Generator().manual_seed(seed)
    img = pipe(prompt, generator=g, output_type="pt", callback_on_step_end=keep, **kwargs).images[0].cpu()
    idx = torch.linspace(0, len(kept) - 1, min(n_show, len(kept))).round().long().tolist()
    return img, torch.cat([kept[i] for i in idx]), [i + 1 for i in idx]


def component_table(pipe, prompt: str = "a small red circle in the top left") -> list[dict]:
    """The pipeline's four parts as rows: name, class, parameters, input and output shapes, each
    measured by running the part once on `prompt`. Print with `for r in rows: print(r)`."""
    check_pipe(pipe)
    v.text("prompt", prompt)
    ids = pipe.tokenizer([prompt], padding="max_length", max_length=pipe.tokenizer.model_max_length,
                         truncation=True, return_tensors="pt").input_ids
    with torch.no_grad():
        ctx = pipe.text_encoder(ids.to(pipe.device))[0]
        h = pipe.unet.config.sample_size
        z = torch.randn(2, pipe.unet.config.in_channels, h, h, device=pipe.device, dtype=pipe.unet.dtype)
        eps = pipe.unet(z, 500, encoder_hidden_states=ctx.repeat(2, 1, 1).to(pipe.unet.dtype)).sample
        img = pipe.vae.decode(z[:1].to(pipe.vae.dtype)).sample
    pipe.scheduler.set_timesteps(25)
    stepped = pipe.scheduler.step(eps[:1], pipe.scheduler.timesteps[0], z[:1]).prev_sample

    def n(m):
        return sum(p.numel() for p in m.parameters())

    shape = lambda x: tuple(x.shape)  # noqa: E731
    return [
        dict(part="tokenizer", cls=type(pipe.tokenizer).__name__, parameters=0,
             input=f"text {prompt!r}", output=f"token ids {shape(ids)}"),
        dict(part="text_encoder", cls=type(pipe.text_encoder).__name__, parameters=n(pipe.text_encoder),
             input=f"token ids {shape(ids)}", output=f"token embeddings {shape(ctx)}"),
        dict(part="unet", cls=type(pipe.unet).__name__, parameters=n(pipe.unet),
             input=f"latents {shape(z)}, t, embeddings {shape(ctx.repeat(2, 1, 1))}",
             output=f"prediction ({pipe.scheduler.config.prediction_type}) {shape(eps)}"),
        dict(part="scheduler", cls=type(pipe.scheduler).__name__, parameters=0,
             input=f"prediction {shape(eps[:1])}, t, latents {shape(z[:1])}", output=f"less noisy latents {shape(stepped)}"),
        dict(part="vae (decode)", cls=type(pipe.vae).__name__, parameters=n(pipe.vae),
             input=f"latents {shape(z[:1])}", output=f"image {shape(img)}"),
    ]


def _own_arguments(function: str, kwargs: dict, *names) -> None:
    """A TypeError if kwargs holds an argument that `function` sets itself."""
    for name in names:
        if name in kwargs:
            raise v.InputTypeError(f"{function} sets {name} itself; leave {name} out (use seed= for the randomness)")


def _ddim_like(scheduler, pipe):
    """The scheduler denoise_by_hand steps with: DDIM from the pipeline's config when None."""
    import inspect
    import typing

    from diffusers import DDIMScheduler, SchedulerMixin

    if scheduler is None:
        return DDIMScheduler.from_config(pipe.scheduler.config)
    returns = inspect.signature(type(scheduler).step).return_annotation if isinstance(scheduler, SchedulerMixin) else None
    if not any("pred_original_sample" in getattr(c, "__dataclass_fields__", {})
               for c in typing.get_args(returns) or (returns,)):
        raise v.InputTypeError(f"scheduler must be a DDIM-like diffusers scheduler (its step returns pred_original_sample), "
                        f"got {type(scheduler).__name__}; e.g. DDIMScheduler.from_config(pipe.scheduler.config)")
    return scheduler


@torch.no_grad()
def denoise_by_hand(pipe, prompt: str, negative_prompt: str = "", guidance_scale: float = 5.0,
                    num_inference_steps: int = 25, seed: int = 0, scheduler=None) -> dict:
    """StableDiffusionPipeline's loop written out; lesson 06 shows this source (inspect.getsource).

    Gives the pipeline's image for the same seed, plus what it passed through: {'image' (3, H, W),
    'latents' (steps, 4, h, w) after each step, 'x0' (steps, 4, h, w) predicted clean latents,
    'timesteps'}. The scheduler must be DDIM-like (its step returns pred_original_sample).
    guidance_scale <= 1 means no guidance, as in the pipeline: the prediction with the prompt alone."""
    check_pipe(pipe)
    v.text("prompt", prompt)
    v.text("negative_prompt", negative_prompt)
    check_generation_inputs(pipe.tokenizer, prompt, None, None, num_inference_steps, negative_prompt,
                            guidance_scale=guidance_scale)
    seed, scheduler = v.whole("seed", seed, 0, 2**62), _ddim_like(scheduler, pipe)
    guided = guidance_scale > 1                     # diffusers' do_classifier_free_guidance
    # 1. the empty (or negative) prompt and the prompt -> token embeddings (2, L, d); no guidance: the prompt's (1, L, d)
    ids = pipe.tokenizer([negative_prompt, prompt] if guided else [prompt], padding="max_length", truncation=True,
                         max_length=pipe.tokenizer.model_max_length, return_tensors="pt")
    enc = pipe.text_encoder.device                  # the mask only where the encoder asks, as encode_prompt does
    mask = ids.attention_mask.to(enc) if getattr(pipe.text_encoder.config, "use_attention_mask", False) else None
    dev, dtype = pipe.unet.device, pipe.unet.dtype  # a hub model on a GPU runs in float16 there
    context = pipe.text_encoder(ids.input_ids.to(enc), attention_mask=mask)[0].to(dev, dtype)
    # 2. the timesteps first, as the pipeline does: Euler's init_noise_sigma comes from the sigmas just chosen
    scheduler.set_timesteps(num_inference_steps)
    #    then seeded Gaussian noise in latent space (1, 4, h, w), drawn on the CPU (the same numbers everywhere)
    h = pipe.unet.config.sample_size
    g = torch.Generator().manual_seed(seed)
    latents = (torch.randn(1, pipe.unet.config.in_channels, h, h, generator=g) * scheduler.init_noise_sigma).to(dev, dtype)
    trail, x0s = [], []
    for t in scheduler.timesteps:
        # 3. predict (noise, or v) with and without the prompt: one U-Net call on a batch of 2
        x_in = scheduler.scale_model_input(torch.cat([latents] * len(context)), t)
        pred = pipe.unet(x_in, t, encoder_hidden_states=context).sample
        if guided:  # 4. classifier-free guidance (Ho & Salimans 2022): step past the text prediction
            pred_uncond, pred_text = pred.chunk(2)
            pred = pred_uncond + guidance_scale * (pred_text - pred_uncond)
        # 5. one scheduler step: x_t -> x_{t-1}
        out = scheduler.step(pred, t, latents)
        latents = out.prev_sample
        trail.append(latents[0].float().cpu())
        x0s.append(out.pred_original_sample[0].float().cpu())
    # 6. decode the last latents with the VAE, [-1, 1] -> [0, 1]
    image = latents_to_images(pipe, latents)[0]
    return {"image": image, "latents": torch.stack(trail), "x0": torch.stack(x0s),
            "timesteps": scheduler.timesteps.tolist()}
