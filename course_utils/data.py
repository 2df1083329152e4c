"""The course's three data sources, all offline: scikit-learn's digits, scikit-image's
sample photos, and Shapes World (rendered here, see `course_utils.shapes`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import shapes as sw
from . import validate as v
from .images import to_signed

PHOTOS = ("astronaut", "coffee", "rocket", "chelsea", "hubble_deep_field",
          "immunohistochemistry", "camera", "coins", "moon")


@dataclass
class Digits:
    """Digit images (N, 1, H, W) in [0, 1] and their labels (N,)."""
    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self):
        return len(self.labels)


def digits(size: int = 8, binary: bool = False) -> Digits:
    """scikit-learn's 1,797 handwritten digits as (N, 1, size, size) in [0, 1].

    size 16 (or any multiple of 8) upsamples by nearest neighbour, so average pooling
    maps it back exactly. binary=True thresholds at 0.5 (for the RBM).
    Example: d = digits(16); d.images.shape -> (1797, 1, 16, 16)"""
    from sklearn.datasets import load_digits

    if v.whole("size", size, 8, 256, "the digits are 8x8: use 8, 16, 32, ...") % 8:
        raise ValueError(f"size must be a multiple of 8 from 8 to 256 (the digits are 8x8), got {size}")
    binary = v.flag("binary", binary)
    raw = load_digits()
    x = torch.tensor(raw.images, dtype=torch.float32)[:, None] / 16.0  # (N, 1, 8, 8)
    if size != 8:
        x = F.interpolate(x, scale_factor=size // 8, mode="nearest")
    if binary:
        x = (x > 0.5).float()
    return Digits(x, torch.tensor(raw.target))


def photo(name: str = "astronaut", size: int | None = 256) -> torch.Tensor:
    """A sample photo from scikit-image as (3, size, size) in [0, 1], centre-cropped to a square.

    Example: photo("astronaut", size=128). size=None keeps the square crop's own size."""
    import skimage.data

    if v.text("name", name, "e.g. name='astronaut'") not in PHOTOS:
        raise ValueError(f"name must be one of the photos available: {', '.join(PHOTOS)}; got {name!r}")
    if size is not None:
        v.whole("size", size, 8, v.MAX_SIDE, "or None for the photo's own size")
    arr = np.asarray(getattr(skimage.data, name)())
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    h, w = arr.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    img = Image.fromarray(arr[top:top + s, left:left + s, :3])
    if size is not None:
        img = img.resize((size, size), Image.Resampling.LANCZOS)
    return torch.from_numpy(np.asarray(img).astype(np.float32) / 255.0).permute(2, 0, 1).contiguous()


@dataclass
class ShapesBatch:
    """Shapes World scenes: images (N, 3, H, W) in [0, 1], captions, and the scenes' attributes."""
    images: torch.Tensor
    captions: list[str]
    scenes: list[sw.Scene]

    def __len__(self):
        return len(self.captions)


def shapes_scene(seed: int, index: int, two_object_fraction: float = 0.3,
                 wording: str = "train", jitter: bool = True) -> sw.Scene:
    """Scene number `index` of the Shapes World stream `seed` (the same numbers, the same scene)."""
    _check_stream(seed, index, two_object_fraction, wording, jitter)
    rng = np.random.default_rng([seed, index])
    n_objects = 2 if rng.random() < two_object_fraction else 1
    return sw.random_scene(rng, n_objects=n_objects, jitter=jitter, wording=wording)


def shapes_pair(seed: int, index: int, two_object_fraction: float = 0.5, wording: str = "varied",
                jitter: bool = True) -> list[sw.Scene]:
    """Pair number `index` of stream `seed`: [scene, partner], where the partner differs where
    the words matter (two objects: colours or shapes exchanged; one object: one attribute
    changed; shapes.partner_scene). unet-shapes v3 and v4 train on such pairs, both in the same batch.

    Example: a, b = shapes_pair(0, 5, 1.0); a.caption, b.caption"""
    scene = shapes_scene(seed, index, two_object_fraction, wording, jitter)
    return [scene, sw.partner_scene(scene, np.random.default_rng([seed, index, 1]), wording)]


def shapes_world(n: int = 16, seed: int = 0, two_object_fraction: float = 0.3,
                 wording: str = "train", size: int = 64, jitter: bool = True,
                 start: int = 0) -> ShapesBatch:
    """Render `n` captioned Shapes World scenes (scenes start..start+n-1 of stream `seed`).

    Example: batch = shapes_world(8, seed=0); batch.images.shape -> (8, 3, 64, 64);
    batch.captions[0] -> 'a small blue star in the top right'"""
    v.whole("n", n, 1, v.MAX_IMAGES, "render a long stream in pieces with start=")
    v.whole("size", size, 8, 512)
    _check_stream(seed, start, two_object_fraction, wording, jitter, "start")
    scenes = [shapes_scene(seed, start + i, two_object_fraction, wording, jitter) for i in range(n)]
    return ShapesBatch(render_scenes(scenes, size), [s.caption for s in scenes], scenes)


def render_scenes(scenes, size: int = 64) -> torch.Tensor:
    """Shapes World scenes drawn as images (N, 3, size, size) in [0, 1]: the one scene -> tensor.

    Example: render_scenes([Scene("black", [ShapeObject("red", "circle", "small", "top left")])])[0]"""
    scenes = list(scenes) if isinstance(scenes, (list, tuple)) else scenes
    if not isinstance(scenes, list) or not scenes or not all(isinstance(s, sw.Scene) for s in scenes):
        raise v.InputTypeError(f"scenes must be a non-empty list of shapes.Scene, got {scenes!r:.60}")
    v.whole("size", size, 8, 512)
    arrs = np.stack([sw.render_scene(s, size) for s in scenes])  # (N, H, W, 3) uint8
    return torch.from_numpy(arrs).permute(0, 3, 1, 2).float() / 255.0


def _check_stream(seed, index, two_object_fraction, wording, jitter, index_name="index") -> None:
    v.whole("seed", seed, 0, 2**62)
    v.whole(index_name, index, 0, 2**62)
    v.number("two_object_fraction", two_object_fraction, 0.0, 1.0, "the share of scenes with two shapes")
    v.one_of("wording", wording, sw.WORDINGS)
    v.flag("jitter", jitter)


class ShapesWorldDataset(torch.utils.data.Dataset):
    """A torch Dataset of `length` Shapes World scenes: (image in [-1, 1], caption).

    Scenes are rendered once, up front, and held in memory (64x64x3 uint8: 12 KB each).
    Example: DataLoader(ShapesWorldDataset(20_000, seed=0), batch_size=64, shuffle=True)"""

    def __init__(self, length: int = 10_000, seed: int = 0, two_object_fraction: float = 0.3,
                 wording: str = "train", size: int = 64):
        v.whole("length", length, 1, 200_000, "200,000 scenes already hold 2.4 GB")
        v.whole("size", size, 8, 512)
        _check_stream(seed, 0, two_object_fraction, wording, True)
        self.scenes = [shapes_scene(seed, i, two_object_fraction, wording) for i in range(length)]
        self.pixels = torch.from_numpy(np.stack([sw.render_scene(s, size) for s in self.scenes]))

    def __len__(self):
        return len(self.scenes)

    def __getitem__(self, i):
        x = self.pixels[i].permute(2, 0, 1).float() / 255.0  # (3, H, W) in [0, 1]
        return to_signed(x), self.scenes[i].caption
