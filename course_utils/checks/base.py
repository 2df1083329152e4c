"""What every exercise checker shares, written once: the placeholder test, the kind report of
anything that goes wrong, and turning a student's answer (torch, NumPy, a list, a Python
number) into something to compare. A checker prints what is right or wrong and returns a bool;
it never raises, whatever it is given."""

from __future__ import annotations

import functools
import math
import numbers

import torch


class AnswerError(Exception):
    """The answer cannot be checked as given; the message says what was expected."""


class _Unanswered(Exception):
    pass


MARKS = {True: "✔", False: "✘", None: "○"}   # in DejaVu Sans and Mono: no emoji font needed (a room's laptop may
# have none, and then emoji print as empty boxes)


def say(ok: bool, msg: str) -> bool:
    print(f"{MARKS[bool(ok)]} {msg}")
    return ok


def not_answered(answer) -> bool:
    """True (and a hint) when the exercise still holds its placeholder."""
    if answer is None or answer is ...:
        print(f"{MARKS[None]} Not answered yet: replace the `None` / `...` in the cell above with your answer.")
        return True
    return False


def checker(func):
    """Wrap a checker: a placeholder says "not answered yet", an answer that cannot be checked
    or a student function that raises gets a kind message, and the result is always a bool."""

    @functools.wraps(func)
    def wrapper(answer, *args, **kwargs):
        if not_answered(answer):
            return False
        try:
            return bool(func(answer, *args, **kwargs))
        except _Unanswered:
            not_answered(None)
            return False
        except AnswerError as e:
            return say(False, str(e))
        except Exception as e:  # noqa: BLE001 - a checker reports, it never crashes the lesson
            return say(False, f"this answer could not be checked ({type(e).__name__}: {e}). "
                              f"Expected: {(func.__doc__ or '').splitlines()[0]}")

    return wrapper


def call_student(fn, *args):
    """fn(*args), with the student's own errors turned into a message that names them."""
    if not callable(fn):
        raise AnswerError(f"expected a function (def ...), got {type(fn).__name__}")
    try:
        out = fn(*args)
    except Exception as e:  # noqa: BLE001 - show the student their error, kindly
        raise AnswerError(f"your function raised {type(e).__name__}: {e}") from None
    if out is None or out is ...:
        raise _Unanswered
    return out


def as_tensor(x, name: str = "your answer") -> torch.Tensor:
    """A float64 tensor from a tensor, NumPy array, list or number; a clear error otherwise."""
    if isinstance(x, (str, bytes, dict, set)):
        raise AnswerError(f"{name} should be numbers (a tensor or an array), got a {type(x).__name__}")
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
    else:
        try:
            t = torch.as_tensor(x)
        except Exception:  # noqa: BLE001
            raise AnswerError(f"{name} should be numbers (a tensor or an array), got {type(x).__name__}") from None
    if t.dtype == torch.bool or not (t.is_floating_point() or t.dtype in (torch.int8, torch.int16, torch.int32, torch.int64, torch.uint8)):
        raise AnswerError(f"{name} should hold numbers, got dtype {t.dtype}")
    t = t.double()
    if t.numel() and not torch.isfinite(t).all():
        raise AnswerError(f"{name} contains NaN or infinity: check for a division by zero or a log of 0")
    return t


def as_number(x, name: str = "your answer") -> float:
    """A finite Python float from a number, a NumPy scalar or a one-element tensor."""
    if isinstance(x, bool) or isinstance(x, (str, bytes)):
        raise AnswerError(f"{name} should be a number like 48, got {x!r}")
    if isinstance(x, numbers.Number):
        value = float(x)
    else:
        t = as_tensor(x, name)
        if t.numel() != 1:
            raise AnswerError(f"{name} should be one number, got {t.numel()} numbers (shape {tuple(t.shape)})")
        value = float(t.reshape(()))
    if not math.isfinite(value):
        raise AnswerError(f"{name} should be a finite number, got {value}")
    return value


def as_count(x, name: str = "your answer") -> int:
    """A whole number (48 or 48.0, not 48.5)."""
    value = as_number(x, name)
    if value != int(value):
        raise AnswerError(f"{name} counts things, so it is a whole number; got {value}")
    return int(value)


def close(got, want, atol: float = 1e-5) -> bool:
    """Same shape and equal within atol (no message): for spotting a known mistake."""
    g, w = as_tensor(got), as_tensor(want)
    return g.shape == w.shape and bool(torch.allclose(g, w, atol=atol, rtol=0))


def compare(answer, expected, name: str = "your answer", atol: float = 1e-5) -> bool:
    """Karpathy's `cmp`: exact / approximately equal (with the max difference) / wrong."""
    if not_answered(answer):
        return False
    try:
        a, e = as_tensor(answer, name), as_tensor(expected)
    except AnswerError as err:
        return say(False, str(err))
    if a.shape != e.shape:
        return say(False, f"{name} has shape {tuple(a.shape)}, expected {tuple(e.shape)}")
    diff = (a - e).abs().max().item() if a.numel() else 0.0
    if diff == 0:
        return say(True, f"{name}: exact match")
    if diff <= atol:
        return say(True, f"{name}: approximately equal (max difference {diff:.2e})")
    return say(False, f"{name}: max difference {diff:.3g} from the expected values")
