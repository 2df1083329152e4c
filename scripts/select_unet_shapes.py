"""Measure a candidate `unet-shapes` against the shipped one on the selection set, on the same prompts,
and apply the choice rule of scripts/sweep_unet_shapes.py: how a run trained on the CPU (issue 25's
second cool-down, for example) is chosen or not before the model card measures anything.

    python scripts/select_unet_shapes.py runs/v3b/out --out runs/v3b/selection.json
    python scripts/select_unet_shapes.py runs/v3b/snapshot --n 8 --out /tmp/sel.json     # a smoke run

Both U-Nets draw the same --n two-object and --n one-object selection prompts (never the card's report
prompts, evaluation.prompt_set) at w = 2 and 5, 25 DDIM steps, with the VAE the candidate was trained
on. Each row is a rate with its 95 % interval; each pair of rows on the same prompts also gets the exact
McNemar test (evaluation.compare). The rule, as the sweep's: the candidate is chosen when its one-object
"all four" mean is no more than 2 points below the shipped model's and its two-object mean is above the
shipped model's. The JSON keeps every row, the tests and the verdict."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course_utils.paths import CHECKPOINTS  # noqa: E402

GUIDANCES = (2.0, 5.0)


def measure_rows(folder: Path, vae: Path, n: int) -> dict:
    """{(two_objects, w): evaluation.measure row} for one U-Net on the selection set."""
    from course_utils import evaluation

    pipe = evaluation.text_to_image_pipeline(folder, vae)
    rows = {}
    for two in (True, False):
        scenes = evaluation.prompt_set("selection", n, 1.0 if two else 0.0)
        for w in GUIDANCES:
            rows[two, w] = evaluation.measure(pipe, scenes, guidance_scale=w, num_inference_steps=25)
    return rows


def key_of(two: bool) -> str:
    return "both_objects" if two else "all"


def mean(rows: dict, two: bool) -> float:
    return sum(rows[two, w]["rates"][key_of(two)]["rate"] for w in GUIDANCES) / len(GUIDANCES)


def verdict(candidate: dict, shipped: dict) -> dict:
    """The sweep's rule on the two models' means; True when the candidate is chosen."""
    c_two, c_one, s_two, s_one = mean(candidate, True), mean(candidate, False), mean(shipped, True), mean(shipped, False)
    keeps_one = c_one >= s_one - 0.02
    return {"candidate": {"two_objects_mean": round(c_two, 4), "one_object_all_mean": round(c_one, 4)},
            "shipped": {"two_objects_mean": round(s_two, 4), "one_object_all_mean": round(s_one, 4)},
            "keeps_one_object": keeps_one, "better_two_objects": c_two > s_two, "chosen": keeps_one and c_two > s_two}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("candidate", type=Path, help="a U-Net folder (config.json and its safetensors)")
    p.add_argument("--shipped", type=Path, default=CHECKPOINTS / "unet-shapes")
    p.add_argument("--vae", type=Path, default=CHECKPOINTS / "vae-shapes")
    p.add_argument("--n", type=int, default=200, help="prompts per row")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--out", type=Path, required=True, help="the JSON record")
    args = p.parse_args(argv)
    for folder in (args.candidate, args.shipped, args.vae):
        if not (folder / "config.json").exists():
            raise SystemExit(f"{folder} is not a model folder (no config.json)")
    import torch

    from course_utils import evaluation
    from course_utils.stats import Rate
    from course_utils.train import atomic_file

    if args.threads:
        torch.set_num_threads(args.threads)
    t0 = time.time()
    rows = {name: measure_rows(folder, args.vae, args.n) for name, folder in
            (("candidate", args.candidate), ("shipped", args.shipped))}
    table = []
    for (two, w), row in rows["candidate"].items():
        key, other = key_of(two), rows["shipped"][two, w]
        test = evaluation.compare(row, other, key)
        table.append({"two_objects": two, "guidance": w, "key": key, "n": row["n"],
                      "candidate": row["rates"][key], "shipped": other["rates"][key],
                      "candidate_only": test["a_only"], "shipped_only": test["b_only"], "p": test["p"]})
        rate = lambda r: Rate(r["k"], r["n"])  # noqa: E731
        print(f"{'two objects' if two else 'one object, all four'} w = {w:g}: candidate {rate(row['rates'][key])}, "
              f"shipped {rate(other['rates'][key])}; right only with the candidate on {test['a_only']}, only with the "
              f"shipped on {test['b_only']} (McNemar p = {test['p']:.3g})", flush=True)
    record = {"candidate": str(args.candidate), "shipped": str(args.shipped), "vae": str(args.vae), "n": args.n,
              "guidances": list(GUIDANCES), "steps": 25, "set": "selection", "rows": table,
              "verdict": verdict(rows["candidate"], rows["shipped"]), "seconds": round(time.time() - t0, 1),
              "threads": torch.get_num_threads()}
    atomic_file(args.out, lambda tmp: Path(tmp).write_text(json.dumps(record, indent=1)))
    print(f"verdict: {'chosen' if record['verdict']['chosen'] else 'not chosen'} ({record['verdict']})")


if __name__ == "__main__":
    main()
