"""Lesson 08's prose against the lora-teal card: every sentence of the lesson (markdown and speaker
notes) that quotes the card's rates, verdicts, points or decibels must say what the card's
metrics.json says, so that a retrained adapter with a new card cannot leave the lesson telling the old
story. The phrases checked are the lesson's own:

    "drawn teal 10 % → 54 %"               the card's teal rates without and with the adapters (Rate, rounded)
    "teal target **missed**"              Rate.verdict(0.8) of the teal rate with the adapters
    "about 10 points down on all four"    the old colours' all-four change, rounded
    "2-point target **not met**"          whether that change is within the -2 the course allows
    "lose about 7 dB"                     the adapted VAE's PSNR loss on old-colour pictures, rounded"""

import json
import re
from pathlib import Path

import pytest

from course_utils.paths import checkpoint_dir
from course_utils.stats import Rate

LESSON = Path(__file__).resolve().parent.parent / "notebooks" / "08_make_it_yours.ipynb"


def prose(path=LESSON) -> str:
    """Every markdown cell of the lesson (speaker notes included), joined."""
    cells = json.loads(Path(path).read_text())["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def card_says(card: dict) -> dict:
    """What the lesson must say, computed from a lora-teal metrics.json."""
    on, off = card["rows"]["adapters"], card["rows"]["base"]
    teal_off, teal_on = (Rate(r["teal_colours"].get("teal", 0), card["n"]) for r in (off, on))
    old_off, old_on = (Rate(round(r["old"]["all"] * card["n_old"]), card["n_old"]) for r in (off, on))
    change = 100 * (old_on.value - old_off.value)
    return {"teal": (f"{100 * teal_off.value:.0f}", f"{100 * teal_on.value:.0f}"),
            "verdict": teal_on.verdict(0.8),
            "points": f"{abs(change):.0f} points {'down' if change < 0 else 'up'}",
            "old_target": "met" if change >= -2 else "not met",
            "db": f"{off['vae_old_psnr'] - on['vae_old_psnr']:.0f}"}


def mismatches(text: str, says: dict) -> list[str]:
    """The card-quoting phrases of `text` that disagree with `says` (and a note for each kind never quoted)."""
    found = {"teal": re.findall(r"drawn teal (\d+) % → (\d+) %", text),
             "verdict": re.findall(r"teal target \*\*([a-z ]+)\*\*", text),
             "points": re.findall(r"about (\d+ points (?:down|up)) on all four", text),
             "old_target": re.findall(r"2-point target \*\*([a-z ]+)\*\*", text),
             "db": re.findall(r"lose about (\d+) dB", text)}
    out = [f"{key}: the lesson never quotes it" for key, hits in found.items() if not hits]
    return out + [f"{key}: the lesson says {hit!r}, the card {says[key]!r}"
                  for key, hits in found.items() for hit in hits if hit != says[key]]


def test_lesson_08_quotes_the_shipped_lora_teal_card():
    card = json.loads((checkpoint_dir("lora-teal") / "metrics.json").read_text())
    assert mismatches(prose(), card_says(card)) == []


def test_a_different_card_is_caught():
    card = json.loads((checkpoint_dir("lora-teal") / "metrics.json").read_text())
    card["rows"]["adapters"]["teal_colours"]["teal"] = 92                 # a retrained adapter that draws teal more
    card["rows"]["adapters"]["old"]["all"] = card["rows"]["base"]["old"]["all"] - 0.004
    card["rows"]["adapters"]["vae_old_psnr"] = card["rows"]["base"]["vae_old_psnr"] - 1.0
    wrong = mismatches(prose(), card_says(card))
    assert {w.split(":")[0] for w in wrong} == {"teal", "verdict", "points", "old_target", "db"}
    assert mismatches("nothing quoted here", card_says(card)) and len(mismatches("", card_says(card))) == 5


@pytest.mark.parametrize("k, verdict", [(92, "met"), (85, "not ruled out"), (54, "missed")])
def test_the_verdict_follows_the_interval(k, verdict):
    card = json.loads((checkpoint_dir("lora-teal") / "metrics.json").read_text())
    card["rows"]["adapters"]["teal_colours"]["teal"] = k
    assert card_says(card)["verdict"] == verdict
