"""Rebuild the `gan-digits` checkpoint of lesson 02 from scratch, with a fixed seed.

    python scripts/train_gan_digits.py

Two MLPs (course_utils.models.gan): G z=32 -> 256 -> 256 -> 64, D 64 -> 256 -> 256 -> 1 with
dropout 0.2; Adam 2e-4, betas (0.5, 0.999), batch 64, non-saturating loss, real label 0.9,
on the 1,797 digits scaled to [-1, 1]. Saves G and D (safetensors), a config, the loss curves,
and G's samples of 16 fixed z every 250 steps (snapshots.safetensors, for the lesson's slider)."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from safetensors.torch import save_file

from course_utils import data
from course_utils.models.gan import Z_DIM, make_discriminator, make_generator, train_gan
from course_utils.paths import CHECKPOINTS
from course_utils.train import save_checkpoint


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=10000)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "gan-digits")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)                                   # initial weights
    g = torch.Generator().manual_seed(args.seed)                   # batches and noise
    x = data.digits().images.reshape(-1, 64) * 2 - 1
    G, D = make_generator(), make_discriminator()
    fixed_z = torch.randn(16, Z_DIM, generator=torch.Generator().manual_seed(1234))
    t0 = time.perf_counter()
    run = train_gan(G, D, x, args.steps, lr=args.lr, batch_size=args.batch_size, generator=g,
                    snapshot_every=250, fixed_z=fixed_z)
    seconds = time.perf_counter() - t0
    config = {"z_dim": Z_DIM, "hidden": 256, "dropout": 0.2}
    log = {"steps": args.steps, "lr": args.lr, "batch_size": args.batch_size, "betas": [0.5, 0.999],
           "real_label": 0.9, "seed": args.seed, "seconds": round(seconds, 1), "threads": args.threads,
           "machine": platform.machine(),
           "d_loss_every_100": [round(sum(run.d_losses[i:i + 100]) / 100, 4) for i in range(0, args.steps, 100)],
           "g_loss_every_100": [round(sum(run.g_losses[i:i + 100]) / 100, 4) for i in range(0, args.steps, 100)]}

    def write(tmp):
        save_file({k: v.contiguous() for k, v in G.state_dict().items()}, str(tmp / "generator.safetensors"))
        save_file({k: v.contiguous() for k, v in D.state_dict().items()}, str(tmp / "discriminator.safetensors"))
        save_file({"images": torch.stack([s for _, s in run.snapshots]).contiguous(),
                   "steps": torch.tensor([k for k, _ in run.snapshots]), "z": fixed_z},
                  str(tmp / "snapshots.safetensors"))
        (tmp / "config.json").write_text(json.dumps(config, indent=1))

    save_checkpoint(args.out, write, log)
    print(f"saved {args.out}: {args.steps} steps in {seconds:.0f} s")


if __name__ == "__main__":
    main()
