"""The quality measures the model cards quote.

- `read_scene`: read a Shapes World image back into words (background, and the colour, shape,
  size and position of each object), from the pixels alone; `prompt_adherence` compares that
  with the attributes a prompt asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import ndimage

from . import shapes as sw
from . import validate as v
from .quiet import quiet

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

    Example: describe(pipelines.generate(pipe, ["a red circle"])[0]). Used in notebooks/06."""
    v.whole("most", most, 1, 10)
    bg, found = read_scene(image)
    objects = "; ".join(f"{o.size} {o.colour} {o.shape}, {o.position}" for o in found[:most])
    return f"{objects or 'no shape'} (on {bg})"


def _nearest_position(cx: float, cy: float) -> str:
    return min(sw.POSITIONS, key=lambda p: (sw.POSITIONS[p][0] - cx) ** 2 + (sw.POSITIONS[p][1] - cy) ** 2)


# ---------------------------------------------------------------- the digit judge
@dataclass
class DigitReport:
    """What the digit judge says about a set of images (see `judge_digits`)."""
    n: int
    confidence: float  # mean probability of the predicted class
    classes_covered: int  # digits predicted for at least 2 % of the images
    class_counts: list[int]  # how many images were called 0, 1, ..., 9
    class_entropy: float  # entropy (bits) of the predicted-class histogram; log2(10) = 3.32 is all even
    frechet: float  # Frechet distance of the judge's hidden features to real digits

    def __str__(self):
        return (f"n={self.n}: confidence {self.confidence:.2f}, {self.classes_covered}/10 classes, "
                f"class entropy {self.class_entropy:.2f} bits, Frechet distance {self.frechet:.1f}")


_JUDGE: dict = {}


def digit_judge():
    """A small MLP classifier trained on 1,297 of scikit-learn's digits, plus the mean and
    covariance of its hidden features on them. The other 500 digits (`heldout_digits()`) are
    the "real" end of the scale. Trained once per process (a few seconds), then cached."""
    if "clf" not in _JUDGE:
        from sklearn.datasets import load_digits
        from sklearn.neural_network import MLPClassifier

        X, y = load_digits(return_X_y=True)
        order = np.random.default_rng(0).permutation(len(X))
        train, held = order[500:], order[:500]
        clf = MLPClassifier((128,), alpha=1.0, max_iter=600, random_state=0)
        clf.fit(X[train] / 16.0, y[train])  # pixels 0..16 -> [0, 1]
        feats = _hidden(clf, X[train] / 16.0)
        scale = np.sqrt(feats.var(0).mean())  # features in units of the real digits' spread
        clf.feature_scale_ = scale
        feats = feats / scale
        _JUDGE.update(clf=clf, mu=feats.mean(0), cov=np.cov(feats, rowvar=False),
                      heldout=X[held] / 16.0, heldout_labels=y[held])
    return _JUDGE["clf"]


def heldout_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """The 500 real digits the judge never saw, as (500, 1, 8, 8) in [0, 1], and their labels."""
    digit_judge()
    x = torch.tensor(_JUDGE["heldout"], dtype=torch.float32).reshape(-1, 1, 8, 8)
    return x, torch.tensor(_JUDGE["heldout_labels"])


def _hidden(clf, X: np.ndarray) -> np.ndarray:
    """The judge's hidden-layer features (ReLU), divided by their spread on real digits."""
    return np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0.0) / getattr(clf, "feature_scale_", 1.0)


def _to_digit_pixels(images) -> np.ndarray:
    if isinstance(images, np.ndarray) and images.dtype.kind in "biuf":
        images = torch.from_numpy(images)
    x = v.tensor("images", images).detach().float().cpu()
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[-1] % 8 or x.shape[-1] != x.shape[-2] or x.shape[-1] == 0:
        raise ValueError(f"images must be digit images (N, 1, 8k, 8k) in [0, 1], got shape {tuple(x.shape)}")
    if len(x) < 2:
        raise ValueError(f"images must hold at least 2 digits (the Frechet distance needs a spread), got {len(x)}; "
                         "use N = 500 for numbers to compare")
    if x.shape[-1] != 8:  # 16x16 digits were upsampled by nearest neighbour: average back
        x = torch.nn.functional.avg_pool2d(x, x.shape[-1] // 8)
    return x.clamp(0, 1).reshape(len(x), 64).numpy()


def frechet_distance(mu1, cov1, mu2, cov2) -> float:
    """||mu1 - mu2||^2 + Tr(C1 + C2 - 2 (C1 C2)^(1/2)), the distance FID uses."""
    from scipy import linalg

    with quiet(warnings=Warning):  # dead ReLU units make the covariances singular; harmless
        covmean = linalg.sqrtm(cov1 @ cov2)
    covmean = covmean.real if np.iscomplexobj(covmean) else covmean
    return float(((mu1 - mu2) ** 2).sum() + np.trace(cov1 + cov2 - 2 * covmean))


def judge_digits(images) -> DigitReport:
    """Judge generated digits: (N, 1, 8, 8) or (N, 1, 16, 16) in [0, 1] -> a DigitReport.

    Compare like with like: the Frechet distance grows as N shrinks (use N = 500 for cards).
    Example: print(judge_digits(models.sample("ddpm-digits", 500)))"""
    X = _to_digit_pixels(images)
    clf = digit_judge()
    probs = clf.predict_proba(X)
    pred = probs.argmax(1)
    counts = np.bincount(pred, minlength=10)
    p = counts / counts.sum()
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum()) + 0.0  # + 0.0: one class gives 0.00, not -0.00
    feats = _hidden(clf, X)
    fd = frechet_distance(feats.mean(0), np.cov(feats, rowvar=False), _JUDGE["mu"], _JUDGE["cov"])
    return DigitReport(n=len(X), confidence=float(probs.max(1).mean()),
                       classes_covered=int((counts >= max(1, 0.02 * len(X))).sum()),
                       class_counts=counts.tolist(), class_entropy=entropy, frechet=fd)


# ---------------------------------------------------------------- prompt adherence (Shapes World)
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
    items = judge(images, scenes, extra_colours)
    keys = [k for k in (*ATTRIBUTES, "background", "all", "both_objects") if any(k in it for it in items)]
    return {k: float(np.mean([it[k] for it in items if k in it])) for k in keys}
