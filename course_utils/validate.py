"""Checks at the edge of the public API, written once.

Each returns the value it checked (as the type the code needs) or raises an InputTypeError (wrong
kind of thing: a TypeError that is also a ValueError) or a ValueError (right kind, wrong value) whose message names the argument, says what was
expected and, where it helps, what to do. Example:

    n = whole("n", n, 1, MAX_IMAGES)   # "n must be a whole number of at least 1 and at most 10000, got 2.5"

The caps keep a slip of the keyboard (n=10**9, steps=10**6, size=10**5) from filling the memory
or running for hours: a clear error instead."""

from __future__ import annotations

import math
import numbers

import torch

MAX_IMAGES = 10_000   # images (or points) asked for in one call
MAX_STEPS = 1_000     # sampling / denoising steps
MAX_SIDE = 2_048      # pixels per side of an image the course makes


class InputTypeError(TypeError, ValueError):
    """The wrong kind of thing was passed. A TypeError, and a ValueError too, so that code which
    catches ValueError for any bad input (the widgets do) catches it as well."""


class _Said(str):
    """A description of what was given, shown as it is (not as a repr)."""


def _show(value) -> str:
    if isinstance(value, _Said):
        return str(value)
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(cls, name: str, expected: str, value, hint: str = ""):
    raise cls(f"{name} must be {expected}, got {_show(value)}" + (f"; {hint}" if hint else ""))


def _range_words(lo, hi) -> str:
    if lo is not None and hi is not None:
        return f" of at least {lo} and at most {hi}"
    if lo is not None:
        return f" of at least {lo}"
    return f" of at most {hi}" if hi is not None else ""


def whole(name: str, value, lo: int | None = None, hi: int | None = None, hint: str = "") -> int:
    """`value` as an int in [lo, hi]; a float such as 2.5, a bool or a string is a TypeError."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_floating_point():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        _fail(InputTypeError, name, "a whole number" + _range_words(lo, hi), value, hint)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        _fail(ValueError, name, "a whole number" + _range_words(lo, hi), value, hint)
    return int(value)


def number(name: str, value, lo: float | None = None, hi: float | None = None, hint: str = "",
           open_lo: bool = False) -> float:
    """`value` as a finite float in [lo, hi] ((lo, hi] with open_lo); NaN and inf are ValueErrors."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        _fail(InputTypeError, name, "a number" + _range_words(lo, hi), value, hint)
    words = "a finite number" + (f" above {lo} and up to {hi}" if open_lo else _range_words(lo, hi))
    if not math.isfinite(value) or (lo is not None and (value <= lo if open_lo else value < lo)) \
            or (hi is not None and value > hi):
        _fail(ValueError, name, words, value, hint)
    return value


def flag(name: str, value) -> bool:
    """`value` as a bool (True/False, or 0/1)."""
    if isinstance(value, (bool, int)) and value in (0, 1):
        return bool(value)
    _fail(InputTypeError, name, "True or False", value)


def one_of(name: str, value, options, hint: str = ""):
    """`value` if it is one of `options` (strings or numbers); else a ValueError listing them."""
    try:               # an array or a tensor compares element-wise: never one of the options
        ok = any(type(value) is type(o) and value == o for o in options)
    except (TypeError, ValueError, RuntimeError):
        ok = False
    if not ok:
        _fail(ValueError, name, "one of " + ", ".join(repr(o) for o in options), value, hint)
    return value


def text(name: str, value, hint: str = "") -> str:
    """`value` if it is a string."""
    if not isinstance(value, str):
        _fail(InputTypeError, name, "a string", value, hint or f'write e.g. {name}="a small red circle in the top left"')
    return value


def texts(name: str, value, most: int = MAX_IMAGES) -> list[str]:
    """A string or a non-empty list/tuple of at most `most` strings -> a list of strings."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)):
        _fail(InputTypeError, name, "a string or a list of strings", value,
              f'write e.g. {name}=["a red circle", "a blue star"]')
    if not 1 <= len(value) <= most:
        _fail(ValueError, name, f"a list of 1 to {most} strings", _Said("an empty list" if not value else f"a list of {len(value)}"),
              "give at least one text" if not value else "split the work into smaller lists")
    bad = [v for v in value if not isinstance(v, str)]
    if bad:
        _fail(InputTypeError, name, "a list of strings only", bad[0],
              f"every item must be a string, and {name} holds a {type(bad[0]).__name__}")
    return list(value)


def tensor(name: str, value, ndim=None, hint: str = "") -> torch.Tensor:
    """`value` if it is a torch.Tensor of a real (floating-point) dtype with `ndim` dimensions
    (an int or a tuple of allowed ints), holding no NaN or inf."""
    if not isinstance(value, torch.Tensor):
        _fail(InputTypeError, name, "a torch.Tensor", _Said(f"a {type(value).__name__}"),
              hint or "NumPy arrays convert with torch.from_numpy(arr).float()")
    if not (value.is_floating_point() or value.dtype in (torch.uint8, torch.int64, torch.int32, torch.bool)):
        _fail(InputTypeError, name, "a real-valued tensor", _Said(f"dtype {value.dtype}"), "use x.float()")
    allowed = (ndim,) if isinstance(ndim, int) else ndim
    if allowed is not None and value.ndim not in allowed:
        dims = " or ".join(str(d) for d in allowed)
        _fail(ValueError, name, f"a tensor with {dims} dimensions", _Said(f"shape {tuple(value.shape)}"), hint)
    if value.is_floating_point() and value.numel() and not torch.isfinite(value).all():
        _fail(ValueError, name, "free of NaN and inf", _Said("a tensor holding NaN or inf"),
              "check the step that produced it")
    return value


def generator(name: str, value) -> torch.Generator | None:
    """`value` if it is None or a torch.Generator."""
    if value is not None and not isinstance(value, torch.Generator):
        _fail(InputTypeError, name, "a torch.Generator or None", value, "e.g. torch.Generator().manual_seed(0)")
    return value


def device(name: str, value) -> torch.device:
    """`value` as a torch.device that exists on this machine ('cpu', 'cuda', 'mps', 'cuda:0', ...)."""
    try:
        dev = torch.device(value)
    except (RuntimeError, TypeError):
        _fail(ValueError, name, "'cpu', 'cuda', 'mps' or a torch.device", value, "None picks the course's device")
    usable = {"cpu": True, "cuda": torch.cuda.is_available(),
              "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()}
    if not usable.get(dev.type, False):
        _fail(ValueError, name, "a device this machine has (" + ", ".join(k for k, ok in usable.items() if ok) + ")",
              value, "None picks the course's device")
    return dev
