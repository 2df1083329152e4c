"""The numbers a shipped checkpoint recorded in its metrics.json, for presenter mode.

With COURSE_FAST=1 a lesson shows these instead of measuring again (minutes on a laptop); the
same cell measures live when asked. scripts/evaluate_checkpoints.py wrote them, and the model
cards quote them.

    show_digit_reports("ddpm-digits")   # prints real digits, noise and each sampler, n = 500
    adherence(guidance_scale=5.0)       # unet-shapes' held-out adherence at w = 5, n = 300

Every reader here reads a card's file through `metrics_json` and a digit row through `digit_report`."""

from __future__ import annotations

import json

from .digit_judge import DigitReport
from .paths import checkpoint_dir

DIGIT_MODELS = ("rbm-digits", "gan-digits", "ddpm-digits")
# what the card's "real" and "noise" rows are: the RBM's are binarised digits and random bits
_REFERENCES = {"rbm-digits": ("real digits, binary", "random bits")}


def metrics_json(name: str, path=None) -> dict:
    """Checkpoint `name`'s metrics.json (or the file at `path`) as a dict, or an error that says how to write it."""
    from pathlib import Path

    path = Path(path) if path is not None else checkpoint_dir(name) / "metrics.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run python scripts/evaluate_checkpoints.py {name}")
    return json.loads(path.read_text())


def digit_report(entry: dict, n: int) -> DigitReport:
    """One recorded row of the digit judge (confidence, classes, class_entropy, frechet, ...) as a DigitReport."""
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
    m = metrics_json(name)
    real, noise = _REFERENCES.get(name, ("real digits", "uniform noise"))
    out = {real: digit_report(m["real"], m["n"]), noise: digit_report(m["noise"], m["n"])}
    for s in m.get("samplers", []):                                   # ddpm-digits
        out[f"{s['sampler']} {s['steps']} steps"] = digit_report(s, m["n"])
    for s in m.get("gibbs", []):                                      # rbm-digits
        out[f"Gibbs {s['steps']} steps"] = digit_report(s, m["n"])
    if "generator" in m:                                              # gan-digits
        out["generator"] = digit_report(m["generator"], m["n"])
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


def adherence(guidance_scale: float = 2.0, two_object_fraction: float = 0.0, guidance_rescale: float = 0.0,
              num_inference_steps: int = 25, name: str = "unet-shapes", path=None) -> dict:
    """The shares the shipped checkpoint's model card recorded for plain guidance at these settings
    (its held-out one-object or two-object prompts), read from its metrics.json in either card
    format: {'colour': share, ..., 'all': share, 'n': prompts} (two objects: 'both_objects' too).

    Instant: nothing is generated. Presenter mode shows these instead of measuring (lesson 06).
    Example: adherence(guidance_scale=5.0)['all'] -> the card's 'all four right' at w = 5"""
    if two_object_fraction not in (0.0, 1.0):
        raise ValueError(f"the card records one-object (0.0) and two-object (1.0) prompts only, got "
                         f"two_object_fraction={two_object_fraction!r}; measure_adherence measures any mix")
    want = ("this", "two objects" if two_object_fraction else "single", "heldout", guidance_scale,
            guidance_rescale, num_inference_steps, "cfg")
    rows = card_rates(name, path)
    for r in rows:
        if (r["version"], r["set"], r["wording"], r["guidance"], r["rescale"], r["steps"], r["lever"]) == want:
            return {k: rate.value for k, rate in r["rates"].items()} | {"n": r["n"]}
    have = sorted({(r["set"], r["guidance"], r["rescale"], r["steps"]) for r in rows
                   if r["version"] == "this" and r["wording"] == "heldout" and r["lever"] == "cfg"})
    raise ValueError(f"{name}'s metrics.json records no plain-guidance row for (set, guidance, rescale, steps) = "
                     f"{want[1:2] + want[3:6]}; it has {have}. Measure it instead: measure_adherence(pipe, n, ...)")


def _rate(row: dict, key: str):
    """Row `row`'s rate for `key` as a stats.Rate: from its k and n (newer cards), or from the share and n
    an older card recorded (k = share * n, which must come out whole)."""
    from .stats import Rate

    if "rates" in row:
        return Rate(row["rates"][key]["k"], row["rates"][key]["n"]) if key in row["rates"] else None
    if key not in row:
        return None
    k = round(row[key] * row["n"])
    if abs(k - row[key] * row["n"]) > 1e-6 * row["n"]:
        raise ValueError(f"a recorded share {row[key]!r} of n = {row['n']} is no whole count: the card's row is damaged")
    return Rate(k, row["n"])


KEYS = ("colour", "shape", "size", "position", "background", "all", "both_objects")


def card_rates(name: str = "unet-shapes", path=None) -> list[dict]:
    """Every rate a text-to-image card recorded, as stats.Rate with its 95 % interval: one dict per
    row, {'version': 'this', 'previous' or an older version's label in 'history' (e.g. 'v3'), 'set', 'wording', 'guidance', 'rescale', 'lever', 'steps', 'n',
    'rates': {key: Rate}}. Reads both the older card format (shares and n) and the newer one (k and n).

    Example: next(r for r in card_rates() if r['set'] == 'two objects')['rates']['both_objects']"""
    m = metrics_json(name, path)
    prev = m.get("previous") or {}
    out = []
    versions = [("this", m.get("rows", [])), ("previous", prev.get("rows", []))]
    versions += [(h["version"], h["rows"]) for h in m.get("history") or []]
    for version, rows in versions:
        for row in rows:
            rates = {k: r for k in KEYS if (r := _rate(row, k)) is not None}
            wording = row.get("wording", "freeform" if row["set"] == "free-form" else "heldout")
            out.append({"version": version, "set": row["set"], "wording": wording, "guidance": row["guidance"],
                        "rescale": row.get("rescale", 0.0), "lever": row.get("lever", "cfg"),
                        "steps": row.get("steps", 25), "n": row["n"], "rates": rates})
    if not out:
        raise ValueError(f"{name}'s metrics.json records no rows of rates: is it a text-to-image card?")
    return out


def card_rate(set: str = "single", guidance: float = 2.0, key: str | None = None, version: str = "this",
              steps: int = 25, rescale: float = 0.0, name: str = "unet-shapes", path=None):
    """One recorded rate (a stats.Rate) of plain guidance: `key` defaults to 'both_objects' for the
    'two objects' set and 'all' otherwise. Raises, listing what the card has, when it recorded no such row."""
    key = key or ("both_objects" if set == "two objects" else "all")
    rows = card_rates(name, path)
    for r in rows:
        if (r["version"], r["set"], r["guidance"], r["steps"], r["rescale"], r["lever"]) == \
                (version, set, guidance, steps, rescale, "cfg") and r["wording"] != "varied" and key in r["rates"]:
            return r["rates"][key]
    have = sorted({(r["version"], r["set"], r["guidance"], r["steps"], r["rescale"]) for r in rows
                   if r["lever"] == "cfg" and r["wording"] != "varied"})
    raise ValueError(f"{name}'s metrics.json records no {key!r} for {(version, set, guidance, steps, rescale)}; "
                     f"it has (version, set, guidance, steps, rescale) in {have}")


def guidance_choice(name: str = "unet-shapes", path=None) -> dict:
    """The guidance scale w as the card chose it, with every rate a stats.Rate (presenter mode's
    instant stand-in for evaluation.choose_guidance, same keys):
    {'source', 'chosen', 'chosen_on', 'selection': {w: Rate}, 'report': {w: {key: Rate}},
     'rescaled': {w: Rate}, 'n_select', 'n_report'}.
    A newer card chose w on its selection set ('chosen_on': 'selection'); an older one, which has
    no selection set, chose it on the same prompts it reports ('chosen_on': 'report')."""
    m = metrics_json(name, path)
    plain = [r for r in card_rates(name, path) if r["version"] == "this" and r["set"] == "single"
             and r["wording"] == "heldout" and r["steps"] == 25 and r["lever"] == "cfg"]
    report = {r["guidance"]: r["rates"] for r in plain if r["rescale"] == 0.0}
    rescaled = {r["guidance"]: r["rates"]["all"] for r in plain if r["rescale"] > 0.0}
    if not report:
        raise ValueError(f"{name}'s metrics.json records no one-object rows at 25 steps")
    selection = {}
    if "selection" in m:
        from .stats import Rate

        for row in m["selection"]["rows"]:
            if row["lever"] == "cfg":
                selection[row["guidance"]] = Rate(row["single"]["all"]["k"], row["single"]["all"]["n"])
        chosen, on = m["chosen"]["cfg_guidance"], "selection"
    else:
        chosen, on = m.get("best_guidance", max((w for w in report if w > 1), key=lambda w: report[w]["all"].value)), "report"
    return {"source": f"recorded in assets/checkpoints/{name}/metrics.json", "chosen": chosen, "chosen_on": on,
            "selection": selection, "report": report, "rescaled": rescaled,
            "n_select": next(iter(selection.values())).n if selection else 0,
            "n_report": report[chosen]["all"].n}


def separation(name: str = "unet-shapes", path=None) -> dict:
    """The two-object lever at sampling time (attention separation, guidance.with_guidance's `separate`)
    as `evaluate_checkpoints.py unet-shapes --separation` recorded it, with every rate a stats.Rate:
    {'source', 'chosen': {'lever', 'settings'} (chosen on the selection set), 'n_select', 'n_two',
     'guidances', 'report': {(row, w): Rate} for row 'cfg', 'interval', 'chosen' (both objects right,
     report set), 'paired': {(other, w): McNemar's dict of 'chosen' against 'cfg' or 'interval'}}.

    Example: separation()["report"][("chosen", 2.0)] -> the chosen lever's two-object rate at w = 2"""
    from .stats import Rate

    m = metrics_json(name, path)
    if "separation" not in m:
        raise ValueError(f"{name}'s metrics.json records no attention separation: measure it with "
                         f"python scripts/evaluate_checkpoints.py {name} --separation (about 20 min on one thread)")
    s = m["separation"]
    report = {(r["name"], r["guidance"]): Rate(r["both_objects"]["k"], r["both_objects"]["n"]) for r in s["report"]}
    paired = {(p["b"], p["guidance"]): p for p in s["paired"] if p["a"] == "chosen"}
    return {"source": f"recorded in assets/checkpoints/{name}/metrics.json", "chosen": s["chosen"],
            "n_select": s["n_select"], "n_two": s["n_two"], "guidances": s["guidances"],
            "report": report, "paired": paired}


def teal_high_guidance(path=None) -> dict:
    """lora-teal at high guidance (w = 5) as `evaluate_checkpoints.py lora-teal --high-guidance` recorded it,
    every rate a stats.Rate: {'source', 'guidance', 'chosen': {'lever', 'settings'} (chosen on selection
    prompts), 'selection': [(lever, settings, Rate)], 'teal': {'cfg': Rate, 'chosen': Rate} (card prompts, with
    the adapters), 'old_all' and 'old_colour': {(how, who): Rate} for how 'cfg'/'chosen', who 'adapters'/'base',
    'paired': McNemar's dict of the chosen lever against plain CFG on the teal prompts}.

    Example: teal_high_guidance()["teal"]["chosen"] -> teal drawn at w = 5 with the chosen lever"""
    from .stats import Rate

    m = metrics_json("lora-teal", path)
    if "high_guidance" not in m:
        raise ValueError("lora-teal's metrics.json records no high-guidance run: measure it with "
                         "python scripts/evaluate_checkpoints.py lora-teal --high-guidance (about 15 min on one thread)")
    hg = m["high_guidance"]

    def rate(d):
        return Rate(d["k"], d["n"])

    rep = hg["report"]
    return {"source": "recorded in assets/checkpoints/lora-teal/metrics.json", "guidance": hg["guidance"],
            "chosen": hg["chosen"], "selection": [(r["lever"], r["settings"], rate(r["teal"])) for r in hg["selection"]],
            "teal": {how: rate(rep[f"{how}_adapters"]["teal"]) for how in ("cfg", "chosen")},
            "old_all": {(how, who): rate(rep[f"{how}_{who}"]["old_all"]) for how in ("cfg", "chosen") for who in ("adapters", "base")},
            "old_colour": {(how, who): rate(rep[f"{how}_{who}"]["old_colour"]) for how in ("cfg", "chosen") for who in ("adapters", "base")},
            "paired": hg["paired_teal"]}
