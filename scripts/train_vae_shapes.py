"""Rebuild the `vae-shapes` checkpoint (lessons 05-06) from scratch, with a fixed seed.

    python scripts/train_vae_shapes.py                  # the shipped settings
    python scripts/train_vae_shapes.py --resume         # go on from runs/vae-shapes/state

An AutoencoderKL (64x64x3 <-> 8x8x4) learns to reconstruct Shapes World scenes (seed 0, an
endless stream: no scene is seen twice), with MSE + 1e-6 KL. Every --eval-every steps it
prints the PSNR on 256 scenes it never trains on (seed 1). At the end it measures the latent
scaling factor (1 / std of the latents, as Stable Diffusion's 0.18215 was) and saves the
model as safetensors into assets/checkpoints/vae-shapes."""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from course_utils import data
from course_utils.images import to_signed
from course_utils.models.vae import make_vae, psnr, vae_loss
from course_utils.paths import CHECKPOINTS, ROOT
from course_utils.train import (
    resume,
    save_checkpoint,
    save_training_state,
    train_loop,
    warmup_cosine,
)

EVAL_SEED = 1  # scenes of seed 1 are never used for training (seed 0)


@torch.no_grad()
def evaluate(vae, n: int = 256, seed: int = EVAL_SEED, batch: int = 64) -> float:
    vae.eval()
    scores = []
    for start in range(0, n, batch):
        x = data.shapes_world(min(batch, n - start), seed=seed, start=start).images
        recon = vae.decode(vae.encode(to_signed(x)).latent_dist.mode()).sample
        scores.append(psnr(((recon + 1) / 2).clamp(0, 1), x))
    vae.train()
    return torch.cat(scores).mean().item()


@torch.no_grad()
def scaling_factor(vae, n: int = 1024, seed: int = EVAL_SEED) -> float:
    x = to_signed(data.shapes_world(n, seed=seed).images)
    z = torch.cat([vae.encode(x[i:i + 128]).latent_dist.sample(generator=torch.Generator().manual_seed(i))
                   for i in range(0, n, 128)])
    return 1.0 / z.std().item()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "vae-shapes")
    p.add_argument("--state", type=Path, default=ROOT / "runs" / "vae-shapes" / "state.safetensors")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    vae = make_vae()
    opt = torch.optim.AdamW(vae.parameters(), lr=args.lr, weight_decay=0.0)
    sched = warmup_cosine(opt, warmup=200, total=args.steps, floor=0.05)
    gen = torch.Generator().manual_seed(args.seed)
    start, elapsed, history = 0, 0.0, []
    if args.resume:
        start, extra = resume(args.state, vae, opt, sched)
        elapsed, history = extra.get("seconds", 0.0), extra.get("psnr", [])
        gen.manual_seed(args.seed + start)
    t0 = time.perf_counter()

    def step(i):
        x = to_signed(data.shapes_world(args.batch_size, seed=args.seed, start=i * args.batch_size).images)
        loss, mse, kl = vae_loss(vae, x, generator=gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(vae.parameters(), 1.0)
        opt.step()
        sched.step()
        return mse.item()

    def checkpoint(i, losses):
        if i % args.eval_every == 0:
            history.append((i, round(evaluate(vae), 2)))
            print(f"\nstep {i}: PSNR {history[-1][1]:.2f} dB on unseen scenes", flush=True)
        save_training_state(args.state, vae, opt, i,
                            extra={"seconds": elapsed + time.perf_counter() - t0, "psnr": history})

    losses = train_loop(step, args.steps, every=500, callback=checkpoint, desc="vae-shapes", start=start)
    seconds = elapsed + time.perf_counter() - t0
    vae.eval()
    factor = scaling_factor(vae)
    vae.register_to_config(scaling_factor=factor)
    log = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
           "seconds": round(seconds, 1), "threads": torch.get_num_threads(), "machine": platform.machine(),
           "psnr_unseen_256": history, "scaling_factor": factor,
           "mse_every_100": [round(sum(losses[i:i + 100]) / len(losses[i:i + 100]), 5)
                             for i in range(0, len(losses), 100)], "resumed_at": start}

    save_checkpoint(args.out, lambda tmp: vae.save_pretrained(tmp, safe_serialization=True), log)
    print(f"saved {args.out}: {args.steps} steps in {seconds / 60:.1f} min, scaling factor {factor:.4f}")


if __name__ == "__main__":
    main()
