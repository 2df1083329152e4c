"""Rebuild the `rbm-digits` checkpoint of lesson 01 from scratch, with a fixed seed.

    python scripts/train_rbm_digits.py

Our torch RBM (course_utils.models.rbm), 64 visible and 256 hidden units, trained on all
1,797 binarised digits by CD-1 (learning rate 0.01, batch 10, weights initialised N(0, 0.01)),
the setting that gave the best samples from random starts on this machine. Saved as
safetensors + config.json into assets/checkpoints/rbm-digits. Takes seconds."""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from safetensors.torch import save_file
from tqdm.auto import tqdm

from course_utils import data
from course_utils.models.rbm import RBM
from course_utils.paths import CHECKPOINTS
from course_utils.train import save_checkpoint


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--epochs", type=int, default=600)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--batch-size", type=int, default=10)
    p.add_argument("--k", type=int, default=1, help="Gibbs steps per update (CD-k)")
    p.add_argument("--persistent", action="store_true", help="persistent CD instead of CD-k")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=CHECKPOINTS / "rbm-digits")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    g = torch.Generator().manual_seed(args.seed)
    v = data.digits(binary=True).images.reshape(-1, 64)
    rbm = RBM(64, args.hidden, generator=g)
    bar = tqdm(total=args.epochs, desc="rbm-digits")
    errors = []

    def progress(epoch, model):
        bar.update(1)
        if epoch % 50 == 0 or epoch == args.epochs:
            errors.append((epoch, round(model.reconstruction_error(v), 5)))
            bar.set_postfix(recon_error=errors[-1][1])

    t0 = time.perf_counter()
    rbm.fit(v, args.epochs, args.lr, args.batch_size, args.k, args.persistent, g, progress, track_error=False)
    seconds = time.perf_counter() - t0
    bar.close()
    config = {"n_visible": 64, "n_hidden": args.hidden}
    log = {"epochs": args.epochs, "lr": args.lr, "batch_size": args.batch_size, "k": args.k,
           "persistent": args.persistent, "seed": args.seed, "seconds": round(seconds, 1),
           "threads": args.threads, "machine": platform.machine(), "reconstruction_error": errors}

    def write(tmp):
        save_file({k: t.contiguous() for k, t in rbm.state_dict().items()}, str(tmp / "model.safetensors"))
        (tmp / "config.json").write_text(json.dumps(config, indent=1))

    save_checkpoint(args.out, write, log)
    print(f"saved {args.out}: {args.epochs} epochs in {seconds:.1f} s")


if __name__ == "__main__":
    main()
