"""Measuring a text-to-image pipeline: how well its pictures follow their prompts (lessons 06 and 08).

- `generate`: pictures for a list of prompts, seeded batch by batch, as tensors in [0, 1];
- `measure_adherence`: pictures for n Shapes World prompts, read back from the pixels
  (shapes_reader.adherence);
- `adherence`: the same measured live, or, in presenter mode, what the model card recorded for the
  same settings (recorded.adherence), instantly.

The pipeline comes from pipelines.load_text_to_image; this module only uses it. The prompt sets
and the cards' measurements are in evaluation.py.

Example: adherence(pipe, 24, guidance_scale=5.0)['colour']   # the share of 24 read back in the asked colour"""

from __future__ import annotations

import torch

from . import validate as v
from .pipeline_inputs import check_pipe, own_arguments


@torch.no_grad()
def generate(pipe, prompts, seed: int = 0, batch_size: int = 64, **kwargs) -> torch.Tensor:
    """Images for a list of prompts, (N, 3, H, W) in [0, 1]; batch i uses generator seed + i.

    Example: generate(pipe, ["a red circle", "a blue star"], guidance_scale=5, num_inference_steps=25)"""
    check_pipe(pipe)
    prompts = v.texts("prompts", prompts)
    seed, batch_size = v.whole("seed", seed, 0, 2**62), v.whole("batch_size", batch_size, 1, v.MAX_IMAGES)
    own_arguments("generate", kwargs, "prompt", "generator", "output_type")
    kwargs.setdefault("num_inference_steps", 25)
    out = []
    for i, start in enumerate(range(0, len(prompts), batch_size)):
        g = torch.Generator().manual_seed(seed + i)
        out.append(pipe(prompts[start:start + batch_size], generator=g, output_type="pt", **kwargs).images.cpu())
    return torch.cat(out)


def measure_adherence(pipe, n: int = 200, seed: int = 2024, two_object_fraction: float = 0.0,
                      wording: str = "heldout", **kwargs) -> dict:
    """Generate from n Shapes World prompts (seed 2024: scenes never trained on; 'heldout'
    wordings the model never read) and read the pictures back: shapes_reader.adherence's dict.

    Example: measure_adherence(pipe, 48, guidance_scale=5)['colour'] -> 0.98"""
    from . import data, shapes_reader
    from .shapes import WORDINGS

    check_pipe(pipe)
    n, seed = v.whole("n", n, 1, v.MAX_IMAGES), v.whole("seed", seed, 0, 2**62)
    v.number("two_object_fraction", two_object_fraction, 0.0, 1.0)
    v.one_of("wording", wording, WORDINGS)
    scenes = [data.shapes_scene(seed, i, two_object_fraction, wording) for i in range(n)]
    images = generate(pipe, [s.caption for s in scenes], **kwargs)
    return shapes_reader.adherence(images, scenes)


def adherence(pipe, n: int, live: bool = True, **kwargs) -> dict:
    """measure_adherence(pipe, n, **kwargs) plus 'n' when `live`; otherwise, instantly, what the model card
    recorded for the same settings (recorded.adherence). Lesson 06's presenter mode passes live=False.

    Example: adherence(pipe, 24, False, guidance_scale=5.0) -> {'colour': 0.88, ..., 'n': 300}"""
    from . import recorded

    if live:
        return measure_adherence(pipe, n, **kwargs) | {"n": n}
    return recorded.adherence(**kwargs)
