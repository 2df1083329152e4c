"""Conversions between the ways an image is held: torch tensors in [-1, 1] or [0, 1],
NumPy arrays and PIL images; and image grids.

Conventions: tensors are (C, H, W) or (N, C, H, W); NumPy arrays are (H, W) or (H, W, C);
`value_range` says which range a tensor is in: (0, 1) or (-1, 1)."""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image

from . import validate as v

RANGES = ((0, 1), (-1, 1))


def _check_range(value_range) -> tuple[int, int]:
    try:
        pair = tuple(float(a) for a in value_range)
    except (TypeError, ValueError, RuntimeError):
        pair = None
    if pair not in RANGES:
        raise ValueError(f"value_range must be (0, 1) or (-1, 1), got {value_range!r:.60}")
    return pair


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """[-1, 1] -> [0, 1] (clamped). Example: to_unit(model_output)."""
    v.tensor("x", x, hint="images.from_numpy(arr) converts a NumPy image")
    return ((x + 1) / 2).clamp(0, 1)


def to_signed(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> [-1, 1], the range diffusion models are trained in."""
    v.tensor("x", x, hint="images.from_numpy(arr) converts a NumPy image")
    return x * 2 - 1


def guess_range(x) -> tuple[int, int]:
    """(-1, 1) if the values go clearly below zero, else (0, 1); for display only."""
    return (-1, 1) if float(torch.as_tensor(x).min()) < -0.02 else (0, 1)


def to_numpy(image, value_range=(0, 1)) -> np.ndarray:
    """A tensor (C, H, W) / array / PIL image -> float array (H, W) or (H, W, 3) in [0, 1]."""
    if isinstance(image, Image.Image):
        arr = np.asarray(image.convert("RGB") if image.mode not in ("L", "RGB") else image)
        return arr.astype(np.float32) / 255.0
    if isinstance(image, np.ndarray):
        arr = _check_array(image).astype(np.float32)
        if image.dtype == np.uint8:
            arr = arr / 255.0
        return arr.clip(0, 1)
    if not isinstance(image, torch.Tensor):
        raise v.InputTypeError(f"image must be a torch.Tensor, NumPy array or PIL image, got {type(image).__name__}")
    x = v.tensor("image", image).detach().float().cpu()
    if x.ndim != 3 or x.shape[0] not in (1, 3):
        raise ValueError(f"image must be a tensor of shape (C, H, W) with C = 1 or 3, got {tuple(x.shape)}"
                         + ("; pick one image of the batch: x[0]" if x.ndim == 4 else ""))
    if _check_range(value_range) == (-1, 1):
        x = to_unit(x)
    arr = x.clamp(0, 1).permute(1, 2, 0).numpy()
    return arr[..., 0] if arr.shape[-1] == 1 else arr


def _check_array(arr: np.ndarray) -> np.ndarray:
    """A NumPy image: (H, W) or (H, W, 1 / 3 / 4) of numbers, no NaN."""
    if arr.dtype.kind not in "biuf":
        raise v.InputTypeError(f"image must be an array of numbers, got dtype {arr.dtype}")
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[-1] in (1, 3, 4))) or 0 in arr.shape:
        raise ValueError(f"image must be a NumPy array (H, W) or (H, W, C) with C = 1, 3 or 4, got shape {arr.shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise ValueError("image must not hold NaN or inf")
    return arr


def to_pil(image, value_range=(0, 1)) -> Image.Image:
    """Anything `to_numpy` takes -> a PIL image (L or RGB)."""
    arr = (to_numpy(image, value_range) * 255).round().astype(np.uint8)
    return Image.fromarray(arr)


def from_pil(image: Image.Image, value_range=(0, 1)) -> torch.Tensor:
    """A PIL image -> float tensor (C, H, W) in `value_range`."""
    if not isinstance(image, Image.Image):
        raise v.InputTypeError(f"image must be a PIL image, got {type(image).__name__}; "
                               "for a NumPy array use images.from_numpy(arr)")
    arr = np.asarray(image).astype(np.float32) / 255.0
    x = torch.from_numpy(arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1).copy())
    return to_signed(x) if _check_range(value_range) == (-1, 1) else x


def from_numpy(arr: np.ndarray, value_range=(0, 1)) -> torch.Tensor:
    """An array (H, W) or (H, W, C) in [0, 1] (or uint8) -> tensor (C, H, W) in `value_range`."""
    if not isinstance(arr, np.ndarray):
        raise v.InputTypeError(f"arr must be a NumPy array (H, W) or (H, W, C), got {type(arr).__name__}")
    x = torch.from_numpy(to_numpy(arr).copy())
    x = x[None] if x.ndim == 2 else x.permute(2, 0, 1)
    return to_signed(x) if _check_range(value_range) == (-1, 1) else x


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 1,
              pad_value: float = 1.0) -> torch.Tensor:
    """(N, C, H, W) -> one (C, H', W') image with the N images in rows of `nrow`.

    Example: to_pil(make_grid(batch, nrow=8))"""
    images = v.tensor("images", images, 4, "make_grid expects (N, C, H, W); one image: x[None]")
    n, c, h, w = images.shape
    if n == 0:
        raise ValueError("images must hold at least one image, got (0, C, H, W)")
    nrow = math.ceil(math.sqrt(n)) if nrow is None else v.whole("nrow", nrow, 1, v.MAX_IMAGES)
    padding, pad_value = v.whole("padding", padding, 0, 64), v.number("pad_value", pad_value)
    rows = math.ceil(n / nrow)
    grid = torch.full((c, rows * (h + padding) + padding, nrow * (w + padding) + padding),
                      pad_value, dtype=images.dtype)
    for i in range(n):
        r, k = divmod(i, nrow)
        top, left = padding + r * (h + padding), padding + k * (w + padding)
        grid[:, top:top + h, left:left + w] = images[i]
    return grid


def to_png(x: torch.Tensor, scale: int = 1) -> bytes:
    """(C, H, W) in [0, 1] -> PNG bytes, enlarged `scale` times by nearest neighbour (fast: no
    matplotlib). What the widgets show in their ipywidgets.Image.

    Example: ipywidgets.Image(value=to_png(data.photo("astronaut", 64), scale=4))"""
    import io

    scale = v.whole("scale", scale, 1, 64, "4 makes a 64x64 image 256x256")
    if max(v.tensor("x", x, 3).shape[-2:]) * scale > 4 * v.MAX_SIDE:
        raise ValueError(f"scale must keep the picture under {4 * v.MAX_SIDE} pixels per side, got {scale} for "
                         f"{tuple(x.shape[-2:])}")
    img = to_pil(x)
    img = img.resize((img.width * scale, img.height * scale), Image.Resampling.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
