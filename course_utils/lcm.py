"""Latent consistency distillation (Luo et al. 2023; LCM-LoRA, Luo et al. 2023b): teach a LoRA on
`unet-shapes` to jump from any point of the sampling ODE's trajectory to its end, so that 4
steps of diffusers' LCMScheduler draw what 25 guided DDIM steps drew.

One training step, on a batch of clean latents x0 and their captions' embeddings:
1. pick a point on the DDIM grid the sampler uses (every k-th of the 1000 timesteps) and noise
   x0 to it: x_t, at t = t_n;
2. the frozen teacher takes one guided DDIM step back, over k timesteps: x_prev at t_(n-1)
   (classifier-free guidance at scale w, so the student learns the guided trajectory);
3. the student maps x_t to its guess of the trajectory's end; a target network (an EMA of the
   student) maps x_prev to its guess; the loss pulls the first onto the second. Two points of
   one trajectory must have one end: that is the consistency property;
4. both guesses pass the boundary condition f(x, t) = c_skip(t) x + c_out(t) x0_hat(x, t), with
   c_skip(0) = 1 and c_out(0) = 0, so at t = 0 the map is the identity (what LCMScheduler assumes).

The pieces are written out here because lesson 07 teaches them; the LoRA is PEFT's
(finetune.unet_adapters.add_lora), the sampler diffusers' LCMScheduler, the saving diffusers' LoRA format.

`distill` runs the loss with train.fit on a pipeline's U-Net (the lesson's live demo); `load` gives the
shipped adapter in the course pipeline with LCMScheduler.

Example: loss = consistency_loss(student, teacher, target, x0, context, null, schedule, gen)"""

from __future__ import annotations

import torch

from . import validate as v

SIGMA_DATA = 0.5          # LCMScheduler's boundary-condition constants
TIMESTEP_SCALING = 10.0


def boundary(t: torch.Tensor, sigma_data: float = SIGMA_DATA, scaling: float = TIMESTEP_SCALING):
    """(c_skip, c_out) of the consistency boundary condition at integer timesteps t, as diffusers'
    LCMScheduler computes them: c_skip(0) = 1, c_out(0) = 0, and c_skip ~ 0, c_out ~ 1 from t ~ 5 on."""
    s = t.float() * scaling
    return sigma_data**2 / (s**2 + sigma_data**2), s / (s**2 + sigma_data**2) ** 0.5


def solver_timesteps(num_train_timesteps: int = 1000, ddim_steps: int = 50) -> torch.Tensor:
    """The DDIM grid the distillation walks, and LCMScheduler's own (original_inference_steps):
    k, 2k - 1, ... with k = num_train_timesteps // ddim_steps: tensor([19, 39, ..., 999]) for 1000 / 50."""
    k = v.whole("num_train_timesteps", num_train_timesteps, 2, 100000) // v.whole("ddim_steps", ddim_steps, 1, num_train_timesteps)
    return torch.arange(1, ddim_steps + 1) * k - 1


def x0_and_eps(output: torch.Tensor, x_t: torch.Tensor, abar: torch.Tensor, prediction_type: str = "v_prediction"):
    """The clean-latent and noise guesses a U-Net's output implies at x_t (abar broadcast to x_t):
    v = sqrt(abar) eps - sqrt(1 - abar) x0, so x0 = sqrt(abar) x_t - sqrt(1 - abar) v and
    eps = sqrt(1 - abar) x_t + sqrt(abar) v; for "epsilon", x0 = (x_t - sqrt(1 - abar) eps) / sqrt(abar)."""
    a, s = abar.sqrt(), (1 - abar).sqrt()
    if prediction_type == "v_prediction":
        return a * x_t - s * output, s * x_t + a * output
    if prediction_type == "epsilon":
        return (x_t - s * output) / a.clamp_min(1e-8), output
    raise ValueError(f"prediction_type must be 'v_prediction' or 'epsilon', got {prediction_type!r}")


def consistency_target(x_prev: torch.Tensor, target_output: torch.Tensor, t_prev: torch.Tensor,
                       abar_prev: torch.Tensor, prediction_type: str = "v_prediction") -> torch.Tensor:
    """What the student is pulled towards: the target network's guess of the trajectory's end from
    x_prev, through the boundary condition: c_skip(t_prev) x_prev + c_out(t_prev) x0_hat."""
    c_skip, c_out = (c.reshape(-1, 1, 1, 1) for c in boundary(t_prev))
    x0_hat, _ = x0_and_eps(target_output, x_prev, abar_prev, prediction_type)
    return c_skip * x_prev + c_out * x0_hat


def huber(a: torch.Tensor, b: torch.Tensor, c: float = 0.001) -> torch.Tensor:
    """The pseudo-Huber loss LCM trains with: mean of sqrt((a - b)^2 + c^2) - c."""
    return (((a.float() - b.float()) ** 2 + c * c).sqrt() - c).mean()


def consistency_loss(student, teacher, target, x0: torch.Tensor, context: torch.Tensor, null: torch.Tensor,
                     schedule, generator=None, guidance_scale: float = 2.0, ddim_steps: int = 50,
                     prediction_type: str = "v_prediction") -> torch.Tensor:
    """One latent-consistency-distillation loss on clean latents x0 (B, 4, h, w) and caption
    embeddings `context` (B, L, d); `null` (1, L, d) is the empty caption's, for the teacher's
    guidance. student/teacher/target: U-Nets (the target and the teacher are not trained here)."""
    from .noise import add_noise

    B, device = x0.shape[0], x0.device
    grid = solver_timesteps(schedule.num_timesteps, ddim_steps)
    k = int(grid[0]) + 1
    n = torch.randint(0, len(grid), (B,), generator=generator)
    t = grid[n].to(device)                                    # t_n on the grid
    t_prev = (t - k).clamp_min(0)                             # t_(n-1); the first point steps to t = 0
    abar_all = schedule.alphas_cumprod.to(device)
    abar, abar_prev = (abar_all[s].reshape(B, 1, 1, 1) for s in (t, t_prev))
    eps = torch.randn(x0.shape, generator=generator).to(device)
    x_t = add_noise(x0, eps, t, schedule)
    # 1. the student's guess of the end of x_t's trajectory, through the boundary condition
    c_skip, c_out = (c.reshape(-1, 1, 1, 1) for c in boundary(t))
    x0_student, _ = x0_and_eps(student(x_t, t, encoder_hidden_states=context).sample, x_t, abar, prediction_type)
    guess = c_skip * x_t + c_out * x0_student
    with torch.no_grad():
        # 2. the teacher's guided DDIM step from t_n to t_(n-1)
        both = teacher(torch.cat([x_t, x_t]), torch.cat([t, t]),
                       encoder_hidden_states=torch.cat([null.expand(B, -1, -1).to(context), context])).sample
        x0_u, eps_u = x0_and_eps(both[:B], x_t, abar, prediction_type)
        x0_c, eps_c = x0_and_eps(both[B:], x_t, abar, prediction_type)
        x0_g = x0_u + guidance_scale * (x0_c - x0_u)
        eps_g = eps_u + guidance_scale * (eps_c - eps_u)
        x_prev = abar_prev.sqrt() * x0_g + (1 - abar_prev).sqrt() * eps_g
        # 3. the target network's guess from x_prev
        aim = consistency_target(x_prev, target(x_prev, t_prev, encoder_hidden_states=context).sample,
                                 t_prev, abar_prev, prediction_type)
    return huber(guess, aim)


@torch.no_grad()
def update_target(target, student, decay: float) -> None:
    """target <- decay * target + (1 - decay) * student, for the parameters the student trains."""
    decay = v.number("decay", decay, 0.0, 1.0)
    own = dict(target.named_parameters())
    for name, p in student.named_parameters():
        if p.requires_grad:
            own[name].lerp_(p.detach().to(own[name]), 1 - decay)


def distill(pipe, latents: torch.Tensor, captions: list[str], steps: int = 800, lr: float = 5e-4,
            batch_size: int = 32, guidance_scale: float = 2.0, rank: int = 16, target_ema: float = 0.95,
            ddim_steps: int = 50, seed: int = 0, **fit_kwargs):
    """Distil pipe.unet (the teacher, left untouched) into a LoRA on a copy of it, with train.fit on
    scaled clean latents (N, 4, h, w) and their captions: consistency_loss each step, the target
    network an EMA of the student (update_target) taken before the step. Returns fit's FitResult
    (.model: the student U-Net with its adapter). fit_kwargs go to train.fit (callback, every, warmup...).
    scripts/train_lcm_shapes.py does the same on 8,000 cached scenes; the lesson runs it live.

    Example: run = live_demo(distill, pipe, latents, captions, steps=400, batch_size=8, seconds=20)"""
    import copy

    from .finetune.teal import check_training_args
    from .finetune.unet_adapters import CONV_TARGETS, LORA_TARGETS, add_lora
    from .models.unet_shapes import encode_prompts, training_schedule
    from .pipelines import check_pipe
    from .train import fit

    check_pipe(pipe)
    check_training_args(latents, captions, steps, lr, batch_size)
    contexts = encode_prompts(pipe.tokenizer, pipe.text_encoder, list(captions))    # (N, L, d)
    null = encode_prompts(pipe.tokenizer, pipe.text_encoder, [""])                  # (1, L, d)
    teacher, schedule = pipe.unet, training_schedule()
    student = add_lora(copy.deepcopy(teacher), rank=rank, targets=LORA_TARGETS + CONV_TARGETS)
    target = copy.deepcopy(student).requires_grad_(False)

    def draw(gen, step):
        idx = torch.randint(0, len(latents), (batch_size,), generator=gen)
        return latents[idx], contexts[idx]

    def loss(model, batch, gen):
        update_target(target, model, target_ema)         # the EMA of the student up to the last step
        return consistency_loss(model, teacher, target, *batch, null, schedule, gen,
                                guidance_scale=guidance_scale, ddim_steps=ddim_steps)

    return fit(student, loss, draw, steps, lr=lr, name="lcm distillation", seed=seed, **fit_kwargs)


def load(folder, device="cpu"):
    """The course pipeline (unet-shapes, vae-shapes, the MiniLM text encoder) with the lcm-shapes adapter
    loaded and diffusers' LCMScheduler in place of DDIM: draw in 1 to 8 steps, with guidance_scale=1
    (the teacher's guidance is distilled in). models.load_pretrained("lcm-shapes").

    Example: pipe = load(checkpoint_dir("lcm-shapes")); pipe(prompt, num_inference_steps=4, guidance_scale=1)"""
    from diffusers import LCMScheduler

    from .finetune import fresh_pipeline
    from .finetune.unet_adapters import load_lora

    pipe = fresh_pipeline(device)
    load_lora(pipe, folder)
    pipe.scheduler = LCMScheduler.from_config(pipe.scheduler.config)   # same schedule: v, zero terminal SNR, trailing
    return pipe
