"""The numbers a shipped checkpoint recorded in its metrics.json, for presenter mode.

With COURSE_FAST=1 a lesson shows these instead of measuring again (minutes on a laptop); the
same cell measures live when asked. scripts/evaluate_checkpoints.py wrote them, and the model
cards quote them.

    show_digit_reports("ddpm-digits")   # prints real digits, noise and each sampler, n = 500"""

from __future__ import annotations

import json

from .metrics import DigitReport
from .paths import checkpoint_dir

DIGIT_MODELS = ("rbm-digits", "gan-digits", "ddpm-digits")
# what the card's "real" and "noise" rows are: the RBM's are binarised digits and random bits
_REFERENCES = {"rbm-digits": ("real digits, binary", "random bits")}


def _report(entry: dict, n: int) -> DigitReport:
    return DigitReport(n=n, confidence=entry["confidence"], classes_covered=entry["classes"],
                       class_counts=entry.get("class_counts", []), class_entropy=entry["class_entropy"],
                       frechet=entry["frechet"])


def digit_reports(name: str) -> dict[str, DigitReport]:
    """The digit judge's reports that checkpoint `name` recorded: real digits, noise, then the model's
    samples by sampler, e.g. {"real digits": ..., "uniform noise": ..., "DDIM 50 steps": ...}
    (for rbm-digits the first two are "real digits, binary" and "random bits").

    Example: digit_reports("ddpm-digits")["DDIM 10 steps"].frechet"""
    if name not in DIGIT_MODELS:
        raise ValueError(f"name must be one of the digit models {', '.join(DIGIT_MODELS)}, got {name!r:.60}")
    path = checkpoint_dir(name) / "metrics.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: run python scripts/evaluate_checkpoints.py {name}")
    m = json.loads(path.read_text())
    real, noise = _REFERENCES.get(name, ("real digits", "uniform noise"))
    out = {real: _report(m["real"], m["n"]), noise: _report(m["noise"], m["n"])}
    for s in m.get("samplers", []):                                   # ddpm-digits
        out[f"{s['sampler']} {s['steps']} steps"] = _report(s, m["n"])
    for s in m.get("gibbs", []):                                      # rbm-digits
        out[f"Gibbs {s['steps']} steps"] = _report(s, m["n"])
    if "generator" in m:                                              # gan-digits
        out["generator"] = _report(m["generator"], m["n"])
    return out


def show_digit_reports(name: str, only: tuple[str, ...] = ()) -> dict[str, DigitReport]:
    """Print the reports of `digit_reports(name)` (those named in `only`, if given), saying where they
    come from; returns them."""
    reports = digit_reports(name)
    unknown = [k for k in only if k not in reports]
    if unknown:
        raise ValueError(f"only must name reports of {name}: {', '.join(reports)}; got {unknown}")
    reports = {k: r for k, r in reports.items() if not only or k in only}
    print(f"Recorded in assets/checkpoints/{name}/metrics.json when the checkpoint was evaluated, "
          f"not measured now (presenter mode, COURSE_FAST=1):")
    for key, r in reports.items():
        print(f"  {key:19}: {r}")
    return reports
