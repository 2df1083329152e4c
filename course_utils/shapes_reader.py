"""Reading a Shapes World picture back into words, and judging it against its prompt.

- `read_scene`: the background, and the colour, shape, size and position of each object, from the
  pixels alone (no model: nearest palette colour, connected parts, how much of its box a part fills);
- `describe`: the same in one line of words;
- `judge` / `verdicts`: right or wrong, attribute by attribute, against the scene a prompt was
  written from; `adherence`: their shares. stats.rates(judge(...)) gives them with their intervals.

The model cards' prompt adherence is measured with these (adherence.py, evaluation.py), and lesson
08 reads teal with extra_colours=("teal",). The pictures come from shapes.py's renderer or a model.

Example: bg, objs = read_scene(data.shapes_world(1).images[0]); objs[0].colour -> 'red'"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from . import shapes as sw
from . import validate as v

_BGS = np.array(list(sw.BACKGROUNDS.values()), dtype=np.float32)  # (3, 3)


@dataclass
class FoundObject:
    """What `read_scene` found: attributes in the course's words plus raw measurements."""
    colour: str
    shape: str
    size: str
    position: str
    pixels: int
    bbox: tuple[int, int, int, int]  # (top, left, bottom, right), inclusive-exclusive
    fill: float  # object pixels / bbox area


def _as_uint8_hwc(image) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        x = v.tensor("image", image).detach().float().cpu()
        if x.ndim != 3 or x.shape[0] != 3 or min(x.shape[1:]) < 2:
            raise ValueError(f"image must be an RGB image tensor (3, H, W) in [0, 1], got shape {tuple(x.shape)}")
        return (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype(np.float32)
    if not isinstance(image, np.ndarray):
        raise v.InputTypeError(f"image must be a tensor (3, H, W) in [0, 1] or a uint8 array (H, W, 3), "
                               f"got {type(image).__name__}")
    arr = image
    if arr.ndim != 3 or arr.shape[2] != 3 or min(arr.shape[:2]) < 2 or arr.dtype.kind not in "uif":
        raise ValueError(f"image must be an RGB array (H, W, 3) of numbers, got shape {arr.shape}, dtype {arr.dtype}")
    return arr.astype(np.float32) * (255.0 if arr.dtype != np.uint8 and arr.max() <= 1.0 else 1.0)


def _classify_shape(mask: np.ndarray) -> tuple[str, float]:
    """Shape from the object's own pixels: how much of its box it fills (square 1, circle
    pi/4, triangle 1/2, star ~0.4), and how wide its upper half gets (a triangle's apex
    stays narrow; a star's arms reach across)."""
    h, w = mask.shape
    fill = float(mask.sum() / (h * w))
    upper_width = (mask[: max(1, h // 2)].sum(axis=1) / w).max()
    if fill > 0.9:
        return "square", fill
    if upper_width < 0.75:
        return "triangle", fill
    return ("star" if fill < 0.65 else "circle"), fill


def _palette(extra_colours) -> tuple[list[str], np.ndarray]:
    """The colour names and RGB values the reader chooses from: the six, plus any extra ones asked for."""
    if isinstance(extra_colours, str) or not isinstance(extra_colours, (tuple, list)):
        raise v.InputTypeError(f"extra_colours must be a tuple of colour names such as ('teal',), got {extra_colours!r:.60}")
    for name in extra_colours:
        if name not in sw.EXTRA_COLOURS:
            raise ValueError(f"unknown extra colour {name!r}; the extra colours are {list(sw.EXTRA_COLOURS)}")
    names = list(sw.COLOURS) + [c for c in extra_colours if c not in sw.COLOURS]
    return names, np.array([(sw.COLOURS | sw.EXTRA_COLOURS)[c] for c in names], dtype=np.float32)


def read_scene(image, min_pixels: int = 6, extra_colours: tuple = ()) -> tuple[str, list[FoundObject]]:
    """Read a Shapes World image back into words -> (background, objects found).

    image: tensor (3, H, W) in [0, 1] or uint8 array (H, W, 3). extra_colours=("teal",) lets the
    reader also answer teal (lesson 08); by default it picks the nearest of the six colours.
    Example: bg, objs = read_scene(shapes_world(1).images[0]); objs[0].colour -> 'red'"""
    arr = _as_uint8_hwc(image)
    v.whole("min_pixels", min_pixels, 1, arr.shape[0] * arr.shape[1])
    colour_names, palette = _palette(extra_colours)
    H, W, _ = arr.shape
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])  # (4*side, 3)
    bg_idx = int(np.argmin(((_BGS - np.median(border, axis=0)) ** 2).sum(-1)))
    refs = np.concatenate([_BGS[bg_idx:bg_idx + 1], palette])  # background first
    nearest = np.argmin(((arr[:, :, None, :] - refs) ** 2).sum(-1), axis=-1)  # (H, W)
    labels, n = ndimage.label(nearest > 0, structure=np.ones((3, 3)))
    found = []
    for k, sl in enumerate(ndimage.find_objects(labels), start=1):
        comp = labels[sl] == k
        if comp.sum() < min_pixels:
            continue
        colour_idx = np.bincount(nearest[sl][comp], minlength=len(refs))[1:].argmax()
        shape, fill = _classify_shape(comp)
        top, left, bottom, right = sl[0].start, sl[1].start, sl[0].stop, sl[1].stop
        side = max(bottom - top, right - left) / W
        cx, cy = (left + right) / 2 / W, (top + bottom) / 2 / H
        found.append(FoundObject(
            colour=colour_names[colour_idx], shape=shape,
            size="large" if side > (sw.SIZES["small"] + sw.SIZES["large"]) / 2 else "small",
            position=_nearest_position(cx, cy), pixels=int(comp.sum()),
            bbox=(top, left, bottom, right), fill=float(fill)))
    found.sort(key=lambda o: -o.pixels)
    return list(sw.BACKGROUNDS)[bg_idx], found


def describe(image, most: int = 2) -> str:
    """What `read_scene` sees, in words: 'small red circle, top left (on white)'.

    Example: describe(adherence.generate(pipe, ["a red circle"])[0]). Used in notebooks/06."""
    v.whole("most", most, 1, 10)
    bg, found = read_scene(image)
    objects = "; ".join(f"{o.size} {o.colour} {o.shape}, {o.position}" for o in found[:most])
    return f"{objects or 'no shape'} (on {bg})"


def _nearest_position(cx: float, cy: float) -> str:
    return min(sw.POSITIONS, key=lambda p: (sw.POSITIONS[p][0] - cx) ** 2 + (sw.POSITIONS[p][1] - cy) ** 2)


ATTRIBUTES = ("colour", "shape", "size", "position")


def _check_pairs(images, scenes) -> None:
    """One scene per image, at least one of each: zip would drop the extras without a word."""
    images = v.tensor("images", images, 4, "(N, 3, 64, 64) in [0, 1]")
    if not isinstance(scenes, (list, tuple)) or not all(isinstance(s, sw.Scene) for s in scenes):
        raise v.InputTypeError("scenes must be a list of shapes.Scene, one per image (data.shapes_scene gives them)")
    if len(scenes) != len(images) or not scenes:
        raise ValueError(f"scenes must be one per image: got {len(images)} images and {len(scenes)} scenes")


def judge(images, scenes, extra_colours: tuple = ()) -> list[dict]:
    """Per-image verdicts, read from the pixels: one dict of right/wrong per image.

    Single-object scenes: {'colour', 'shape', 'size', 'position', 'background', 'all'} about the
    largest object found (an attribute the prompt left out counts as right). Two-object scenes:
    {'both_objects'}: both objects found with every said attribute right. Paired tests
    (`stats.mcnemar`) compare two methods verdict by verdict on the same prompts."""
    _check_pairs(images, scenes)
    _palette(extra_colours)
    return [verdicts(scene, *read_scene(img, extra_colours=extra_colours)) for img, scene in zip(images, scenes)]


def verdicts(scene, background: str, found) -> dict:
    """The verdicts of one picture read as (background, objects found, largest first) against the scene
    its prompt was written from: as `judge` gives them. The objects are FoundObjects, or dicts of the
    four attributes (a person's reading, evaluation.reader_audit)."""
    def get(o, a):
        return o[a] if isinstance(o, dict) else getattr(o, a)

    unsaid = getattr(scene, "unsaid", ())  # left out of the prompt: any value is right
    if len(scene.objects) == 1:
        want = scene.objects[0]
        got = found[0] if found else None
        ok = {a: got is not None and (a in unsaid or get(got, a) == getattr(want, a)) for a in ATTRIBUTES}
        ok["background"] = "background" in unsaid or background == scene.background
        ok["all"] = all(ok[a] for a in ATTRIBUTES)
        return ok
    keep = [a for a in ATTRIBUTES if a not in unsaid]
    want = sorted(tuple(getattr(o, a) for a in keep) for o in scene.objects)
    return {"both_objects": sorted(tuple(get(o, a) for a in keep) for o in found[:2]) == want}


def adherence(images, scenes, extra_colours: tuple = ()) -> dict:
    """How well generated images follow the scenes their prompts describe, read from the pixels.

    images: (N, 3, 64, 64) in [0, 1]; scenes: the shapes.Scene each prompt was written from.
    Single-object scenes: per-attribute accuracy of the largest object found (and of the
    background). Two-object scenes: the share where both objects are found with all attributes
    right. extra_colours: as in read_scene (lesson 08 reads with ("teal",)). The shares of
    `judge`'s verdicts; `stats.rates(judge(...))` gives them with their 95 % intervals.
    Returns {'colour': 0.97, ..., 'background': ..., 'all': ..., 'both_objects': ...}."""
    return shares(judge(images, scenes, extra_colours))


def shares(items: list[dict]) -> dict:
    """`judge`'s verdicts as shares, key by key (what `adherence` returns): {'colour': 0.97, ...}."""
    if not items:
        raise ValueError("shares needs at least one judged picture.")
    keys = [k for k in (*ATTRIBUTES, "background", "all", "both_objects") if any(k in it for it in items)]
    return {k: float(np.mean([it[k] for it in items if k in it])) for k in keys}
