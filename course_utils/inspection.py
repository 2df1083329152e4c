"""Looking inside a text-to-image pipeline (lesson 06, "Stable Diffusion, piece by piece").

- `component_table`: the pipeline's parts, each run once, with its class, size and shapes;
- `denoise_by_hand`: the pipeline's loop written out in six commented steps (lesson 06 shows its
  source), matched to the pipeline's own picture;
- `denoising_strip`, `latents_to_images`: the latents on the way, decoded to pictures.

The pipeline comes from pipelines.load_text_to_image; this module only reads it and runs it."""

from __future__ import annotations

import torch

from . import validate as v
from .images import to_unit
from .pipeline_inputs import check_generation_inputs, check_pipe, own_arguments


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
    own_arguments("denoising_strip", kwargs, "generator", "output_type", "callback_on_step_end")
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
    # 1. the empty (or negative) prompt and the prompt -> token embeddings (2, L, d);
    #    without guidance the prompt's alone (1, L, d)
    texts = [negative_prompt, prompt] if guided else [prompt]
    ids = pipe.tokenizer(texts, padding="max_length", truncation=True,
                         max_length=pipe.tokenizer.model_max_length, return_tensors="pt")
    enc = pipe.text_encoder.device     # a mask only where the encoder asks (as encode_prompt)
    use_mask = getattr(pipe.text_encoder.config, "use_attention_mask", False)
    mask = ids.attention_mask.to(enc) if use_mask else None
    dev, dtype = pipe.unet.device, pipe.unet.dtype   # on a GPU, a hub model runs in float16
    context = pipe.text_encoder(ids.input_ids.to(enc), attention_mask=mask)[0].to(dev, dtype)
    # 2. the timesteps first, as the pipeline does (Euler's init_noise_sigma needs them),
    scheduler.set_timesteps(num_inference_steps)
    #    then seeded Gaussian noise in latent space (1, 4, h, w), drawn on the CPU
    h = pipe.unet.config.sample_size
    g = torch.Generator().manual_seed(seed)
    noise = torch.randn(1, pipe.unet.config.in_channels, h, h, generator=g)
    latents = (noise * scheduler.init_noise_sigma).to(dev, dtype)
    trail, x0s = [], []
    for t in scheduler.timesteps:
        # 3. predict (noise, or v) with and without the prompt: one U-Net call on a batch of 2
        x_in = scheduler.scale_model_input(torch.cat([latents] * len(context)), t)
        pred = pipe.unet(x_in, t, encoder_hidden_states=context).sample
        if guided:  # 4. classifier-free guidance (Ho & Salimans 2022): step past the prompt's
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
