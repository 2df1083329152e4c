"""Exercise checkers: friendly, specific feedback, never a bare assert.

Each checker prints what is right or wrong and returns True/False, so an exercise cell left
as written ("YOUR CODE HERE", answer = None) keeps the notebook running."""

from __future__ import annotations

import torch

from .noise import Schedule, make_schedule


def _say(ok: bool, msg: str) -> bool:
    print(("✅ " if ok else "❌ ") + msg)
    return ok


def not_answered(answer) -> bool:
    """True (and a hint) when the exercise still holds its placeholder."""
    if answer is None or answer is ...:
        print("⏳ Not answered yet: replace the `None` / `...` in the cell above with your answer.")
        return True
    return False


def compare(answer, expected, name: str = "your answer", atol: float = 1e-5) -> bool:
    """Karpathy's `cmp`: exact / approximately equal (with the max difference) / wrong."""
    if not_answered(answer):
        return False
    a, e = torch.as_tensor(answer).float(), torch.as_tensor(expected).float()
    if a.shape != e.shape:
        return _say(False, f"{name} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
    diff = (a - e).abs().max().item() if a.numel() else 0.0
    if diff == 0:
        return _say(True, f"{name}: exact match")
    if diff <= atol:
        return _say(True, f"{name}: approximately equal (max difference {diff:.2e})")
    return _say(False, f"{name}: max difference {diff:.3g} from the expected values")


# ---------------------------------------------------------------- lesson 00
def check_compression_ratio(answer) -> bool:
    """Lesson 00: how many times fewer numbers an 8x8x4 latent holds than a 64x64x3 image."""
    if not_answered(answer):
        return False
    right = 64 * 64 * 3 / (8 * 8 * 4)
    if abs(float(answer) - right) < 1e-9:
        return _say(True, f"{64 * 64 * 3:,} numbers vs {8 * 8 * 4}: {right:.0f} times fewer. "
                          "The denoiser works on that small grid: that is why latent diffusion is fast.")
    if abs(float(answer) - 64 * 64 / 64) < 1e-9:
        return _say(False, "close: you compared pixels, but count the channels too (3 colours vs 4 latent channels)")
    return _say(False, f"{answer} is not it: count all the numbers (height x width x channels) of each")


def check_timeline_order(answer) -> bool:
    """Lesson 00: the models sorted from oldest to newest."""
    right = ["RBM", "VAE", "GAN", "DDPM", "Stable Diffusion", "DiT"]
    if not_answered(answer):
        return False
    if list(answer) == right:
        return _say(True, "RBM 2006, VAE 2013, GAN 2014, DDPM 2020, Stable Diffusion 2022, DiT 2023.")
    if sorted(answer) != sorted(right):
        return _say(False, f"use exactly these names: {sorted(right)}")
    first_wrong = next(i for i, (a, b) in enumerate(zip(answer, right)) if a != b)
    hint = " (GANs are from 2014, not 2012)" if "GAN" in (answer[first_wrong], right[first_wrong]) else ""
    return _say(False, f"the first {first_wrong} are in order; position {first_wrong + 1} should be "
                       f"{right[first_wrong]!r}{hint}")


# ---------------------------------------------------------------- lesson 03
def check_add_noise(fn) -> bool:
    """Lesson 03: fn(x0, noise, t, schedule) must equal q(x_t | x_0) for a batch of timesteps."""
    if not_answered(fn):
        return False
    from .noise import add_noise

    g = torch.Generator().manual_seed(0)
    x0, noise = torch.randn(4, 1, 8, 8, generator=g), torch.randn(4, 1, 8, 8, generator=g)
    t = torch.tensor([0, 10, 500, 999])
    s: Schedule = make_schedule("linear")
    try:
        got = fn(x0, noise, t, s)
    except Exception as e:  # noqa: BLE001 - show the student their error, kindly
        return _say(False, f"your function raised {type(e).__name__}: {e}")
    if not_answered(got):
        return False
    want = add_noise(x0, noise, t, s)
    if torch.as_tensor(got).shape == want.shape:
        swapped = s.alphas_cumprod[t].reshape(-1, 1, 1, 1)
        if torch.allclose(got, (1 - swapped) ** 0.5 * x0 + swapped**0.5 * noise, atol=1e-5):
            return _say(False, "x0 and the noise have swapped weights: x0 gets sqrt(abar_t), the noise sqrt(1 - abar_t)")
        if torch.allclose(got, swapped * x0 + (1 - swapped) * noise, atol=1e-5):
            return _say(False, "take square roots: the weights are sqrt(abar_t) and sqrt(1 - abar_t), so the variance stays 1")
    return compare(got, want, "add_noise(x0, noise, t, schedule)")


def check_last_step(x999) -> bool:
    """Lesson 03: x_999 of the digits under the linear schedule is (almost) pure N(0, 1) noise."""
    if not_answered(x999):
        return False
    mean, std = x999.mean().item(), x999.std().item()
    abar = make_schedule("linear").alphas_cumprod[999].item()
    ok = abs(mean) < 0.05 and abs(std - 1) < 0.05
    if ok:
        return _say(True, f"mean {mean:.3f}, std {std:.3f}: sqrt(abar_999) = {abar ** 0.5:.4f}, so almost "
                          "nothing of the digit is left. x_999 is (nearly) pure N(0, 1) noise: where sampling starts.")
    return _say(False, f"mean {mean:.3f}, std {std:.3f}: not yet pure noise. At t = 999 abar is about "
                       f"{abar:.0e}; did you noise to t = 999 with noise drawn from N(0, 1)?")


def check_half_signal(t) -> bool:
    """Lesson 03: the first timestep at which the linear schedule keeps less than half the signal
    variance (abar_t < 0.5, i.e. SNR < 1)."""
    if not_answered(t):
        return False
    abar = make_schedule("linear").alphas_cumprod
    right = int((abar < 0.5).nonzero()[0])
    if int(t) == right:
        return _say(True, f"t = {right}: from here on there is more noise than image (SNR < 1). "
                          "A quarter of the way in, and already half gone: the linear schedule destroys early.")
    hint = "later" if int(t) < right else "earlier"
    return _say(False, f"t = {t} has abar = {abar[int(t)]:.3f}; look {hint}")


# ---------------------------------------------------------------- lesson 04
def _call(fn, *args):
    try:
        return fn(*args), None
    except Exception as e:  # noqa: BLE001 - show the student their error, kindly
        return None, _say(False, f"your function raised {type(e).__name__}: {e}")


def check_mean_pool(fn) -> bool:
    """Lesson 04: fn(embeddings (n, L, d), mask (n, L)) -> (n, d), the mean over real tokens only."""
    from .text import mean_pool

    g = torch.Generator().manual_seed(0)
    emb = torch.randn(2, 5, 4, generator=g)
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]])
    got, err = _call(fn, emb, mask)
    if err is not None:
        return err
    if not_answered(got):
        return False
    if torch.as_tensor(got).shape == (2, 4) and torch.allclose(torch.as_tensor(got), emb.mean(1), atol=1e-5):
        return _say(False, "you averaged the padding too: multiply by the mask and divide by the number of real tokens")
    return compare(got, mean_pool(emb, mask), "mean_pool(embeddings, mask)")


def check_attention_weights(fn) -> bool:
    """Lesson 04: fn(q (d,), K (L, d)) -> (L,) softmax(K q / sqrt(d))."""
    g = torch.Generator().manual_seed(0)
    q, K = torch.randn(8, generator=g) * 3, torch.randn(5, 8, generator=g) * 3
    got, err = _call(fn, q, K)
    if err is not None:
        return err
    if not_answered(got):
        return False
    got = torch.as_tensor(got)
    if got.shape == (5,) and torch.allclose(got, torch.softmax(K @ q, 0), atol=1e-5):
        return _say(False, "almost: divide the scores by sqrt(d) before the softmax, or it saturates as d grows")
    if got.shape == (5,) and torch.allclose(got, K @ q / 8**0.5, atol=1e-5):
        return _say(False, "the scores are right; now turn them into weights that sum to 1 with a softmax")
    return compare(got, torch.softmax(K @ q / 8**0.5, 0), "attention weights")


def check_clip_loss(fn) -> bool:
    """Lesson 04: fn(image_emb (n, d), text_emb (n, d), temperature) -> the symmetric CLIP loss."""
    g = torch.Generator().manual_seed(0)
    img = torch.nn.functional.normalize(torch.randn(4, 6, generator=g), dim=-1)
    txt = torch.nn.functional.normalize(img + 0.5 * torch.randn(4, 6, generator=g), dim=-1)
    got, err = _call(fn, img, txt, 0.1)
    if err is not None:
        return err
    if not_answered(got):
        return False
    logits = img @ txt.T / 0.1                                            # (n, n): row i = image i vs every text
    labels = torch.arange(4)
    one_way = torch.nn.functional.cross_entropy(logits, labels)
    want = (one_way + torch.nn.functional.cross_entropy(logits.T, labels)) / 2
    if abs(float(got) - float(one_way)) < 1e-5 and abs(float(one_way) - float(want)) > 1e-4:
        return _say(False, "that is the image -> text half; CLIP averages it with the text -> image half (the transpose)")
    return compare(torch.as_tensor(float(got)), want, "CLIP loss")


# ---------------------------------------------------------------- lesson 05
def check_sd_compression(answer) -> bool:
    """Lesson 05: how many times fewer numbers Stable Diffusion's 64x64x4 latent holds than a 512x512x3 image."""
    if not_answered(answer):
        return False
    right = 512 * 512 * 3 / (64 * 64 * 4)
    if abs(float(answer) - right) < 1e-9:
        return _say(True, f"{512 * 512 * 3:,} vs {64 * 64 * 4:,} numbers: {right:.0f}x fewer, the same factor as our 64x64 -> 8x8x4")
    return _say(False, f"{answer} is not it: height x width x channels for both (the latent is 512/8 per side, 4 channels)")


def check_reparameterize(fn) -> bool:
    """Lesson 05: fn(mean, logvar, eps) -> z = mean + exp(logvar / 2) * eps."""
    g = torch.Generator().manual_seed(0)
    mean, logvar, eps = (torch.randn(2, 4, 3, 3, generator=g) for _ in range(3))
    got, err = _call(fn, mean, logvar, eps)
    if err is not None:
        return err
    if not_answered(got):
        return False
    if torch.as_tensor(got).shape == mean.shape and torch.allclose(got, mean + logvar * eps, atol=1e-5):
        return _say(False, "logvar is log(sigma^2): the standard deviation is exp(logvar / 2), not logvar")
    if torch.as_tensor(got).shape == mean.shape and torch.allclose(got, mean + logvar.exp() * eps, atol=1e-5):
        return _say(False, "exp(logvar) is the variance; scale the noise by the standard deviation, exp(logvar / 2)")
    return compare(got, mean + (0.5 * logvar).exp() * eps, "z")


def check_kl(fn) -> bool:
    """Lesson 05: fn(mean, logvar) -> KL(N(mean, exp(logvar)) || N(0, 1)) summed over all numbers of each image."""
    g = torch.Generator().manual_seed(0)
    mean, logvar = torch.randn(3, 4, 2, 2, generator=g), torch.randn(3, 4, 2, 2, generator=g) * 0.5
    got, err = _call(fn, mean, logvar)
    if err is not None:
        return err
    if not_answered(got):
        return False
    want = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).sum(dim=(1, 2, 3))
    if torch.as_tensor(got).numel() == 1:
        return _say(False, "sum over the latent numbers of each image, but keep one value per image: shape (N,)")
    return compare(got, want, "KL per image")


def check_scaling_factor(answer, latents: torch.Tensor) -> bool:
    """Lesson 05: the factor that gives the latents a standard deviation of 1."""
    if not_answered(answer):
        return False
    right = 1 / latents.std().item()
    if abs(float(answer) - right) < 1e-3 * right:
        return _say(True, f"{right:.4f}: latents x {right:.4f} have std 1, like the diffusion noise (Stable Diffusion's is 0.18215)")
    if abs(float(answer) - latents.std().item()) < 1e-3:
        return _say(False, "that is the standard deviation itself; the factor that cancels it is 1 / std")
    return _say(False, f"{answer:.4g} is not it: which number times the latents gives them a standard deviation of 1?")


# ---------------------------------------------------------------- lesson 01
def _toy_rbm():
    from .models.rbm import RBM

    g = torch.Generator().manual_seed(0)
    rbm = RBM(6, 4, init_std=0.8, generator=g)
    rbm.intercept_hidden_.copy_(torch.randn(4, generator=g) * 0.5)
    rbm.intercept_visible_.copy_(torch.randn(6, generator=g) * 0.5)
    v = (torch.rand(5, 6, generator=g) < 0.5).float()
    return rbm, v, g


def check_free_energy(fn) -> bool:
    """Lesson 01: fn(v, W, b, c) -> F(v) = -v.b - sum_j softplus(c_j + W_j.v), one value per row of v."""
    rbm, v, _ = _toy_rbm()
    got, err = _call(fn, v, rbm.components_.clone(), rbm.intercept_visible_.clone(), rbm.intercept_hidden_.clone())
    if err is not None:
        return err
    if not_answered(got):
        return False
    want = rbm.free_energy(v)
    if torch.as_tensor(got).shape == want.shape and torch.allclose(torch.as_tensor(got), -want, atol=1e-4):
        return _say(False, "the sign is flipped: F(v) = -v.b - sum softplus(...), low free energy = probable")
    return compare(got, want, "free energy F(v)", atol=1e-4)


def check_gibbs_step(fn) -> bool:
    """Lesson 01: fn(rbm, v, u_h, u_v) -> v': h = (u_h < p(h | v)), then v' = (u_v < p(v | h))."""
    rbm, v, g = _toy_rbm()
    u_h, u_v = torch.rand(5, 4, generator=g), torch.rand(5, 6, generator=g)
    got, err = _call(fn, rbm, v, u_h, u_v)
    if err is not None:
        return err
    if not_answered(got):
        return False
    h = (u_h < rbm.p_h(v)).float()
    want = (u_v < rbm.p_v(h)).float()
    if torch.as_tensor(got).shape == want.shape and torch.allclose(torch.as_tensor(got).float(), rbm.p_v(h), atol=1e-5):
        return _say(False, "those are the probabilities p(v | h); a Gibbs step samples: compare them with u_v")
    return compare(torch.as_tensor(got).float(), want, "v after one Gibbs step")


# ---------------------------------------------------------------- lesson 02
def check_discriminator_loss(fn) -> bool:
    """Lesson 02: fn(real_logits, fake_logits) -> -[mean log D(x) + mean log(1 - D(G(z)))], no smoothing."""
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(8, 1, generator=g) + 1, torch.randn(8, 1, generator=g) - 1
    got, err = _call(fn, real, fake)
    if err is not None:
        return err
    if not_answered(got):
        return False
    want = -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())
    swapped = -(torch.log(torch.sigmoid(fake)).mean() + torch.log(1 - torch.sigmoid(real)).mean())
    if abs(float(got) - float(swapped)) < 1e-4:
        return _say(False, "the labels are swapped: D should say 1 for real images and 0 for fakes")
    if abs(float(got) + float(want)) < 1e-4:
        return _say(False, "mind the sign: a loss is minimised, so it is MINUS the log-likelihood")
    return compare(torch.as_tensor(float(got)), want, "discriminator loss", atol=1e-4)


def check_mode_collapse(answer, counts_a, counts_b) -> bool:
    """Lesson 02: which run ('a' or 'b') collapsed, judged from its predicted-class counts."""
    if not_answered(answer):
        return False
    def covered(c):
        return sum(1 for x in c if x >= 0.02 * sum(c))
    right = "a" if covered(counts_a) < covered(counts_b) else "b"
    if str(answer).lower() == right:
        return _say(True, f"run {right} covers {min(covered(counts_a), covered(counts_b))} of 10 digits: "
                          "its generator found a few outputs that fool D and stopped exploring")
    return _say(False, "count how many digits make up at least 2 % of each run's samples")


# ---------------------------------------------------------------- lesson 06
def check_guidance(fn) -> bool:
    """Lesson 06: fn(eps_uncond, eps_text, w) -> eps_uncond + w (eps_text - eps_uncond)."""
    g = torch.Generator().manual_seed(0)
    uncond, text = torch.randn(2, 4, 8, 8, generator=g), torch.randn(2, 4, 8, 8, generator=g)
    got, err = _call(fn, uncond, text, 7.5)
    if err is not None:
        return err
    if not_answered(got):
        return False
    got = torch.as_tensor(got)
    if got.shape == text.shape and torch.allclose(got, text + 7.5 * (text - uncond), atol=1e-5):
        return _say(False, "start from the unconditional prediction, not the text one: eps_u + w (eps_t - eps_u)")
    if got.shape == text.shape and torch.allclose(got, uncond + 7.5 * (uncond - text), atol=1e-5):
        return _say(False, "the direction is reversed: step from the unconditional toward the text prediction")
    ok = compare(got, uncond + 7.5 * (text - uncond), "guided noise prediction")
    if ok:
        print("   with w = 1 it returns eps_text exactly: guidance 1 means 'no guidance'.")
    return ok


def check_unet_calls(answer, steps: int = 25) -> bool:
    """Lesson 06: how many U-Net evaluations (per image) one guided generation of `steps` steps costs."""
    if not_answered(answer):
        return False
    if int(answer) == 2 * steps:
        return _say(True, f"{2 * steps}: two per step (with and without the prompt; the pipeline batches "
                          "them as one call of batch 2)")
    if int(answer) == steps:
        return _say(False, "one per step would be without guidance; classifier-free guidance needs two predictions")
    return _say(False, f"{answer} is not it: count the predictions in one step, then the steps")


def check_img2img_steps(answer, steps: int = 25, strength: float = 0.6) -> bool:
    """Lesson 06: how many denoising steps img2img runs at `strength` out of `steps`."""
    if not_answered(answer):
        return False
    right = min(int(steps * strength), steps)
    if int(answer) == right:
        return _say(True, f"{right}: img2img noises the picture to the level of step {steps - right + 1} of "
                          f"{steps} and runs only the last {right} steps; strength 1.0 runs all of them")
    if int(answer) == steps - right:
        return _say(False, "that is the number of steps it skips; count the ones it runs")
    return _say(False, f"{answer} is not it: strength is the share of the {steps} steps that still run")


# ---------------------------------------------------------------- lesson 07
def check_flow_target(fn) -> bool:
    """Lesson 07: fn(x0, eps) -> the rectified-flow velocity target, eps - x0 (t = 0 data, t = 1 noise)."""
    g = torch.Generator().manual_seed(0)
    x0, eps = torch.randn(3, 1, 4, 4, generator=g), torch.randn(3, 1, 4, 4, generator=g)
    got, err = _call(fn, x0, eps)
    if err is not None:
        return err
    if not_answered(got):
        return False
    got = torch.as_tensor(got)
    if got.shape == x0.shape and torch.allclose(got, x0 - eps, atol=1e-6):
        return _say(False, "reversed: with x_t = (1 - t) x0 + t eps, dx_t/dt = eps - x0 (t grows toward noise)")
    if got.shape == x0.shape and torch.allclose(got, eps, atol=1e-6):
        return _say(False, "that is the diffusion target (the noise); the flow's target is the velocity along the line")
    ok = compare(got, eps - x0, "velocity target")
    if ok:
        print("   it does not depend on t: every point of the line moves at the same velocity.")
    return ok


def check_flow_wins(answer, results: dict, metric: str = "frechet") -> bool:
    """Lesson 07: the step counts at which flow-digits has the lower `metric` than ddpm-digits.

    results: {"flow-digits": {steps: DigitReport}, "ddpm-digits (DDIM)": {steps: DigitReport}}"""
    if not_answered(answer):
        return False
    flow_name = next(k for k in results if k.startswith("flow"))
    ddpm_name = next(k for k in results if k.startswith("ddpm"))
    right = sorted(s for s in results[flow_name]
                   if getattr(results[flow_name][s], metric) < getattr(results[ddpm_name][s], metric))
    try:
        given = sorted(int(s) for s in answer)
    except (TypeError, ValueError):
        return _say(False, "give a list of step counts, e.g. [1, 2]")
    if given == right:
        where = f"at {right} steps" if right else "at none of these step counts"
        return _say(True, f"flow matching has the lower {metric} {where} (measured in this run)")
    return _say(False, f"{given} is not what the table says: compare the two '{metric}' columns row by row")
