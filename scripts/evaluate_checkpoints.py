"""Measure a shipped checkpoint: its numbers go to assets/checkpoints/<name>/metrics.json and
its model card (README.md) is rendered from them by course_utils.cards.

    python scripts/evaluate_checkpoints.py ddpm-digits
    python scripts/evaluate_checkpoints.py vae-shapes
    python scripts/evaluate_checkpoints.py unet-shapes
    python scripts/evaluate_checkpoints.py flow-digits

Every number in a model card comes from this script or from the training script's
training_log.json; the card says on what machine and with how many threads it was measured."""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from course_utils import data, metrics, models
from course_utils.cards import render_card
from course_utils.paths import checkpoint_dir
from course_utils.registry import REGISTRY
from course_utils.train import atomic_file


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, {torch.get_num_threads()} threads"


JUDGE = """the digit judge of `course_utils.metrics` (an MLP classifier trained on 1,297 real digits, 0.97
accuracy on the other 500) reports its mean confidence, the classes that make up at least 2 % of
the samples, the entropy of the predicted classes (3.32 bits = all ten equally often), and the
Fréchet distance between its hidden features of the samples and of real digits (lower is better;
it grows as the sample shrinks, so compare at the same n)"""


def _row(name, r: metrics.DigitReport, seconds=None):
    t = "–" if seconds is None else (f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1000:.0f} ms")
    return f"| {name} | {r.confidence:.2f} | {r.classes_covered}/10 | {r.class_entropy:.2f} | {r.frechet:.1f} | {t} |"


def evaluate_ddpm(n: int = 500) -> str:
    from diffusers import DDIMScheduler

    from course_utils.diffusion import ddpm_sample
    from course_utils.noise import make_schedule

    pipe = models.load_pretrained("ddpm-digits")
    log = json.loads((checkpoint_dir("ddpm-digits") / "training_log.json").read_text())
    real, _ = metrics.heldout_digits()
    rows = [_row("real digits (held out)", metrics.judge_digits(real[:n])),
            _row("uniform noise", metrics.judge_digits(torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))))]
    reports = {}
    for label, steps in (("DDPM, 1000 steps", 1000), ("DDIM, 50 steps", 50), ("DDIM, 10 steps", 10)):
        t0 = time.perf_counter()
        g = torch.Generator().manual_seed(1)
        if steps == 1000:
            x, _ = ddpm_sample(pipe.unet, make_schedule("linear"), n, g)
            x = ((x + 1) / 2).clamp(0, 1)
        else:
            x = models.sample_diffusion(pipe.unet, DDIMScheduler.from_config(pipe.scheduler.config), n, steps, g)
        seconds = time.perf_counter() - t0
        reports[label] = metrics.judge_digits(x)
        rows.append(_row(label, reports[label], seconds))
        print(label, reports[label], f"{seconds:.1f} s")
    params = sum(p.numel() for p in pipe.unet.parameters())
    return f"""# ddpm-digits

A denoising diffusion model (DDPM) for scikit-learn's handwritten digits, used in
`notebooks/03_diffusion.ipynb` and lesson 00. A diffusers `UNet2DModel` ({params / 1e6:.2f} M parameters,
`block_out_channels=(32, 64, 64)`, attention at 4x4) predicts the noise in 16x16 images (the 8x8
digits upsampled by nearest neighbour), with a 1000-step linear schedule (beta 1e-4 to 0.02).
Saved as a `DDPMPipeline` (safetensors): `models.load_pretrained("ddpm-digits")`,
`models.sample("ddpm-digits", n, seed)` (DDIM, 50 steps by default).

## Training

| | |
|---|---|
| data | all 1,797 digits of `sklearn.datasets.load_digits`, scaled to [-1, 1] |
| objective | MSE between the true and predicted noise (Ho et al. 2020, Algorithm 1) |
| optimiser | AdamW, lr {log['lr']}, 100 warm-up steps then cosine decay to 10 %, batch {log['batch_size']} |
| steps | {log['steps']:,} (EMA of the weights, decay {log['ema']}) |
| wall-clock | {log['seconds'] / 60:.1f} min on {log['machine']}, {log['threads']} torch thread(s), while another training run shared the machine |
| seed | {log['seed']} |
| final loss | {log['final_loss_mean_last_200']:.4f} (mean of the last 200 steps) |

Rebuild: `python scripts/train_ddpm_digits.py` (add `--resume` to continue an interrupted run).

## Quality

Measured by `python scripts/evaluate_checkpoints.py ddpm-digits` on {machine()}: {JUDGE}.
{n} samples each, seed 1. Sampling times are for all {n} samples at once.

| samples | confidence | classes | class entropy (bits) | Fréchet distance | sampling time |
|---|---|---|---|---|---|
{chr(10).join(rows)}

## Limits

The digits are 8x8 scans; samples are 16x16 and look like the upsampled data. Some samples are
ambiguous strokes that the judge gives low confidence.
"""


def evaluate_rbm(n: int = 500) -> str:
    rbm = models.load_pretrained("rbm-digits")
    log = json.loads((checkpoint_dir("rbm-digits") / "training_log.json").read_text())
    real, _ = metrics.heldout_digits()
    v = data.digits(binary=True).images.reshape(-1, 64)
    rows = [_row("real digits (held out), binarised", metrics.judge_digits((real[:n] > 0.5).float())),
            _row("random bits, same density", metrics.judge_digits(
                (torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)) < v.mean()).float()))]
    for steps in (1000, 100):
        t0 = time.perf_counter()
        x = models.sample("rbm-digits", n, seed=1, steps=steps)
        seconds = time.perf_counter() - t0
        report = metrics.judge_digits(x)
        rows.append(_row(f"RBM, {steps} Gibbs steps from random bits", report, seconds))
        print(steps, report)
    pll = rbm.pseudo_log_likelihood(v).mean().item()
    mode = "persistent CD" if log["persistent"] else f"CD-{log['k']}"
    return f"""# rbm-digits

The Restricted Boltzmann Machine of `notebooks/01_rbm.ipynb`: our torch RBM
(`course_utils.models.rbm.RBM`), 64 binary visible units (8x8 pixels), 256 binary hidden units.
Weights in `model.safetensors` (`components_` = W, `intercept_hidden_` = c, `intercept_visible_` = b),
sizes in `config.json`. `models.load_pretrained("rbm-digits")`; `models.sample("rbm-digits", n, seed)`
runs 1000 Gibbs steps from random bits and returns p(v | h) of the last step, (n, 1, 8, 8) in [0, 1].

## Training

| | |
|---|---|
| data | all 1,797 digits of `sklearn.datasets.load_digits`, binarised (pixel > 0.5) |
| algorithm | {mode}, learning rate {log['lr']}, batch {log['batch_size']}, weights initialised N(0, 0.01) |
| epochs | {log['epochs']} |
| wall-clock | {log['seconds']:.1f} s on {log['machine']}, {log['threads']} torch thread, while two other training runs shared the 2 cores |
| seed | {log['seed']} |

This setting gave the best samples from random starts on this machine (persistent CD at lr 0.05
scores a better pseudo-likelihood but samples worse). Rebuild: `python scripts/train_rbm_digits.py`.

## Quality

Measured by `python scripts/evaluate_checkpoints.py rbm-digits` on {machine()}. Pseudo-log-likelihood
on the training digits (all 64 single-bit flips): {pll:.2f}. Samples: {JUDGE}. {n} samples each, seed 1.

| samples | confidence | classes | class entropy (bits) | Fréchet distance | sampling time |
|---|---|---|---|---|---|
{chr(10).join(rows)}

## Limits

Samples are digit-like and of every class, but blotchier than real digits; Gibbs chains mix slowly
(a chain stays on one digit for many steps). The judge was trained on grey-level digits, so even
real binarised digits score below real grey ones.
"""


def evaluate_gan(n: int = 500) -> str:
    G, D = models.load_pretrained("gan-digits")
    log = json.loads((checkpoint_dir("gan-digits") / "training_log.json").read_text())
    real, _ = metrics.heldout_digits()
    rows = [_row("real digits (held out)", metrics.judge_digits(real[:n])),
            _row("uniform noise", metrics.judge_digits(torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0))))]
    t0 = time.perf_counter()
    x = models.sample("gan-digits", n, seed=1)
    seconds = time.perf_counter() - t0
    report = metrics.judge_digits(x)
    rows.append(_row("gan-digits, one pass of G", report, seconds))
    print(report)
    with torch.no_grad():
        d_real = torch.sigmoid(D(real[:n].reshape(-1, 64) * 2 - 1)).mean().item()
        d_fake = torch.sigmoid(D(x.reshape(-1, 64) * 2 - 1)).mean().item()
    return f"""# gan-digits

The GAN of `notebooks/02_gan.ipynb`: two MLPs (`course_utils.models.gan`). Generator
z (32, N(0, I)) -> 256 -> 256 -> 64 pixels (LeakyReLU 0.2, tanh); discriminator 64 -> 256 -> 256 -> 1
(LeakyReLU 0.2, dropout 0.2). Weights in `generator.safetensors` and `discriminator.safetensors`,
sizes in `config.json`; `snapshots.safetensors` holds G's images of 16 fixed z every 250 steps of
training. `models.load_pretrained("gan-digits")` -> (G, D); `models.sample("gan-digits", n, seed)`
-> (n, 1, 8, 8) in [0, 1].

## Training

| | |
|---|---|
| data | all 1,797 digits of `sklearn.datasets.load_digits`, scaled to [-1, 1] |
| losses | D: binary cross-entropy, real label {log['real_label']} (one-sided smoothing); G: non-saturating, -log D(G(z)) |
| optimiser | Adam, lr {log['lr']}, betas {tuple(log['betas'])}, batch {log['batch_size']}, one D step then one G step |
| steps | {log['steps']:,} |
| wall-clock | {log['seconds']:.0f} s on {log['machine']}, {log['threads']} torch thread, while two other training runs shared the 2 cores |
| seed | {log['seed']} |

Rebuild: `python scripts/train_gan_digits.py`.

## Quality

Measured by `python scripts/evaluate_checkpoints.py gan-digits` on {machine()}: {JUDGE}.
{n} samples each, seed 1.

| samples | confidence | classes | class entropy (bits) | Fréchet distance | sampling time |
|---|---|---|---|---|---|
{chr(10).join(rows)}

The discriminator's mean output: {d_real:.2f} on real held-out digits, {d_fake:.2f} on G's samples
(0.5 would mean it can no longer tell them apart).

## Limits

A small MLP GAN: strokes are sometimes broken and some samples are ambiguous between classes.
With a 10x higher learning rate, beta1 = 0.9 and no dropout the same models collapse onto one or
two outputs (shown in the lesson).
"""


def evaluate_vae(n: int = 1000, seed: int = 2024) -> str:
    from collections import defaultdict

    from course_utils.models.vae import psnr, reconstruct

    vae = models.load_pretrained("vae-shapes")
    log = json.loads((checkpoint_dir("vae-shapes") / "training_log.json").read_text())
    batch = data.shapes_world(n, seed=seed)                     # seed 0 trained it; these are unseen
    t0 = time.perf_counter()
    recon = torch.cat([reconstruct(vae, batch.images[i:i + 100]) for i in range(0, n, 100)])
    seconds = time.perf_counter() - t0
    scores = psnr(recon, batch.images)
    groups = defaultdict(list)
    for score, scene in zip(scores.tolist(), batch.scenes):
        groups["background: " + scene.background].append(score)
        groups[f"{len(scene.objects)} object(s)"].append(score)
        for obj in scene.objects:
            groups["size: " + obj.size].append(score)
            groups["shape: " + obj.shape].append(score)
    rows = "\n".join(f"| {k} | {len(v)} | {sum(v) / len(v):.1f} | {min(v):.1f} |" for k, v in sorted(groups.items()))
    photos = torch.stack([data.photo(p, 64) for p in ("astronaut", "coffee", "chelsea")])
    photo_psnr = psnr(reconstruct(vae, photos), photos).tolist()
    params = sum(p.numel() for p in vae.parameters())
    curve = ", ".join(f"{s}: {v} dB" for s, v in log["psnr_unseen_256"])
    print(f"mean PSNR {scores.mean():.2f} dB")
    return f"""# vae-shapes

The VAE of `notebooks/05_vae.ipynb` and the image half of the course's Stable Diffusion
pipeline (lesson 06): a diffusers `AutoencoderKL` ({params / 1e6:.2f} M parameters,
`block_out_channels=(16, 32, 64, 64)`, one layer per block) that turns 64x64x3 images into 8x8x4
latents and back, the same 8x per side and 4 channels as Stable Diffusion's VAE (48x fewer numbers).
`models.load_pretrained("vae-shapes")`; `course_utils.models.vae.encode / decode / reconstruct`.

**Latent scaling factor: {vae.config.scaling_factor:.4f}** (stored in `config.json` as
`scaling_factor`): 1 / the standard deviation of sampled latents of 1,024 unseen scenes, computed
as Stable Diffusion's 0.18215 was. Multiply latents by it before diffusion, divide before decoding.

## Training

| | |
|---|---|
| data | Shapes World scenes of seed 0 (30 % with two objects), an endless stream: {log['steps'] * log['batch_size']:,} scenes, none seen twice |
| loss | MSE of the reconstruction in [-1, 1] + 1e-6 x KL(q(z given x) vs N(0, I)) per latent number |
| optimiser | AdamW, lr {log['lr']}, 200 warm-up steps then cosine decay to 5 %, batch {log['batch_size']}, gradients clipped at 1 |
| steps | {log['steps']:,} |
| wall-clock | {log['seconds'] / 60:.0f} min on {log['machine']}, {log['threads']} torch thread, sharing the 2 cores with other training runs |
| seed | {log['seed']} |
| PSNR on 256 unseen scenes during training | {curve} |

Rebuild: `python scripts/train_vae_shapes.py` (`--resume` continues an interrupted run).

## Quality

Measured by `python scripts/evaluate_checkpoints.py vae-shapes` on {machine()}: {n} freshly rendered
scenes of seed {seed} (never used in training), reconstructed from the mean of q(z given x).
PSNR = 10 log10(1 / MSE) per image, pixels in [0, 1]. Encoding + decoding took {1000 * seconds / n:.1f} ms per image.

**Mean PSNR: {scores.mean():.2f} dB** (median {scores.median():.2f}, worst {scores.min():.2f}).

| group | images | mean PSNR (dB) | worst (dB) |
|---|---|---|---|
{rows}

(A two-object scene counts in the size and shape rows of both its objects.)

## Limits

Trained only on flat shapes: real photos come back as smeared colour patches (astronaut,
coffee, chelsea at 64x64: {", ".join(f"{v:.1f}" for v in photo_psnr)} dB). Errors concentrate on
shape edges (see the error maps in lesson 05), so scenes with more edge (two objects, large
shapes) score lowest.
"""

def evaluate_unet(n: int = 300, seed: int = 2024) -> dict:
    """Prompt adherence of the course pipeline, read back from the pixels -> metrics.json."""
    from course_utils import pipelines

    pipe = pipelines.load_text_to_image(device="cpu")

    def measure(g, rescale=0.0, k=n, two=0.0, wording="heldout", steps=25):
        t0 = time.perf_counter()
        r = pipelines.measure_adherence(pipe, k, seed=seed, two_object_fraction=two, wording=wording,
                                        guidance_scale=g, guidance_rescale=rescale, num_inference_steps=steps)
        r |= {"guidance": g, "rescale": rescale, "steps": steps, "n": k, "wording": wording,
              "ms_per_image": round((time.perf_counter() - t0) / k * 1000, 1)}
        print(r, flush=True)
        return r

    single = [measure(g) for g in (1.0, 2.0, 3.0, 5.0, 7.5)]
    best = max(single[1:], key=lambda r: r["all"])["guidance"]          # best of the guided ones (w >= 2)
    return {
        "machine": machine(), "n": n, "seed": seed, "best_guidance": best,
        "params": sum(p.numel() for p in pipe.unet.parameters()),
        "file_mb": round((checkpoint_dir("unet-shapes") / "diffusion_pytorch_model.safetensors").stat().st_size / 1e6, 1),
        "example_heldout": data.shapes_scene(seed, 0, 0.0, "heldout").caption,
        "examples_freeform": [data.shapes_scene(seed, i, 0.0, "freeform").caption for i in range(4)],
        "example_two": data.shapes_scene(seed, 0, 1.0, "heldout").caption,
        "single": single,
        "rescaled": [measure(g, 0.7) for g in (3.0, 5.0, 7.5)],
        "freeform": [measure(g, k=n, wording="freeform", two=0.0) for g in (2.0, 5.0)],
        "two_objects": [measure(g, k=200, two=1.0) for g in (2.0, 5.0)],
        "training_wording": measure(best, wording="varied"),
        "steps": [measure(best, k=200, steps=k) for k in (10, 50)],
    }


def evaluate_flow(n: int = 500) -> str:
    log = json.loads((checkpoint_dir("flow-digits") / "training_log.json").read_text())
    ddpm_log = json.loads((checkpoint_dir("ddpm-digits") / "training_log.json").read_text())
    unet = models.load_pretrained("flow-digits")
    real, _ = metrics.heldout_digits()
    rows = [_row("real digits (held out)", metrics.judge_digits(real[:n]))]
    for steps in (1, 2, 4, 8, 50):
        for label, name in (("flow-digits, Euler", "flow-digits"), ("ddpm-digits, DDIM", "ddpm-digits")):
            t0 = time.perf_counter()
            x = models.sample(name, n, seed=1, steps=steps)
            seconds = time.perf_counter() - t0
            r = metrics.judge_digits(x)
            rows.append(_row(f"{label}, {steps} step{'s' if steps > 1 else ''}", r, seconds))
            print(rows[-1], flush=True)
    params = sum(p.numel() for p in unet.parameters())
    return f"""# flow-digits

The rectified-flow model of `notebooks/07_beyond.ipynb`: the same diffusers `UNet2DModel` as
`ddpm-digits` ({params / 1e6:.2f} M parameters, `block_out_channels=(32, 64, 64)`, attention at 4x4),
trained on the same 16x16 digits to predict the velocity eps - x0 along the straight line
x_t = (1 - t) x0 + t eps (t = 0 data, t = 1 noise; the U-Net's timestep input is 1000 t).
Sampling integrates dx/dt = v from t = 1 to 0 with equal Euler steps (`course_utils.flow.euler_sample`,
which matches diffusers' `FlowMatchEulerDiscreteScheduler` given the same times).
`models.load_pretrained("flow-digits")` (a `UNet2DModel`), `models.sample("flow-digits", n, seed, steps)`.

## Training

| | |
|---|---|
| data | all 1,797 digits of `sklearn.datasets.load_digits`, upsampled to 16x16, scaled to [-1, 1] |
| objective | MSE between eps - x0 and the predicted velocity, t ~ U(0, 1) (Liu et al. 2022; Lipman et al. 2022) |
| optimiser | AdamW, lr {log['lr']}, 100 warm-up steps then cosine decay to 10 %, batch {log['batch_size']} (as ddpm-digits) |
| steps | {log['steps']:,} (ddpm-digits: {ddpm_log['steps']:,}); EMA of the weights, decay {log['ema']} |
| wall-clock | {log['seconds'] / 60:.1f} min on {log['machine']}, {log['threads']} torch threads |
| seed | {log['seed']} |
| final loss | {log['final_loss_mean_last_200']:.4f} (mean of the last 200 steps; the velocity loss has a floor well above 0: many lines cross each point) |

Rebuild: `python scripts/train_flow_digits.py` (`--resume` continues an interrupted run).

## Quality against the number of steps, side by side with ddpm-digits

Measured by `python scripts/evaluate_checkpoints.py flow-digits` on {machine()}: {JUDGE}.
{n} samples each, seed 1; a "step" is one network evaluation for both models. Sampling times are
for all {n} samples at once (in the shipped card: on 1 thread while a training run used the other core).

| samples | confidence | classes | class entropy (bits) | Fréchet distance | sampling time |
|---|---|---|---|---|---|
{chr(10).join(rows)}

Note that ddpm-digits trained {ddpm_log['steps'] / log['steps']:.1f}x as many steps. One Euler step from pure noise
lands every sample on the same blurry average digit (the best single velocity at t = 1 points at
the mean of the data); from 2 steps on the samples are digits.
"""


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("name", choices=list(REGISTRY))
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--render", action="store_true", help="only render the card again from metrics.json")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = checkpoint_dir(args.name)
    if not args.render:
        result = globals()[REGISTRY[args.name].evaluation]()
        if isinstance(result, str):  # an evaluator that still writes its card directly
            atomic_file(folder / "README.md", lambda tmp: tmp.write_text(result))
            print(f"wrote {folder / 'README.md'}")
            return
        atomic_file(folder / "metrics.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1)))
    atomic_file(folder / "README.md", lambda tmp: tmp.write_text(render_card(args.name)))
    print(f"wrote {folder / 'metrics.json'} and {folder / 'README.md'}")


if __name__ == "__main__":
    main()
