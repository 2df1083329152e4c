"""Model cards rendered from measurements: assets/checkpoints/<name>/README.md is
course_utils/card_templates/<name>.md.jinja filled with that folder's metrics.json (written by
scripts/evaluate_checkpoints.py), training_log.json (written by the training script), config and, where
there is one, reader_audit.json and experiments.json. No number in a card is typed by hand: a card's
experiment log (what was tried and what it measured, lora-teal's "What did not work") is data too, in
experiments.json, each entry's sentence with named values filled in by `fill`.

    python scripts/evaluate_checkpoints.py unet-shapes            # measure, write metrics.json, render
    python scripts/evaluate_checkpoints.py unet-shapes --render   # render again from the JSON files

experiments.json holds {"about": "...", "sections": [section, ...]}, a section being a bullet of the card:

    {"text": "**What each change bought** ({n_teal} teal prompts, seed {seed}):",   # the bullet
     "values": {"n_teal": 48, "seed": 2024},                # named in the section's texts and its items'
     "items": [{"text": "v1: {teal} of {n_teal}, {all:.1f} %", "values": {"teal": 21, "all": 68.8}}],
     "after": "a closing paragraph of the bullet, after its items"}               # items, after: optional

Texts are str.format templates ({name}, {name:.1f}, {name:,}, {run[teal]} for a value that is a dict);
`card` and `log` name the checkpoint's metrics.json and training_log.json ("now {card[n_old]} prompts")."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parent / "card_templates"
VERSION = re.compile(r"\bv\d+\b")       # a model's version name (v2, v3) is a name, not a figure


def _read(path: Path) -> dict:
    return json.loads(path.read_text()) if path.exists() else {}


def pct(x: float, digits: int = 1) -> str:
    """0.8125 -> '81.2 %' (the cards' way of writing a share)."""
    return f"{100 * x:.{digits}f} %"


def typed_digits(text: str) -> list[str]:
    """The figures typed into a text of experiments.json rather than named: its digits outside the
    {fields}, a version name such as v3 excepted. Example: typed_digits("{k} of 48 teal") -> ['48']"""
    literal = "".join(part for part, *_ in string.Formatter().parse(text))
    return re.findall(r"\d+(?:[.,]\d+)*", VERSION.sub("", literal))


def fill(text: str, values: dict, where: str = "a card's text") -> str:
    """`text` with its {fields} filled from `values` (str.format_map); `where` names it in errors.

    Example: fill("{k} of {n} teal, {all:.1f} %", {"k": 44, "n": 48, "all": 79.7}) -> '44 of 48 teal, 79.7 %'"""
    if typed_digits(text):
        raise ValueError(f"{where} types the figures {typed_digits(text)} into its text ({text[:60]!r}...): "
                         f"give each a name, write {{name}} in the text and the number in the entry's \"values\"")
    try:
        return text.format_map(values)
    except KeyError as missing:
        raise ValueError(f"{where} names {{{missing.args[0]}}} but its \"values\" (and its section's) have no "
                         f"{missing.args[0]!r}: add it, or fix the name in the text") from None


def _named(text: str) -> set[str]:
    return {re.match(r"\w+", field).group() for _, field, *_ in string.Formatter().parse(text) if field}


def history(experiments: dict, card: dict, log: dict) -> list[dict]:
    """A card's experiments.json filled in: each section as {"text", "items": [str], "after"}, ready to lay
    out as bullets; [] without one. A value no text of its section names is an error too (a dropped figure)."""
    out = []
    for i, section in enumerate(experiments.get("sections", [])):
        where = f"experiments.json sections[{i}] ({section['text'][:40]!r}...)"
        shared = {**section.get("values", {}), "card": card, "log": log}
        items = [fill(item["text"], {**shared, **item.get("values", {})}, f"{where} items[{j}]")
                 for j, item in enumerate(section.get("items", []))]
        texts = [section["text"], section.get("after", "")] + [item["text"] for item in section.get("items", [])]
        unused = set(section.get("values", {})) - set().union(*map(_named, texts))
        unused |= {k for j, item in enumerate(section.get("items", [])) for k in item.get("values", {})
                   if k not in _named(item["text"])}
        if unused:
            raise ValueError(f"{where}: no text names the values {sorted(unused)}: write them in, or drop them")
        out.append({"text": fill(section["text"], shared, where), "items": items,
                    "after": fill(section.get("after", ""), shared, f"{where} after")})
    return out


def experiment(name: str, key: str) -> dict:
    """The "values" of the entry of checkpoint `name`'s experiments.json whose "id" is `key`: the figures of one
    logged experiment, for a lesson to print. Example: experiment("lora-teal", "where")["vo_all"]["pct"] -> 95.0"""
    from .paths import checkpoint_dir

    log = _read(checkpoint_dir(name) / "experiments.json")
    entries = [e for s in log.get("sections", []) for e in [s, *s.get("items", [])]]
    found = [e.get("values", {}) for e in entries if e.get("id") == key]
    if not found:
        ids = sorted(e["id"] for e in entries if "id" in e)
        raise KeyError(f"{name}'s experiments.json has no entry with id {key!r}; its ids: {ids or 'none'}")
    return found[0]


def derived(name: str, m: dict) -> dict:
    """The numbers a card computes from its metrics.json (a change between two rows), by name: the
    template shows them by name, and tests/test_cards.py counts them as measured. {} for most cards."""
    if name != "lora-teal" or "rows" not in m:
        return {}
    on, off = m["rows"]["adapters"], m["rows"]["base"]
    return {"old_all": 100 * (on["old"]["all"] - off["old"]["all"]),          # points, with minus without
            "old_colour": 100 * (on["old"]["colour"] - off["old"]["colour"]),
            "psnr_lost": off["vae_old_psnr"] - on["vae_old_psnr"],              # dB
            "picture_seed": m["seed"] + 1,                                      # evaluate_lora's VAE pictures
            **_targets(m),
            **_high_guidance_changes(m.get("high_guidance"))}


def _targets(m: dict) -> dict:
    """lora-teal's verdicts on its 95 % intervals: teal drawn (Wilson) against 80 %, and the old colours' paired
    change (all four right, colour right) against a loss of 2 points; {} for a card measured before the pairs."""
    from .stats import Rate, loss_verdict

    if "paired_old" not in m:
        return {}
    teal = Rate(m["rows"]["adapters"]["teal_colours"].get("teal", 0), m["n"])
    return {"teal": teal.as_dict(), "teal_verdict": teal.verdict(0.8),
            **{f"old_{key}_verdict": loss_verdict(m["paired_old"][key], 0.02) for key in ("all", "colour")}}


def _high_guidance_changes(hg: dict | None) -> dict:
    """lora-teal at w = 5: what the adapters cost the old colours under each way of guiding (points)."""
    if not hg:
        return {}
    r = hg["report"]
    out = {f"hg_{how}_{what}": 100 * (r[f"{how}_adapters"][what]["rate"] - r[f"{how}_base"][what]["rate"])
           for how in ("cfg", "chosen") for what in ("old_all", "old_colour")}
    if "paired_old" in hg:
        from .stats import loss_verdict

        out |= {f"hg_{how}_old_all_verdict": loss_verdict(hg["paired_old"][how]["all"], 0.02) for how in ("cfg", "chosen")}
    return out


def render_card(name: str) -> str:
    """The model card of checkpoint `name`, rendered from its measurements."""
    import jinja2

    from .paths import checkpoint_dir

    folder = checkpoint_dir(name)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = pct
    config = _read(folder / "config.json") or _read(folder / "unet" / "config.json")
    m, log = _read(folder / "metrics.json"), _read(folder / "training_log.json")
    return env.get_template(f"{name}.md.jinja").render(
        m=m, log=log, config=config, name=name, audit=_read(folder / "reader_audit.json"),
        derived=derived(name, m), history=history(_read(folder / "experiments.json"), m, log))
