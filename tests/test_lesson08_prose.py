"""Lesson 08's prose against the lora-teal card and training log, so that a retrained adapter with a new
card cannot leave the lesson telling the old story.

The card's numbers are printed by two code cells (section 3, "What did it forget?"): the card's lines,
and a paragraph beginning "In short:" computed from the same metrics.json. Those cells are run here on
the shipped card and on changed copies of it, and must print what the card says.

The markdown (speaker notes and the summary included) may name the verdicts, and where it quotes one of
the card's numbers it must be the card's. The phrases checked are the lesson's own:

    "teal target **missed**"              Rate.verdict(0.8) of the teal rate with the adapters (must appear)
    "2-point target **not ruled out**"    stats.loss_verdict of the old colours' paired all-four change against
                                          a loss of 2 points (must appear)
    "drawn teal 10 % → 54 %"               the card's teal rates without and with the adapters, if quoted
    "about 10 points down on all four"    the old colours' all-four change, rounded, if quoted
    "lose about 7 dB"                     the adapted VAE's PSNR loss on old-colour pictures, rounded, if quoted
    "weighs ten times teal's"             the training log's unet_preserve_weight, if quoted
    "from 141 teal pictures"              the training log's teal_examples, if quoted"""

import contextlib
import copy
import io
import json
import re
import textwrap
from pathlib import Path

import pytest

from course_utils.paths import checkpoint_dir
from course_utils.stats import Rate, loss_verdict

LESSON = Path(__file__).resolve().parent.parent / "notebooks" / "08_make_it_yours.ipynb"
REQUIRED = ("verdict", "old_target")
WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "twenty": 20, "thirty": 30}


def cells(path=None) -> list[dict]:
    return json.loads(Path(path or LESSON).read_text())["cells"]


def prose(path=None) -> str:
    """Every markdown cell of the lesson (speaker notes included), joined."""
    return "\n\n".join("".join(c["source"]) for c in cells(path) if c["cell_type"] == "markdown")


def card_cells(path=None) -> str:
    """The source of the code cells that print the card: its lines (two cells, one slide each: teal, then the
    old colours and the VAE), then the "In short:" paragraph."""
    code = ["".join(c["source"]) for c in cells(path) if c["cell_type"] == "code"]
    at = [i for i, s in enumerate(code) if "the model card's counts as Rates" in s]
    short = [s for s in code if "In short:" in s]
    assert len(at) == 1 and len(short) == 1, "lesson 08 should have one cell of card lines and one 'In short:' cell"
    return code[at[0]] + "\n" + code[at[0] + 1] + "\n" + short[0]


def card() -> dict:
    return json.loads((checkpoint_dir("lora-teal") / "metrics.json").read_text())


def log() -> dict:
    return json.loads((checkpoint_dir("lora-teal") / "training_log.json").read_text())


def card_says(card: dict, log: dict | None = None) -> dict:
    """What the lesson must say, computed from a lora-teal metrics.json (and training_log.json)."""
    on, off = card["rows"]["adapters"], card["rows"]["base"]
    teal_off, teal_on = (Rate(r["teal_colours"].get("teal", 0), card["n"]) for r in (off, on))
    old_off, old_on = (Rate(round(r["old"]["all"] * card["n_old"]), card["n_old"]) for r in (off, on))
    change = 100 * (old_on.value - old_off.value)
    says = {"teal": (f"{100 * teal_off.value:.0f}", f"{100 * teal_on.value:.0f}"),
            "verdict": teal_on.verdict(0.8),
            "points": f"{abs(change):.0f} points {'down' if change < 0 else 'up'}",
            "old_target": loss_verdict(card["paired_old"]["all"], 0.02),
            "db": f"{off['vae_old_psnr'] - on['vae_old_psnr']:.0f}"}
    if log is not None:
        says |= {"weight": f"{log['unet_preserve_weight']:g}", "pictures": str(log["teal_examples"])}
    return says


def mismatches(text: str, says: dict) -> list[str]:
    """The card-quoting phrases of `text` that disagree with `says`, and a note for each required one never quoted."""
    found = {"teal": re.findall(r"drawn teal (\d+) % → (\d+) %", text),
             "verdict": re.findall(r"teal target \*\*([a-z ]+)\*\*", text),
             "points": re.findall(r"about (\d+ points (?:down|up)) on all four", text),
             "old_target": re.findall(r"2-point target \*\*([a-z ]+)\*\*", text),
             "db": re.findall(r"lose about (\d+) dB", text),
             "weight": [str(WORDS.get(w, w)) for w in re.findall(r"weighs (\w+) times teal's", text)],
             "pictures": re.findall(r"from (\d+) teal pictures", text)}
    out = [f"{key}: the lesson never says it" for key in REQUIRED if not found[key]]
    return out + [f"{key}: the lesson says {hit!r}, the card {says[key]!r}"
                  for key, hits in found.items() if key in says for hit in hits if hit != says[key]]


def printed(card: dict, source: str | None = None) -> str:
    """What the lesson's card cells print for `card` (their source, or `source` in their place)."""
    ns = {"card": card, "c_on": card["rows"]["adapters"], "c_off": card["rows"]["base"], "Rate": Rate,
          "loss_verdict": loss_verdict, "textwrap": textwrap}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source or card_cells(), ns)
    return " ".join(out.getvalue().split())          # the paragraph's line breaks as spaces


def wrong_in_print(text: str, card: dict) -> list[str]:
    """What the "In short:" paragraph of `text` gets wrong about `card`."""
    says, on, off = card_says(card), card["rows"]["adapters"], card["rows"]["base"]
    change = 100 * (on["old"]["all"] - off["old"]["all"])
    short = text[text.index("In short:"):]
    want = [f"teal for {says['teal'][1]} % of the card's teal prompts, the base model for {says['teal'][0]} %",
            f"(teal target {says['verdict']})", f"{abs(change):.1f} points {'down' if change < 0 else 'up'} on all four right",
            f"(2-point target {says['old_target']}, judged on the change's 95 % interval)",
            f"both {100 * on['old']['position']:.1f} %, none {100 * off['old']['position']:.1f} %",
            f"{off['vae_old_psnr'] - on['vae_old_psnr']:.1f} dB lower"]
    return [w for w in want if w not in short]


def changed_card() -> dict:
    """The shipped card with every number the lesson quotes moved: another teal verdict, another 2-point verdict."""
    c = copy.deepcopy(card())
    on, off = c["rows"]["adapters"], c["rows"]["base"]
    shipped = Rate(on["teal_colours"].get("teal", 0), c["n"]).verdict(0.8)
    on["teal_colours"]["teal"] = 54 if shipped == "met" else 92                    # a verdict other than the card's
    kept = loss_verdict(c["paired_old"]["all"], 0.02) == "met"                      # the shipped 2-point verdict
    loss = 0.05 if kept else 0.004                                                  # and another one
    on["old"]["all"] = off["old"]["all"] - loss
    c["paired_old"]["all"] |= {"difference": -loss, "low": -loss - (0.04 if kept else 0.01), "high": -loss + 0.01}
    on["old"]["position"] = off["old"]["position"] - 0.002
    on["vae_old_psnr"] = off["vae_old_psnr"] - 1.0
    return c


def test_lesson_08_prose_agrees_with_the_shipped_lora_teal_card():
    assert mismatches(prose(), card_says(card(), log())) == []


@pytest.mark.parametrize("which", ["shipped", "changed"])
def test_the_card_cells_print_what_the_card_says(which):
    c = card() if which == "shipped" else changed_card()
    assert wrong_in_print(printed(c), c) == []


def test_a_typed_card_cell_is_caught():
    """Negative control: the paragraph with the shipped card's teal rate and verdict typed in, run on a changed card."""
    source, c = card_cells(), changed_card()
    says = card_says(card())
    typed = (source.replace("{100 * teal_on.value:.0f} %", f"{says['teal'][1]} %")
                   .replace("{teal_on.verdict(0.8)}", says["verdict"]))
    assert typed != source
    assert wrong_in_print(printed(c, typed), c) and not wrong_in_print(printed(c), c)


def test_a_different_card_is_caught():
    c, training = changed_card(), dict(log(), unet_preserve_weight=3.0, teal_examples=64)
    says = card_says(card())                                                        # the shipped card's numbers, quoted
    text = prose() + (f"\n drawn teal {says['teal'][0]} % → {says['teal'][1]} %, about {says['points']} on all four, "
                      f"lose about {says['db']} dB")
    wrong = mismatches(text, card_says(c, training))
    assert {w.split(":")[0] for w in wrong} >= {"teal", "verdict", "points", "old_target", "db", "weight", "pictures"}
    assert len(mismatches("", card_says(c))) == len(REQUIRED)


@pytest.mark.parametrize("k, verdict", [(92, "met"), (85, "not ruled out"), (54, "missed")])
def test_the_verdict_follows_the_interval(k, verdict):
    c = card()
    c["rows"]["adapters"]["teal_colours"]["teal"] = k
    assert card_says(c)["verdict"] == verdict
