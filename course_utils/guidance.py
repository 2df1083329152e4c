"""Other ways to guide, at sampling time: a guidance interval, adaptive projected guidance, and
autoguidance, as options of the course's (plain diffusers) pipeline.

Classifier-free guidance mixes two predictions of the same U-Net at every step:
    guided = uncond + w * (cond - uncond)                    (diffusers' guidance_scale = w)
Three later ideas change that mix, and nothing else:
- a guidance interval (Kynkaanniemi et al. 2024): guide only in a middle stretch of the steps;
  outside it, use the conditional prediction alone;
- adaptive projected guidance, APG (Sadat et al. 2024): split (cond - uncond) into the part along
  `cond` and the part across it, keep less of the part along it (`eta`) and cap its size
  (`norm_threshold`), against the over-saturated colours of high w. Sadat et al. do this to the
  denoised image x0 that each prediction implies (`space="x0"`, the default here), not to the
  U-Net's raw output (`space="prediction"`: v for the course's U-Net), where "along cond" means
  something else;
- autoguidance (Karras et al. 2024): the "unconditional" prediction comes from a weaker copy of the
  same model (here an early snapshot of the same training run) given the same prompt:
      guided = weak(cond) + w * (strong(cond) - weak(cond)).
The first two are diffusers' own guiders (`diffusers.guiders`); this module only lets the classic
StableDiffusionPipeline use them, by wrapping its U-Net.

One more option works on the latents instead of the mix, with any kind: `separate=alpha` (attention
separation, in the spirit of Attend-and-Excite, Chefer et al. 2023, and A-STAR, Agarwal et al. 2023).
For prompts that name two objects, each of the first `separate_stop` share of the steps moves the
latents a distance `alpha` (root mean square per number; the starting noise's is 1) down the
gradient of the overlap of the two objects' cross-attention maps (`grounding.attention_overlap`),
through diffusers' callback_on_step_end. Prompts naming one object are drawn exactly as without it.

    fast = guidance.with_guidance(pipe, "apg", 5.0, eta=0.0, norm_threshold=2.0)   # a new pipeline, same weights
    fast("a red circle and a blue square", guidance_scale=5)

The wrapper returns, for the pipeline's [uncond, cond] batch, the pair (u', cond) with u' chosen so
that the pipeline's own formula u' + w (cond - u') gives the wanted mix. The default pipeline is untouched."""

from __future__ import annotations

import torch

from . import validate as v
from .quiet import quiet

KINDS = ("cfg", "interval", "apg", "auto")


class GuidedUNet(torch.nn.Module):
    """A U-Net for StableDiffusionPipeline whose guided prediction is `guider`'s (diffusers.guiders),
    or autoguidance's when `weak` is given. `guidance_scale` must be the one the pipeline is called with."""

    def __init__(self, unet, guider, guidance_scale: float, scheduler, weak=None, space: str = "prediction"):
        super().__init__()
        self.unet, self.weak, self.guider, self.w, self.scheduler = unet, weak, guider, guidance_scale, scheduler
        self.config, self.space = unet.config, space

    @property
    def dtype(self):
        return self.unet.dtype

    @property
    def device(self):
        return self.unet.device

    @property
    def attn_processors(self):
        return self.unet.attn_processors

    def set_attn_processor(self, processors):
        self.unet.set_attn_processor(processors)

    def forward(self, sample, timestep, encoder_hidden_states, return_dict: bool = True, **kwargs):
        out = self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states, return_dict=True, **kwargs)
        if sample.shape[0] % 2:                                          # not a guided batch: nothing to mix
            return out if return_dict else (out.sample,)
        half = sample.shape[0] // 2
        uncond, cond = out.sample[:half], out.sample[half:]             # the pipeline's order: [negative, prompt]
        # 1. where we are: the step's index among the scheduler's timesteps
        steps = self.scheduler.timesteps
        step = int((steps == timestep).nonzero()[0, 0]) if (steps == timestep).any() else 0
        self.guider.set_state(step, len(steps), timestep)
        momentum = getattr(self.guider, "adaptive_projected_guidance_momentum", None)
        if step == 0 and momentum is not None:                           # APG's momentum starts afresh each image
            from diffusers.guiders.adaptive_projected_guidance import MomentumBuffer

            self.guider.momentum_buffer = MomentumBuffer(momentum)
        # 2. autoguidance: the weak model, on the prompt, stands in for the unconditional prediction
        if self.weak is not None:
            uncond = self.weak(sample[half:], timestep, encoder_hidden_states=encoder_hidden_states[half:]).sample
        if self.weak is not None:
            guided = uncond + self.w * (cond - uncond)
        elif self.space == "x0":                                          # mix the denoised images they imply
            to_x0, back = _x0_maps(self.scheduler, timestep, sample[half:])
            guided = back(self.guider.forward(to_x0(cond), to_x0(uncond)).pred)
        else:
            guided = self.guider.forward(cond, uncond).pred
        # 3. the u' that the pipeline's u' + w (cond - u') turns into `guided`
        stand_in = (guided - self.w * cond) / (1 - self.w)
        out.sample = torch.cat([stand_in, cond])
        return out if return_dict else (out.sample,)


def _x0_maps(scheduler, timestep, x_t):
    """The two maps between the U-Net's prediction at `timestep` and the denoised image x0 it implies,
    for the scheduler's prediction_type: x_t = a x0 + s eps, v = a eps - s x0 (a^2 = alphas_cumprod[t], s^2 = 1 - a^2)."""
    kind = scheduler.config.prediction_type
    ab = scheduler.alphas_cumprod[int(timestep)].to(x_t.dtype)
    a, s = ab.sqrt(), (1 - ab).sqrt()
    if kind == "v_prediction":
        return (lambda v: a * x_t - s * v), (lambda x0: (a * x_t - x0) / s)
    if kind == "epsilon":
        return (lambda e: (x_t - s * e) / a), (lambda x0: (x_t - a * x0) / s)
    raise ValueError(f"guidance in x0 space needs a v_prediction or epsilon scheduler, got prediction_type={kind!r}")


def with_guidance(pipe, kind: str, guidance_scale: float, start: float = 0.0, stop: float = 1.0,
                  eta: float = 1.0, norm_threshold: float = 0.0, momentum: float | None = None, weak=None,
                  space: str = "x0", separate: float = 0.0, separate_stop: float = 0.4, separate_gate: float = 0.02):
    """A new pipeline sharing `pipe`'s weights whose guidance is `kind`; call it with the same guidance_scale.

    kind: "cfg" (plain, as diffusers), "interval" (guide only from `start` to `stop`, fractions of the
    steps), "apg" (eta: share kept of the part along cond; norm_threshold: its size cap, 0 = none;
    momentum; space: "x0" mixes the denoised images the predictions imply, as Sadat et al., or
    "prediction" the U-Net's raw outputs), "auto" (autoguidance with the U-Net `weak`).
    separate: step size of attention separation (0: off), applied to the first `separate_stop` share of
    the steps, to the prompts whose two objects' overlap is above `separate_gate`. Example:
        with_guidance(pipe, "interval", 5.0, start=0.2, stop=0.8)(prompt, guidance_scale=5.0)"""
    kind = v.one_of("kind", kind, KINDS)
    w = v.number("guidance_scale", guidance_scale, 1.0001, 100.0, "guidance needs a scale above 1")
    v.number("start", start, 0.0, 1.0)
    v.number("stop", stop, 0.0, 1.0)
    if stop <= start:
        raise ValueError(f"the guidance interval must have start < stop, got start={start}, stop={stop}")
    v.one_of("space", space, ("x0", "prediction"))
    v.number("separate", separate, 0.0, 10.0, "0: no attention separation")
    v.number("separate_stop", separate_stop, 0.0, 1.0)
    v.number("separate_gate", separate_gate, 0.0, 1.0)
    if kind == "auto" and weak is None:
        raise ValueError("autoguidance needs weak=: a weaker U-Net of the same model (e.g. an early snapshot)")
    with quiet("diffusers"):   # every guider warns "experimental"; pinned diffusers, tested here
        guider = _guider(kind, w, start, stop, eta, norm_threshold, momentum)
    wrapped = GuidedUNet(pipe.unet, guider, w, pipe.scheduler, weak=weak if kind == "auto" else None,
                         space=space if kind == "apg" else "prediction")
    parts = {name: getattr(pipe, name) for name in ("vae", "text_encoder", "tokenizer", "scheduler")}
    cls = type(pipe)
    if separate > 0:
        cls = type("Separating" + cls.__name__, (_Separating, cls), {})
    new = cls(**parts, unet=wrapped, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    new.set_progress_bar_config(disable=True)
    new.separation = {"alpha": separate, "stop": separate_stop, "gate": separate_gate}
    return new


class _Separating:
    """Mixed into a StableDiffusionPipeline class: each call adds the attention-separation callback."""

    def __call__(self, prompt=None, *args, **kwargs):
        if prompt is None:
            raise ValueError("a separating pipeline finds the objects in the prompt's words: pass prompt=, not prompt_embeds")
        if kwargs.get("callback_on_step_end") is not None:
            raise ValueError("a separating pipeline uses callback_on_step_end itself; call the plain pipeline instead")
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        per_prompt = kwargs.get("num_images_per_prompt") or 1
        from .grounding import prompt_objects

        objects = prompt_objects(self.tokenizer, prompts).repeat_interleave(per_prompt, 0)
        kwargs |= {"callback_on_step_end": _separation_step(objects, **self.separation),
                   "callback_on_step_end_tensor_inputs": ["latents", "prompt_embeds"]}
        return super().__call__(prompt, *args, **kwargs)


def _separation_step(objects, alpha: float, stop: float, gate: float):
    """diffusers' callback_on_step_end: after step i, move the latents down the gradient of the two
    objects' attention overlap at the next step's timestep (the conditional prediction only)."""
    from .grounding import attention_overlap, capturing_cross_attention

    two = (objects == 1).any(-1)

    def step(pipe, i, t, tensors):
        timesteps = pipe.scheduler.timesteps
        if i + 1 >= int(stop * len(timesteps)) or not two.any():
            return {}
        latents, embeds = tensors["latents"], tensors["prompt_embeds"]
        cond = embeds[embeds.shape[0] - latents.shape[0]:]             # [negative, prompt] under guidance
        unet = pipe.unet.unet if isinstance(pipe.unet, GuidedUNet) else pipe.unet
        x = latents.detach().clone().requires_grad_(True)
        nxt = timesteps[i + 1]
        with torch.enable_grad(), capturing_cross_attention(unet) as maps:
            unet(pipe.scheduler.scale_model_input(x, nxt), nxt, encoder_hidden_states=cond.detach())
            overlap = attention_overlap(maps, objects.to(x.device))
            grad, = torch.autograd.grad(overlap.sum(), x)
        rms = grad.pow(2).mean(dim=(1, 2, 3), keepdim=True).sqrt().clamp_min(1e-12)
        move = ((overlap > gate) & two.to(x.device)).to(x.dtype)[:, None, None, None]
        return {"latents": (latents - alpha * grad / rms * move).detach()}

    return step


def _guider(kind, w, start, stop, eta, norm_threshold, momentum):
    from diffusers.guiders import AdaptiveProjectedGuidance, ClassifierFreeGuidance

    if kind == "apg":   # Sadat et al.'s form, cond + (w - 1) * update: diffusers' "original formulation" at w - 1
        guider = AdaptiveProjectedGuidance(guidance_scale=w - 1, use_original_formulation=True,
                                           eta=v.number("eta", eta, 0.0, 1.0), start=start, stop=stop,
                                           adaptive_projected_guidance_rescale=v.number("norm_threshold", norm_threshold, 0.0, 1e6),
                                           adaptive_projected_guidance_momentum=momentum)
    else:
        guider = ClassifierFreeGuidance(guidance_scale=w, start=start, stop=stop)
    return guider
