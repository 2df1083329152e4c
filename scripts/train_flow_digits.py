"""Rebuild the `flow-digits` checkpoint of lesson 07 from scratch, with a fixed seed.

    python scripts/train_flow_digits.py                 # the shipped settings
    python scripts/train_flow_digits.py --resume        # go on from runs/flow-digits/state

The same diffusers UNet2DModel as `ddpm-digits` (lesson 03), the same data (scikit-learn's
digits upsampled 8x8 -> 16x16) and optimiser, but trained with the rectified-flow objective
of course_utils.flow: predict the velocity eps - x0 along the straight line between a digit and
its noise. The EMA weights are saved (safetensors) into assets/checkpoints/flow-digits."""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch

from course_utils import data
from course_utils.flow import flow_loss, unet_velocity
from course_utils.images import to_signed
from course_utils.models.ddpm import make_unet
from course_utils.paths import CHECKPOINTS, ROOT
from course_utils.train import (
    EMA,
    resume,
    save_checkpoint,
    save_training_state,
    train_loop,
    warmup_cosine,
)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2500)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--ema", type=float, default=0.995)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "flow-digits")
    p.add_argument("--state", type=Path, default=ROOT / "runs" / "flow-digits" / "state.safetensors")
    p.add_argument("--resume", action="store_true")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    x_all = to_signed(data.digits(16).images)                      # (1797, 1, 16, 16) in [-1, 1]
    unet = make_unet()
    velocity = unet_velocity(unet)
    ema = EMA(unet, args.ema)
    opt = torch.optim.AdamW(unet.parameters(), lr=args.lr, weight_decay=0.0)
    sched = warmup_cosine(opt, warmup=100, total=args.steps, floor=0.1)
    gen = torch.Generator().manual_seed(args.seed)
    start, elapsed = 0, 0.0
    if args.resume:
        start, extra = resume(args.state, unet, opt, sched, ema)
        elapsed = extra.get("seconds", 0.0)
        gen.manual_seed(args.seed + start)

    t0 = time.perf_counter()

    def step(i):
        idx = torch.randint(0, len(x_all), (args.batch_size,), generator=gen)
        loss = flow_loss(velocity, x_all[idx], generator=gen)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        ema.update(unet)
        return loss.item()

    def checkpoint(i, losses):
        save_training_state(args.state, unet, opt, i, ema, extra={"seconds": elapsed + time.perf_counter() - t0})

    losses = train_loop(step, args.steps, every=500, callback=checkpoint, desc="flow-digits", start=start)
    seconds = elapsed + time.perf_counter() - t0
    ema.copy_to(unet)
    log = {"steps": args.steps, "batch_size": args.batch_size, "lr": args.lr, "ema": args.ema,
           "seed": args.seed, "seconds": round(seconds, 1), "threads": torch.get_num_threads(),
           "machine": platform.machine(), "objective": "rectified flow, velocity eps - x0",
           "final_loss_mean_last_200": sum(losses[-200:]) / max(1, len(losses[-200:])),
           "loss_every_50": [round(sum(losses[i:i + 50]) / len(losses[i:i + 50]), 4)
                             for i in range(0, len(losses), 50)], "resumed_at": start}
    save_checkpoint(args.out, lambda tmp: unet.save_pretrained(tmp, safe_serialization=True), log)
    print(f"saved {args.out} after {args.steps} steps in {seconds / 60:.1f} min")


if __name__ == "__main__":
    main()
