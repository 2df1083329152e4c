"""The reverse process of DDPM, written out (Ho et al. 2020). Used in notebooks/03_diffusion.ipynb.

One step goes from x_t to x_(t-1) in three moves:
    1. guess the clean image from the predicted noise        (eq. 15)
    2. take the mean of q(x_(t-1) | x_t, x_0) at that guess   (eq. 6-7)
    3. add fresh noise with the posterior's variance          (sigma_t^2 = beta~_t)
Without the clipping of step 1 this is exactly line 4 of Algorithm 2:
    x_(t-1) = 1/sqrt(alpha_t) * (x_t - beta_t / sqrt(1 - abar_t) * eps) + sigma_t * z
The order of the random draws matches diffusers' DDPMPipeline, so the same generator gives
the same images (tests/test_diffusion.py).

`ddim_step` is the update of DDIM (Song et al. 2021, eq. 12), which can jump from t to any
earlier t_prev; with eta = 0 it adds no noise, so one starting noise gives one image."""

from __future__ import annotations

import torch

from . import validate as v
from .images import to_unit
from .noise import Schedule, check_schedule


def ddpm_step(x_t, eps, t: int, schedule: Schedule, generator=None, clip: bool = True):
    """One reverse step x_t -> x_(t-1); returns (x_(t-1), predicted x_0). x_t, eps: (B, C, H, W)."""
    _check_step(x_t, eps, t, schedule, generator)
    abar_t = schedule.alphas_cumprod[t]
    abar_prev = schedule.alphas_cumprod[t - 1] if t > 0 else torch.tensor(1.0)
    beta_t = 1 - abar_t / abar_prev
    # 1. predict x_0 from the predicted noise, eq. (15)
    x0_pred = (x_t - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()               # (B, C, H, W)
    if clip:
        x0_pred = x0_pred.clamp(-1, 1)
    # 2. mean of the posterior q(x_(t-1) | x_t, x_0), eq. (7)
    coef_x0 = abar_prev.sqrt() * beta_t / (1 - abar_t)
    coef_xt = (1 - beta_t).sqrt() * (1 - abar_prev) / (1 - abar_t)
    mean = coef_x0 * x0_pred + coef_xt * x_t
    if t == 0:
        return mean, x0_pred
    # 3. add noise with the posterior variance beta~_t = (1 - abar_(t-1)) / (1 - abar_t) * beta_t
    z = torch.randn(x_t.shape, generator=generator).to(x_t.device)
    var = ((1 - abar_prev) / (1 - abar_t) * beta_t).clamp(min=1e-20)
    return mean + var.sqrt() * z, x0_pred


def _check_step(x_t, eps, t, schedule, generator) -> None:
    """The arguments of ddpm_step, each with an error that names it."""
    check_schedule(schedule)
    v.whole("t", t, 0, schedule.num_timesteps - 1, f"this schedule has {schedule.num_timesteps} steps")
    x_t, eps = v.tensor("x_t", x_t), v.tensor("eps", eps)
    if x_t.shape != eps.shape:
        raise ValueError(f"eps must have the shape of x_t {tuple(x_t.shape)}, got {tuple(eps.shape)}")
    v.generator("generator", generator)


@torch.no_grad()
def ddpm_sample(unet, schedule: Schedule, n: int, generator=None, record_every: int = 0, clip: bool = True):
    """Algorithm 2 from pure noise: returns (images in [-1, 1], recorded [(t, x_t, x0_pred)]).
    Lesson 03 shows `ddpm_step` (inspect.getsource) and runs this.

    record_every=100 keeps x_t every 100 steps for plotting the trajectory."""
    check_schedule(schedule)
    n, generator = v.whole("n", n, 1, v.MAX_IMAGES), v.generator("generator", generator)
    v.whole("record_every", record_every, 0, schedule.num_timesteps, "0 records nothing; 100 every 100th step")
    cfg = unet.config
    x = torch.randn((n, cfg.in_channels, cfg.sample_size, cfg.sample_size), generator=generator)
    x = x.to(unet.device)
    record = []
    for t in range(schedule.num_timesteps - 1, -1, -1):
        eps = unet(x, t).sample
        x_prev, x0_pred = ddpm_step(x, eps, t, schedule, generator, clip)
        if record_every and (t % record_every == 0 or t == schedule.num_timesteps - 1):
            record.append((t, x.cpu(), x0_pred.cpu()))
        x = x_prev
    return x.cpu(), record


def ddim_step(model_output, t: int, t_prev: int, sample, alphas_cumprod, eta: float = 0.0,
              prediction_type: str = "epsilon", generator=None, clip_sample: bool = False,
              set_alpha_to_one: bool | None = None):
    """One DDIM step x_t -> x_(t_prev); returns (x_(t_prev), predicted x_0). sample: (B, C, H, W).

    Equals diffusers' DDIMScheduler.step (tests/test_diffusion.py). t_prev < 0 means "the clean
    end", where abar is 1 if set_alpha_to_one (DDIMScheduler's default, kept by ddpm-digits), else
    alphas_cumprod[0] (Stable Diffusion's config, and unet-shapes'). None reads it from the config of
    a scheduler passed as alphas_cumprod, and is True otherwise. With eta = 0, t_prev may also be
    above t (DDIM inversion)."""
    abar, t, t_prev, abar_end = _check_ddim(model_output, t, t_prev, sample, alphas_cumprod, eta, prediction_type,
                                            generator, clip_sample, set_alpha_to_one)
    abar_t = abar[t]
    abar_prev = abar[t_prev] if t_prev >= 0 else abar_end       # the clean end: 1, or abar_0 (set_alpha_to_one=False)
    # 1. x_0 and eps from the network's output (eq. 12's "predicted x_0"; Song's alpha is Ho's abar)
    if prediction_type == "epsilon":
        eps = model_output
        x0_pred = (sample - (1 - abar_t).sqrt() * eps) / abar_t.sqrt()            # (B, C, H, W)
    else:  # "v_prediction": v = sqrt(abar_t) eps - sqrt(1 - abar_t) x_0 (Salimans & Ho 2022)
        x0_pred = abar_t.sqrt() * sample - (1 - abar_t).sqrt() * model_output
        eps = abar_t.sqrt() * model_output + (1 - abar_t).sqrt() * sample
    if clip_sample:
        x0_pred = x0_pred.clamp(-1, 1)
    # 2. sigma_t(eta), eq. (16): eta = 1 is DDPM's posterior std, eta = 0 adds no noise
    sigma = eta * ((1 - abar_prev) / (1 - abar_t) * (1 - abar_t / abar_prev)).clamp(min=0).sqrt()
    # 3. eq. (12): x_(t-1) = sqrt(abar_(t-1)) x0_pred + sqrt(1 - abar_(t-1) - sigma^2) eps + sigma z
    x_prev = abar_prev.sqrt() * x0_pred + (1 - abar_prev - sigma**2).sqrt() * eps
    if eta > 0:
        z = torch.randn(sample.shape, generator=generator, dtype=sample.dtype).to(sample.device)
        x_prev = x_prev + sigma * z
    return x_prev, x0_pred


def _check_ddim(model_output, t, t_prev, sample, alphas_cumprod, eta, prediction_type, generator, clip_sample,
                set_alpha_to_one):
    """The arguments of ddim_step, each with an error that names it; returns (alphas_cumprod, t, t_prev,
    abar at the clean end)."""
    abar = v.tensor("alphas_cumprod", getattr(alphas_cumprod, "alphas_cumprod", alphas_cumprod), 1,
                    "pass schedule.alphas_cumprod or scheduler.alphas_cumprod")
    T = len(abar)
    t = v.whole("t", t, 0, T - 1, f"this schedule has {T} steps")
    t_prev = v.whole("t_prev", t_prev, -T, T - 1, "below 0 is the clean end of the chain")
    v.number("eta", eta, 0, 1, "0 is DDIM, 1 is DDPM's amount of noise")
    v.one_of("prediction_type", prediction_type, ("epsilon", "v_prediction"))
    if eta > 0 and t_prev >= t:
        raise ValueError(f"with eta > 0 a step must go down in t, got t = {t} -> t_prev = {t_prev}")
    x, out = v.tensor("sample", sample), v.tensor("model_output", model_output)
    if x.shape != out.shape:
        raise ValueError(f"model_output must have the shape of sample {tuple(x.shape)}, got {tuple(out.shape)}")
    v.generator("generator", generator), v.flag("clip_sample", clip_sample)
    if set_alpha_to_one is None:   # a diffusers scheduler says in its config; a schedule or a tensor gets the default
        set_alpha_to_one = getattr(getattr(alphas_cumprod, "config", None), "set_alpha_to_one", True)
    abar = abar.to(x.device, x.dtype)
    abar_end = torch.ones((), dtype=x.dtype, device=x.device) if v.flag("set_alpha_to_one", set_alpha_to_one) else abar[0]
    return abar, t, t_prev, abar_end


@torch.no_grad()
def ddim_sample(unet, alphas_cumprod, n: int, steps: int, eta: float = 0.0, generator=None,
                clip_sample: bool = True) -> torch.Tensor:
    """DDIM from pure noise in `steps` jumps of T // steps: images (n, C, H, W) in [-1, 1].

    The timesteps are diffusers' "leading" spacing (T = 1000, steps = 50: 980, 960, ..., 0),
    so with the same generator this gives DDIMScheduler's images (tests/test_diffusion.py)."""
    abar = v.tensor("alphas_cumprod", getattr(alphas_cumprod, "alphas_cumprod", alphas_cumprod), 1,
                    "pass a schedule, schedule.alphas_cumprod or scheduler.alphas_cumprod")
    n, steps = v.whole("n", n, 1, v.MAX_IMAGES), v.whole("steps", steps, 1, len(abar), "50 is plenty for DDIM")
    if not hasattr(unet, "config"):
        raise v.InputTypeError(f"unet must be a diffusers UNet2DModel, e.g. models.load_pretrained('ddpm-digits').unet, "
                               f"got {type(unet).__name__}")
    cfg = unet.config
    x = torch.randn((n, cfg.in_channels, cfg.sample_size, cfg.sample_size), generator=v.generator("generator", generator))
    x = x.to(unet.device)
    jump = len(abar) // steps
    for t in range((steps - 1) * jump, -1, -jump):                      # 980, 960, ..., 0 for 50 steps
        eps = unet(x, t).sample
        x, _ = ddim_step(eps, t, t - jump, x, alphas_cumprod, eta, generator=generator, clip_sample=clip_sample)
    return x.cpu()


@torch.no_grad()
def sample_diffusion(unet, scheduler, n: int, steps: int, generator: torch.Generator) -> torch.Tensor:
    """Run a diffusers scheduler's reverse loop from seeded noise -> (n, C, H, W) in [0, 1].

    The loop of DDPMPipeline and DDIMPipeline, for any scheduler; used in notebooks/03 and 07."""
    n, steps = v.whole("n", n, 1, v.MAX_IMAGES), v.whole("steps", steps, 1, v.MAX_STEPS, "50 is plenty for DDIM")
    v.generator("generator", generator)
    cfg = unet.config
    x = torch.randn((n, cfg.in_channels, cfg.sample_size, cfg.sample_size), generator=generator)
    x = x.to(unet.device)
    scheduler.set_timesteps(steps)
    for t in scheduler.timesteps:
        eps = unet(x, t).sample
        x = scheduler.step(eps, t, x, generator=generator).prev_sample
    return to_unit(x).cpu()


def sample_from_pipeline(pipe, n: int, generator, steps: int) -> torch.Tensor:
    """n images from a DDPMPipeline by `steps` DDIM steps (eta = 0), for models.sample."""
    from diffusers import DDIMScheduler

    return sample_diffusion(pipe.unet, DDIMScheduler.from_config(pipe.scheduler.config), n, steps, generator)
