"""Measure a shipped checkpoint: its numbers go to assets/checkpoints/<name>/metrics.json and
its model card (README.md) is rendered from them by course_utils.cards.

    python scripts/evaluate_checkpoints.py ddpm-digits
    python scripts/evaluate_checkpoints.py vae-shapes
    python scripts/evaluate_checkpoints.py unet-shapes
    python scripts/evaluate_checkpoints.py unet-shapes --separation   # only its two-object lever, into metrics.json
    python scripts/evaluate_checkpoints.py unet-shapes --levers apg   # APG's selection rows again, into metrics.json
    python scripts/evaluate_checkpoints.py flow-digits
    python scripts/evaluate_checkpoints.py lora-teal --high-guidance  # only teal at w = 5, with the lever chosen for it
    python scripts/evaluate_checkpoints.py lora-teal --select runs/trial   # a training trial on selection prompts

Every number in a model card comes from this script or from the training script's
training_log.json; the card says on what machine and with how many threads it was measured.
The measurements themselves are course_utils.evaluation's (the registry names each card's), so
notebooks and tests can call them too; this file is only the command line."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from course_utils.cards import render_card
from course_utils.evaluation import _cpu_seconds, host
from course_utils.paths import checkpoint_dir
from course_utils.registry import REGISTRY
from course_utils.train import atomic_file


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("name", choices=list(REGISTRY))
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--render", action="store_true", help="only render the card again from the JSON files (metrics.json, training_log.json, experiments.json, ...); measures nothing")
    p.add_argument("--compare-with", type=Path, nargs="+", default=None, metavar="FOLDER",
                   help="unet-shapes only: measure this other U-Net folder (and, second, the VAE folder it was "
                        "trained on) on the same prompts too")
    p.add_argument("--separation", action="store_true",
                   help="unet-shapes only: measure attention separation (evaluation.evaluate_separation, about 15 min on "
                        "one thread) and keep it in the existing metrics.json under 'separation'")
    p.add_argument("--levers", nargs="+", default=None, metavar="LEVER",
                   help="unet-shapes only: measure these sampling levers (e.g. apg) on the selection set again with "
                        "today's code (evaluation.remeasure_levers) and put their rows in place of the old ones in "
                        "metrics.json")
    p.add_argument("--high-guidance", action="store_true",
                   help="lora-teal only: measure teal at w = 5 with plain CFG and with the sampling lever chosen on "
                        "selection prompts (evaluation.evaluate_lora_high_guidance, about 12 min on one thread) and keep "
                        "it in the existing metrics.json under 'high_guidance'")
    p.add_argument("--select", type=Path, default=None, metavar="FOLDER",
                   help="lora-teal only: score a trial of scripts/train_lora_teal.py (its --out folder) on selection "
                        "prompts of another seed than the card's (evaluation.lora_selection, about 6 min on one thread), into "
                        "FOLDER/selection.json; the shipped card is left alone")
    args = p.parse_args()
    if args.select is not None:
        if args.name != "lora-teal":
            p.error("--select scores a lora-teal trial; name lora-teal")
        if args.threads:
            torch.set_num_threads(args.threads)
        from course_utils.evaluation import lora_selection

        before, t0 = _cpu_seconds(), time.perf_counter()
        result = lora_selection(args.select)
        result = {"host": host(before, time.perf_counter() - t0), **result}
        atomic_file(args.select / "selection.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1) + "\n"))
        change = result["old_change"]["all"]
        print(f"{args.select}: teal {result['teal']['k']}/{result['n']}, old all four {result['old_all']['k']}/{result['n_old']} "
              f"(base {result['base_old_all']['k']}), change {100 * change['difference']:+.1f} points "
              f"({100 * change['low']:+.1f} to {100 * change['high']:+.1f})")
        return
    if args.high_guidance and args.name != "lora-teal":
        p.error("--high-guidance measures lora-teal at w = 5; name lora-teal")
    if (args.separation or args.levers) and args.name != "unet-shapes":
        p.error("--separation and --levers measure unet-shapes' sampling levers; name unet-shapes")
    if args.threads:
        torch.set_num_threads(args.threads)
    folder = checkpoint_dir(args.name)
    if not args.render:
        before, t0 = _cpu_seconds(), time.perf_counter()
        if args.compare_with and len(args.compare_with) > 2:
            p.error("--compare-with takes a U-Net folder and, optionally, its VAE folder")
        extra = {"compare_with": tuple(args.compare_with)} if args.compare_with else {}
        if args.levers:
            from course_utils.evaluation import remeasure_levers

            result = remeasure_levers(json.loads((folder / "metrics.json").read_text()), args.levers)
            result["selection"]["host"] = host(before, time.perf_counter() - t0)
        elif args.high_guidance:
            from course_utils.evaluation import evaluate_lora_high_guidance

            part = evaluate_lora_high_guidance()
            result = json.loads((folder / "metrics.json").read_text())    # read after measuring: a full run may have rewritten it
            result["high_guidance"] = {"host": host(before, time.perf_counter() - t0), **part}
        elif args.separation:
            from course_utils.evaluation import evaluate_separation

            result = json.loads((folder / "metrics.json").read_text())
            part = evaluate_separation()
            result["separation"] = {"host": host(before, time.perf_counter() - t0), **part}
        else:
            result = REGISTRY[args.name].evaluate(**extra)
            result = {"host": host(before, time.perf_counter() - t0), **result}
        atomic_file(folder / "metrics.json", lambda tmp: tmp.write_text(json.dumps(result, indent=1) + "\n"))
    atomic_file(folder / "README.md", lambda tmp: tmp.write_text(render_card(args.name)))
    print(f"wrote {folder / 'README.md'}" if args.render else f"wrote {folder / 'metrics.json'} and {folder / 'README.md'}")


if __name__ == "__main__":
    main()
