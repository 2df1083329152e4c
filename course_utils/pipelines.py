"""`load_text_to_image(model_id=None)`: a real diffusers StableDiffusionPipeline.

None -> the course's own: the bundled all-MiniLM-L6-v2 text encoder and tokenizer, `vae-shapes`,
`unet-shapes` and a DDIM scheduler, assembled in memory from safetensors (no safety checker).
A hub id (e.g. "stable-diffusion-v1-5/stable-diffusion-v1-5") -> that model, in half precision on
a GPU only. The same cells and helpers then work on either."""

from __future__ import annotations

import contextlib
import logging
import warnings

import torch

from .text import MAX_TOKENS

_CACHE: dict = {}
# the two library messages our own warning replaces ("... CLIP can only handle ...", "... indexing errors")
_QUIET_LOGGERS = ("diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion",
                  "diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion_img2img",
                  "transformers.tokenization_utils_base")


@contextlib.contextmanager
def _quiet(*names):
    """Raise the level of the named loggers to ERROR for the duration."""
    loggers = [logging.getLogger(n) for n in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


def _diffusers_sd():
    """diffusers' StableDiffusionPipeline, imported without transformers' torchvision notices."""
    import transformers.utils.logging as tlog

    before = tlog.get_verbosity()
    tlog.set_verbosity_error()
    try:
        from diffusers import StableDiffusionImg2ImgPipeline, StableDiffusionPipeline
    finally:
        tlog.set_verbosity(before)
    return StableDiffusionPipeline, StableDiffusionImg2ImgPipeline


def check_generation_inputs(tokenizer, prompt, height=None, width=None, num_inference_steps=1,
                            negative_prompt=None, prompt_embeds=None) -> None:
    """Raise a ValueError a student can act on, or warn when a prompt will be truncated.

    An empty prompt "" is fine: it asks for an unconditional image."""
    for name, p in (("prompt", prompt), ("negative_prompt", negative_prompt)):
        if p is None or isinstance(p, str) or (isinstance(p, list) and all(isinstance(s, str) for s in p)):
            continue
        raise ValueError(f"{name} must be a string (or a list of strings), got {type(p).__name__} {p!r:.60}; "
                         f"write e.g. {name}=\"a small red circle in the top left\"")
    if prompt is None and prompt_embeds is None:
        raise ValueError('give a prompt, e.g. pipe("a small red circle in the top left"); "" for no prompt')
    if not isinstance(num_inference_steps, int) or isinstance(num_inference_steps, bool) or num_inference_steps < 1:
        raise ValueError(f"num_inference_steps must be a whole number of at least 1, got {num_inference_steps!r} "
                         "(25 is a good default; 1 gives a blurry guess)")
    for name, v in (("height", height), ("width", width)):
        if v is not None and (not isinstance(v, int) or v < 8 or v % 8):
            raise ValueError(f"{name} must be a positive multiple of 8 (the VAE turns 8x8 pixels into one "
                             f"latent), got {v!r}; this model was trained at 64x64")
    for p in [prompt] if isinstance(prompt, str) else (prompt or []):
        n = len(tokenizer(p).input_ids)
        if n > tokenizer.model_max_length:
            kept = tokenizer.decode(tokenizer(p).input_ids[1:tokenizer.model_max_length - 1])
            warnings.warn(f"the prompt is {n} tokens long; the text encoder reads only the first "
                          f"{tokenizer.model_max_length} (with [CLS] and [SEP]), so the model sees just "
                          f"{kept!r}", UserWarning, stacklevel=3)


_SD, _SDImg2Img = _diffusers_sd()


class StableDiffusionPipeline(_SD):
    """diffusers' StableDiffusionPipeline, plus input checks a student can act on.

    Only __call__ is added to: non-string prompts, sizes that are not multiples of 8 and fewer
    than 1 step raise a clear ValueError, and over-long prompts warn what was kept. It saves
    as, and loads back as, a plain StableDiffusionPipeline (same class name)."""

    def __call__(self, prompt=None, height=None, width=None, num_inference_steps=50, *args, **kwargs):
        with _quiet(*_QUIET_LOGGERS):
            check_generation_inputs(self.tokenizer, prompt, height, width, num_inference_steps,
                                    kwargs.get("negative_prompt"), kwargs.get("prompt_embeds"))
            return super().__call__(prompt, height, width, num_inference_steps, *args, **kwargs)


def course_components(device="cpu") -> dict:
    """The course's text encoder, tokenizer, VAE and U-Net, ready for a StableDiffusionPipeline."""
    from diffusers import DDIMScheduler

    from .models import load_pretrained
    from .models.unet_shapes import SCHEDULER_CONFIG
    from .text import load_text_encoder

    tokenizer, text_encoder = load_text_encoder(None, device)
    tokenizer.model_max_length = MAX_TOKENS           # the pipeline pads every prompt to this length
    text_encoder.config.use_attention_mask = True     # and lets BERT ignore the padding, as in training
    return dict(tokenizer=tokenizer, text_encoder=text_encoder, vae=load_pretrained("vae-shapes", device),
                unet=load_pretrained("unet-shapes", device), scheduler=DDIMScheduler(**SCHEDULER_CONFIG))


def load_text_to_image(model_id: str | None = None, device: str | torch.device | None = None):
    """A StableDiffusionPipeline: the course's own (model_id=None), a hub id, or a saved folder.

    Example: pipe = load_text_to_image(); pipe("a small red circle in the top left").images[0]"""
    from diffusers.utils import logging as diffusers_logging

    from .setup import pick_device

    device = torch.device(device) if device is not None else pick_device()
    key = (str(model_id) if model_id is not None else None, str(device))
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
            with warnings.catch_warnings(), _quiet("diffusers.pipelines.pipeline_utils"):  # BERT, not CLIP
                warnings.simplefilter("ignore")
                pipe = StableDiffusionPipeline.from_pretrained(model_id, dtype=dtype, safety_checker=None,
                                                               requires_safety_checker=False)
        except OSError as e:
            raise OSError(f"could not load {model_id!r}: it is not on this machine and the hub cannot be "
                          "reached (offline: HF_HUB_OFFLINE=1). Use model_id=None for the course's own "
                          "model, or go online and set HF_HUB_OFFLINE=0.") from e
        pipe = pipe.to(device)
    pipe.set_progress_bar_config(disable=True)
    _CACHE[key] = pipe
    return pipe


SCHEDULERS = ("DDIM", "DPM-Solver++", "Euler")


def make_scheduler(name: str, config):
    """A diffusers scheduler by its lesson name ('DDIM', 'DPM-Solver++', 'Euler') from `config`.

    Example: pipe.scheduler = make_scheduler("Euler", pipe.scheduler.config)"""
    from diffusers import DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler

    classes = dict(zip(SCHEDULERS, (DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler)))
    if name not in classes:
        raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {name!r}")
    return classes[name].from_config(config)


def img2img(pipe):
    """A StableDiffusionImg2ImgPipeline sharing `pipe`'s components (no extra memory).

    Example: out = img2img(pipe)("a blue star", image=picture, strength=0.6).images[0]"""
    i2i = _SDImg2Img(**pipe.components, requires_safety_checker=False)   # no stderr notice about it
    i2i.set_progress_bar_config(disable=True)
    return i2i


@torch.no_grad()
def generate(pipe, prompts, seed: int = 0, batch_size: int = 64, **kwargs) -> torch.Tensor:
    """Images for a list of prompts, (N, 3, H, W) in [0, 1]; batch i uses generator seed + i.

    Example: generate(pipe, ["a red circle", "a blue star"], guidance_scale=5, num_inference_steps=25)"""
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
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

    scenes = [data.shapes_scene(seed, i, two_object_fraction, wording) for i in range(n)]
    images = generate(pipe, [s.caption for s in scenes], **kwargs)
    return metrics.adherence(images, scenes)


def latents_to_images(pipe, latents: torch.Tensor) -> torch.Tensor:
    """Decode latents (N, 4, h, w), as the pipeline holds them, to images in [0, 1]."""
    with torch.no_grad():
        x = pipe.vae.decode(latents.to(pipe.vae.dtype) / pipe.vae.config.scaling_factor).sample
    return ((x.float() + 1) / 2).clamp(0, 1).cpu()


def denoising_strip(pipe, prompt: str, n_show: int = 6, seed: int = 0, **kwargs):
    """Run the pipeline once, keeping the latents after each step.

    Returns (image (3, H, W) in [0, 1], latents (n_show, 4, h, w) at evenly spaced steps rescaled
    to unit variance, their step numbers). A callback collects them, so any scheduler works."""
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


@torch.no_grad()
def denoise_by_hand(pipe, prompt: str, negative_prompt: str = "", guidance_scale: float = 5.0,
                    num_inference_steps: int = 25, seed: int = 0, scheduler=None) -> dict:
    """StableDiffusionPipeline's loop written out; lesson 06 shows this source (inspect.getsource).

    Gives the pipeline's image for the same seed, plus what it passed through: {'image' (3, H, W),
    'latents' (steps, 4, h, w) after each step, 'x0' (steps, 4, h, w) predicted clean latents,
    'timesteps'}. The scheduler must be DDIM-like (its step returns pred_original_sample)."""
    from diffusers import DDIMScheduler

    check_generation_inputs(pipe.tokenizer, prompt, None, None, num_inference_steps, negative_prompt)
    scheduler = scheduler or DDIMScheduler.from_config(pipe.scheduler.config)
    # 1. the empty (or negative) prompt and the prompt -> token embeddings (2, L, d)
    ids = pipe.tokenizer([negative_prompt, prompt], padding="max_length", truncation=True,
                         max_length=pipe.tokenizer.model_max_length, return_tensors="pt")
    context = pipe.text_encoder(ids.input_ids, attention_mask=ids.attention_mask)[0]
    # 2. seeded Gaussian noise in latent space (1, 4, h, w)
    h = pipe.unet.config.sample_size
    g = torch.Generator().manual_seed(seed)
    latents = torch.randn(1, pipe.unet.config.in_channels, h, h, generator=g) * scheduler.init_noise_sigma
    scheduler.set_timesteps(num_inference_steps)
    trail, x0s = [], []
    for t in scheduler.timesteps:
        # 3. predict (noise, or v) with and without the prompt: one U-Net call on a batch of 2
        x_in = scheduler.scale_model_input(torch.cat([latents, latents]), t)
        pred_uncond, pred_text = pipe.unet(x_in, t, encoder_hidden_states=context).sample.chunk(2)
        # 4. classifier-free guidance (Ho & Salimans 2022): step past the text prediction
        pred = pred_uncond + guidance_scale * (pred_text - pred_uncond)
        # 5. one scheduler step: x_t -> x_{t-1}
        out = scheduler.step(pred, t, latents)
        latents = out.prev_sample
        trail.append(latents[0])
        x0s.append(out.pred_original_sample[0])
    # 6. decode the last latents with the VAE, [-1, 1] -> [0, 1]
    image = latents_to_images(pipe, latents)[0]
    return {"image": image, "latents": torch.stack(trail), "x0": torch.stack(x0s),
            "timesteps": scheduler.timesteps.tolist()}
