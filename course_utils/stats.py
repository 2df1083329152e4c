"""Uncertainty as a habit: every rate with its 95 % interval, paired comparisons with a paired test.

- `wilson(k, n)`: the Wilson score interval of k successes in n trials (Wilson 1927). Unlike
  p ± 1.96·sqrt(p(1-p)/n) it stays inside [0, 1] and is not zero-width at 0/n or n/n.
- `Rate`: k of n with its interval, printed the way the cards and lessons write it: "80 % (75–84 %)";
  `Rate.verdict(target)` says whether a target share is met, not ruled out, or missed.
- `mcnemar(a, b)`: the exact McNemar test for two methods judged on the SAME items (per-item
  right/wrong): only the items where they disagree carry information.
- `rates(items)`: per-attribute Rates from `metrics.judge`'s per-image verdicts.

Example: Rate(240, 300) -> 80 % (75–84 %); mcnemar([1, 1, 0], [0, 1, 0])['p']"""

from __future__ import annotations

import math
from dataclasses import dataclass

from . import validate as v

Z95 = 1.959963984540054


def wilson(k: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval (low, high) for k successes in n trials, 95 % by default."""
    n = v.whole("n", n, 1, 10**12)
    k = v.whole("k", k, 0, n)
    p, z2 = k / n, z * z
    centre = (p + z2 / (2 * n)) / (1 + z2 / n)
    half = z / (1 + z2 / n) * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # at k = 0 and k = n the closed form gives 0 and 1 exactly; rounding alone would miss them
    return (0.0 if k == 0 else max(0.0, centre - half)), (1.0 if k == n else min(1.0, centre + half))


@dataclass(frozen=True)
class Rate:
    """k successes of n, with the 95 % Wilson interval; str() gives '80 % (75–84 %)'."""
    k: int
    n: int

    def __post_init__(self):
        v.whole("n", self.n, 1, 10**12)
        v.whole("k", self.k, 0, self.n)

    @property
    def value(self) -> float:
        return self.k / self.n

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.k, self.n)

    def allows(self, target: float) -> bool:
        """True when the interval reaches `target` (a rate ">= target" is then not ruled out)."""
        return self.interval[1] >= target

    def meets(self, target: float) -> bool:
        """True when even the interval's low end is at least `target` (met beyond doubt)."""
        return self.interval[0] >= target

    def verdict(self, target: float) -> str:
        """The course's word for a target share: 'met' when the interval's low end reaches it,
        'not ruled out' when the interval holds it, 'missed' when the whole interval lies below it.

        Example: Rate(85, 100).verdict(0.8) -> 'not ruled out' (the interval is 77-91 %)"""
        target = v.number("target", target, 0, 1, hint="a share: 0.8 for a target of 80 %")
        if self.meets(target):
            return "met"
        return "not ruled out" if self.allows(target) else "missed"

    def as_dict(self) -> dict:
        lo, hi = self.interval
        return {"k": self.k, "n": self.n, "rate": round(self.value, 4), "low": round(lo, 4), "high": round(hi, 4)}

    def __str__(self) -> str:
        lo, hi = self.interval
        return f"{100 * self.value:.0f} % ({100 * lo:.0f}–{100 * hi:.0f} %)"


def _flags(name: str, xs) -> list[bool]:
    out = list(xs)
    if not out:
        raise ValueError(f"{name} is empty: give one True/False (right/wrong) per item.")
    for x in out:
        if x not in (True, False, 0, 1):
            raise ValueError(f"{name} must hold one True/False (or 1/0) per item, found {x!r}.")
    return [bool(x) for x in out]


def mcnemar(a, b) -> dict:
    """Exact two-sided McNemar test for two methods judged right/wrong on the same items.

    Returns {'n', 'a_right', 'b_right', 'a_only', 'b_only', 'p'}: a_only counts items only `a`
    got right. p is the binomial probability of a split at least this uneven among the
    disagreeing items if neither method were better (1.0 when they never disagree)."""
    a, b = _flags("a", a), _flags("b", b)
    if len(a) != len(b):
        raise ValueError(f"a and b must judge the same items: {len(a)} verdicts against {len(b)}.")
    a_only = sum(x and not y for x, y in zip(a, b))
    b_only = sum(y and not x for x, y in zip(a, b))
    m, lo = a_only + b_only, min(a_only, b_only)
    p = 1.0 if m == 0 else min(1.0, 2 * sum(math.comb(m, i) for i in range(lo + 1)) / 2**m)
    return {"n": len(a), "a_right": sum(a), "b_right": sum(b), "a_only": a_only, "b_only": b_only, "p": p}


def paired_difference(a, b, z: float = 1.96) -> dict:
    """The difference of two rates judged on the same items (a's minus b's), with its 95 % interval
    for paired proportions (Wald, from the discordant counts): {'difference', 'low', 'high'}.

    Example: paired_difference(lcm_right, teacher_right)['low'] >= -0.05 -> "within 5 points" is met"""
    m = mcnemar(a, b)
    n, d = m["n"], (m["a_only"] - m["b_only"]) / m["n"]
    se = math.sqrt(max(m["a_only"] + m["b_only"] - n * d * d, 0.0)) / n
    return {"difference": d, "low": max(-1.0, d - z * se), "high": min(1.0, d + z * se)}


def loss_verdict(change: dict, allowed: float) -> str:
    """The course's word for "loses at most `allowed`" (a fraction: 0.02 for 2 points) of a paired change
    (paired_difference's dict): 'met' when the interval's low end is within it, 'not ruled out' when the
    interval reaches it, 'missed' when the whole interval lies below -allowed.

    Example: loss_verdict({'difference': -0.028, 'low': -0.051, 'high': -0.005}, 0.02) -> 'not ruled out'"""
    allowed = v.number("allowed", allowed, 0, 1, hint="a share: 0.02 for at most 2 points lost")
    for key in ("low", "high"):
        if not isinstance(change, dict) or not isinstance(change.get(key), (int, float)):
            raise ValueError(f"change must be a dict with 'low' and 'high' (stats.paired_difference's), got {change!r}")
    if change["low"] >= -allowed - 1e-12:
        return "met"
    return "not ruled out" if change["high"] >= -allowed - 1e-12 else "missed"


def rates(items: list[dict]) -> dict[str, Rate]:
    """Per-key Rates from per-item verdicts (dicts of key -> True/False, as `metrics.judge` gives);
    keys an item lacks are not counted for it."""
    if not items:
        raise ValueError("rates needs at least one judged item.")
    keys = dict.fromkeys(k for it in items for k in it)
    return {k: Rate(sum(bool(it[k]) for it in items if k in it), sum(k in it for it in items)) for k in keys}
