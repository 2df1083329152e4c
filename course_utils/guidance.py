"""Other ways to guide, at sampling time: a guidance interval, adaptive projected guidance, and
autoguidance, as options of the course's (plain diffusers) pipeline.

Classifier-free guidance mixes two predictions of the same U-Net at every step:
    guided = uncond + w * (cond - uncond)                    (diffusers' guidance_scale = w)
Three later ideas change that mix, and nothing else:
- a guidance interval (Kynkaanniemi et al. 2024): guide only in a middle stretch of the steps;
  outside it, use the conditional prediction alone;
- adaptive projected guidance, APG (Sadat et al. 2024): split (cond - uncond) into the part along
  `cond` and the part across it, keep less of the part along it (`eta`) and cap its size
  (`norm_threshold`), against the over-saturated colours of high w;
- autoguidance (Karras et al. 2024): the "unconditional" prediction comes from a weaker copy of the
  same model (here an early snapshot of the same training run) given the same prompt:
      guided = weak(cond) + w * (strong(cond) - weak(cond)).
The first two are diffusers' own guiders (`diffusers.guiders`); this module only lets the classic
StableDiffusionPipeline use them, by wrapping its U-Net:

    fast = guidance.with_guidance(pipe, "apg", eta=0.0, norm_threshold=2.0)    # a new pipeline, same weights
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

    def __init__(self, unet, guider, guidance_scale: float, scheduler, weak=None):
        super().__init__()
        self.unet, self.weak, self.guider, self.w, self.scheduler = unet, weak, guider, guidance_scale, scheduler
        self.config = unet.config

    @property
    def dtype(self):
        return self.unet.dtype

    @property
    def device(self):
        return self.unet.device

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
        guided = self.guider.forward(cond, uncond).pred if self.weak is None else \
            uncond + self.w * (cond - uncond)
        # 3. the u' that the pipeline's u' + w (cond - u') turns into `guided`
        stand_in = (guided - self.w * cond) / (1 - self.w)
        out.sample = torch.cat([stand_in, cond])
        return out if return_dict else (out.sample,)


def with_guidance(pipe, kind: str, guidance_scale: float, start: float = 0.0, stop: float = 1.0,
                  eta: float = 1.0, norm_threshold: float = 0.0, momentum: float | None = None, weak=None):
    """A new pipeline sharing `pipe`'s weights whose guidance is `kind`; call it with the same guidance_scale.

    kind: "cfg" (plain, as diffusers), "interval" (guide only from `start` to `stop`, fractions of the
    steps), "apg" (eta: share kept of the part along cond; norm_threshold: its size cap, 0 = none;
    momentum), "auto" (autoguidance with the U-Net `weak`). Example:
        with_guidance(pipe, "interval", 5.0, start=0.2, stop=0.8)(prompt, guidance_scale=5.0)"""
    kind = v.one_of("kind", kind, KINDS)
    w = v.number("guidance_scale", guidance_scale, 1.0001, 100.0, "guidance needs a scale above 1")
    v.number("start", start, 0.0, 1.0)
    v.number("stop", stop, 0.0, 1.0)
    if stop <= start:
        raise ValueError(f"the guidance interval must have start < stop, got start={start}, stop={stop}")
    if kind == "auto" and weak is None:
        raise ValueError("autoguidance needs weak=: a weaker U-Net of the same model (e.g. an early snapshot)")
    with quiet("diffusers"):   # every guider warns "experimental"; pinned diffusers, tested here
        guider = _guider(kind, w, start, stop, eta, norm_threshold, momentum)
    wrapped = GuidedUNet(pipe.unet, guider, w, pipe.scheduler, weak=weak if kind == "auto" else None)
    parts = {name: getattr(pipe, name) for name in ("vae", "text_encoder", "tokenizer", "scheduler")}
    new = type(pipe)(**parts, unet=wrapped, safety_checker=None, feature_extractor=None, requires_safety_checker=False)
    new.set_progress_bar_config(disable=True)
    return new


def _guider(kind, w, start, stop, eta, norm_threshold, momentum):
    from diffusers.guiders import AdaptiveProjectedGuidance, ClassifierFreeGuidance

    if kind == "apg":
        guider = AdaptiveProjectedGuidance(guidance_scale=w, eta=v.number("eta", eta, 0.0, 1.0), start=start, stop=stop,
                                           adaptive_projected_guidance_rescale=v.number("norm_threshold", norm_threshold, 0.0, 1e6),
                                           adaptive_projected_guidance_momentum=momentum)
    else:
        guider = ClassifierFreeGuidance(guidance_scale=w, start=start, stop=stop)
    return guider
