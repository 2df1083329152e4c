"""How many steps lesson 03's live demo trains in its presenter-mode 15 s, on 1 and on 2 torch threads,
on a quiet machine and beside a busy neighbour (issue 30: a demo that trains 4 steps is no demo).

    python benchmarks/bench_live_demo.py [--seconds 15]

The step is lesson 03's (its U-Net, batch 16 of 16x16 digits, AdamW). Each setting runs in turns in one
process: 1 thread, 2 threads, 1, 2. The busy neighbour is a second process doing float32 matrix products
on 2 threads, as another notebook computing or a training run would; it starts before and stops after
its two settings. Prints the steps of each run and the ratio 1 thread / 2 threads for each condition.
`train.live_training` trains on 1 thread in presenter mode (COURSE_FAST=1) because of this measurement."""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import time

import torch


def busy(stop) -> None:
    torch.set_num_threads(2)
    a = torch.randn(512, 512)
    while not stop.is_set():
        a = (a @ a).tanh()


def make_step():
    from course_utils import data, noise
    from course_utils.images import to_signed
    from course_utils.models.ddpm import make_unet

    schedule = noise.make_schedule("linear", num_timesteps=1000)
    digits16 = to_signed(data.digits(16).images)
    torch.manual_seed(0)
    unet = make_unet()
    opt = torch.optim.AdamW(unet.parameters(), lr=1e-3)

    def step():
        x0 = digits16[torch.randint(0, len(digits16), (16,))]
        t = torch.randint(0, 1000, (16,))
        eps = torch.randn_like(x0)
        loss = torch.nn.functional.mse_loss(unet(noise.add_noise(x0, eps, t, schedule), t).sample, eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def steps_in(step, threads: int, seconds: float) -> int:
    torch.set_num_threads(threads)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds:
        step()
        n += 1
    return n


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=15.0)
    args = p.parse_args(argv)
    step = make_step()
    step()                                                     # first-call costs out of the count
    print(f"{os.cpu_count()} CPU cores, torch {torch.__version__}; {args.seconds:g} s a run; load before "
          f"{os.getloadavg()[0]:.1f}")
    ctx = mp.get_context("spawn")
    for condition in ("quiet", "busy neighbour"):
        stop, neighbour = ctx.Event(), None
        if condition != "quiet":
            neighbour = ctx.Process(target=busy, args=(stop,), daemon=True)
            neighbour.start()
            time.sleep(2)
        counts = {1: [], 2: []}
        for threads in (1, 2, 1, 2):
            counts[threads].append(steps_in(step, threads, args.seconds))
        if neighbour is not None:
            stop.set()
            neighbour.join(10)
        one, two = sum(counts[1]) / 2, sum(counts[2]) / 2
        print(f"{condition:>15}: 1 thread {counts[1]} steps, 2 threads {counts[2]} steps; "
              f"1 thread / 2 threads = {one / max(two, 1):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
