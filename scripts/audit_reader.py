"""Check the pixel reader (course_utils.shapes_reader.read_scene) by eye, on pictures a text-to-image
model drew, and write the result next to the model: <checkpoint>/reader_audit.json.

    python scripts/audit_reader.py draw  --out runs/audit            # pictures, grids to label, the reader's readings
    python scripts/audit_reader.py merge --out runs/audit --labels runs/audit/labels.txt

`draw` generates the first --single one-object and --two two-object prompts of the report set
(course_utils.evaluation.prompt_set) with the shipped pipeline, writes grids of ten pictures at
256x256 with the position boundaries (0.375 and 0.625 of the side) and a small-size box drawn on
them (grid0.png ...), and the reader's readings (reader.json). A person then writes one line per
picture into a labels file, without looking at reader.json:

    index|background|colour shape size position[;colour shape size position ...]|uncertain|note
    0|black|orange square small bottom right||
    8|white|yellow circle small top right|0.shape|a rounded diamond: circle or square

("uncertain" lists what could not be decided by eye, e.g. "1.colour"; it is not counted).
`merge` checks every label against Shapes World's words and writes reader_audit.json with the
summary of course_utils.evaluation.reader_audit; the model card renders it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from course_utils import evaluation
from course_utils.adherence import generate
from course_utils.paths import checkpoint_dir
from course_utils.shapes import COLOURS, POSITIONS, SHAPES, SIZES
from course_utils.shapes_reader import read_scene
from course_utils.train import atomic_file

KEYS = ("colour", "shape", "size", "position")


def draw(args):
    from PIL import Image, ImageDraw

    args.out.mkdir(parents=True, exist_ok=True)
    scenes = evaluation.prompt_set("report", args.single, 0.0) + evaluation.prompt_set("report", args.two, 1.0)
    pipe = evaluation.text_to_image_pipeline()
    images = generate(pipe, [s.caption for s in scenes], seed=args.seed, guidance_scale=args.guidance,
                      num_inference_steps=args.steps)
    rows = []
    for i, (image, scene) in enumerate(zip(images, scenes)):
        bg, found = read_scene(image)
        rows.append({"i": i, "prompt": scene.caption,
                     "reader": {"background": bg, "objects": [{k: getattr(o, k) for k in KEYS} for o in found]}})
    (args.out / "reader.json").write_text(json.dumps(rows, indent=1))
    for b in range(0, len(images), 10):
        canvas = Image.new("RGB", (5 * 260, 2 * 280), "white")
        pen = ImageDraw.Draw(canvas)
        for j, i in enumerate(range(b, min(b + 10, len(images)))):
            ox, oy = (j % 5) * 260, (j // 5) * 280 + 20
            pixels = (images[i].permute(1, 2, 0).numpy() * 255).astype("uint8")
            canvas.paste(Image.fromarray(pixels).resize((256, 256), Image.NEAREST), (ox, oy))
            pen.text((ox + 4, oy - 16), f"#{i}", fill="black")
            for f in (0.375, 0.625):
                pen.line([(ox + f * 256, oy), (ox + f * 256, oy + 256)], fill=(255, 0, 255))
                pen.line([(ox, oy + f * 256), (ox + 256, oy + f * 256)], fill=(255, 0, 255))
            side = SIZES["small"] * 256
            pen.rectangle([ox + 2, oy + 2, ox + 2 + side, oy + 2 + side], outline=(0, 255, 255))
        canvas.save(args.out / f"grid{b // 10}.png")
    print(f"wrote {len(images)} pictures' grids and reader.json to {args.out}; label them in a labels file")


def merge(args):
    reader = json.loads((args.out / "reader.json").read_text())
    pictures = []
    for n, line in enumerate(args.labels.read_text().splitlines(), 1):
        if not line.strip():
            continue
        i, bg, objs, unsure, note = line.split("|")
        objects = []
        for o in objs.split(";"):
            w = o.split()
            label = {"colour": w[0], "shape": w[1], "size": w[2], "position": " ".join(w[3:])}
            if (label["colour"] not in COLOURS or label["shape"] not in SHAPES or label["size"] not in SIZES
                    or label["position"] not in POSITIONS):
                raise SystemExit(f"{args.labels}:{n}: {o!r} is not 'colour shape size position' in Shapes World's words")
            objects.append(label)
        r = reader[int(i)]
        pictures.append({"i": int(i), "prompt": r["prompt"], "reader": r["reader"],
                         "truth": {"background": bg, "objects": objects},
                         "uncertain": [u for u in unsure.split(",") if u], "note": note})
    audit = {"what": "the pixel reader (course_utils.shapes_reader.read_scene) against a person's reading of the same generated pictures",
             "model": args.model, "set": "report", "single": args.single, "two_object": args.two,
             "guidance_scale": args.guidance, "num_inference_steps": args.steps, "seed": args.seed,
             "how": "scripts/audit_reader.py: each picture viewed at 256x256 with the position boundaries and a "
                    "small-size box drawn on it, labelled by eye before comparing with the reader; what could not be "
                    "decided by eye is listed as uncertain and not counted",
             "labelled": args.labelled, "pictures": pictures}
    audit["summary"] = {k: v for k, v in evaluation.reader_audit(audit).items() if k != "disagreements"}
    path = checkpoint_dir("unet-shapes") / "reader_audit.json"
    atomic_file(path, lambda tmp: tmp.write_text(json.dumps(audit, indent=1) + "\n"))
    print(json.dumps(audit["summary"], indent=1))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=("draw", "merge"))
    p.add_argument("--out", type=Path, default=Path("runs/audit"))
    p.add_argument("--labels", type=Path)
    p.add_argument("--single", type=int, default=25)
    p.add_argument("--two", type=int, default=25)
    p.add_argument("--guidance", type=float, default=2.0)
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model", default="unet-shapes (assets/checkpoints/unet-shapes), vae-shapes as shipped")
    p.add_argument("--labelled", default="by eye, by someone who saw the prompts")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    if args.mode == "merge" and args.labels is None:
        raise SystemExit("merge needs --labels: the file of one line per picture (see this script's help)")
    draw(args) if args.mode == "draw" else merge(args)


if __name__ == "__main__":
    main()
