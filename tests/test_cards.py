"""Model cards are generated, not written: each shipped README.md is its template
(course_utils/card_templates/<name>.md.jinja) filled with the checkpoint's metrics.json,
training_log.json and config, and every number in a card's tables is one of those files' numbers.
Settings a template types into a table (a data range, a warm-up length, a citation's year) are
declared in the template's "typed in tables" comment; a measured number may not be."""

from __future__ import annotations

import importlib
import json
import math
import re
import shutil
import sys

import pytest

import course_utils.paths as paths
from course_utils.cards import TEMPLATES, render_card
from course_utils.registry import REGISTRY

TEMPLATED = [name for name in REGISTRY if (TEMPLATES / f"{name}.md.jinja").exists()]
NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e-?\d+)?(?![\w]|\.\d)")
SCALES = (1, 100, 1000, 1 / 60)  # as measured; shares written in %; seconds written in ms; seconds written in minutes


def _json(folder, name: str) -> dict:
    path = folder / name
    return json.loads(path.read_text()) if path.exists() else {}


def _numbers(obj) -> list[float]:
    """Every number in a JSON value: its numbers, and those written in its strings and keys
    ('final_loss_mean_last_200' -> 200)."""
    if isinstance(obj, bool) or obj is None:
        return []
    if isinstance(obj, (int, float)):
        return [obj]
    if isinstance(obj, str):
        return [float(x) for x in re.findall(r"\d+(?:\.\d+)?(?:e-?\d+)?", obj)]
    items = obj.items() if isinstance(obj, dict) else enumerate(obj)
    return [x for k, v in items for x in _numbers(v) + (_numbers(k) if isinstance(k, str) else [])]


def _shows(text: str, value: float) -> bool:
    """Is `text` (a number as the card writes it) `value` in one of the card's units, rounded as written?"""
    plain = text.replace(",", "")
    if "e" in plain:                     # written with %g: as many significant digits as shown
        digits = len(plain.split("e")[0].replace(".", "").lstrip("-"))
        return math.isclose(float(plain), float(f"{value:.{digits - 1}e}"), rel_tol=1e-9)
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return any(f"{value * scale:.{decimals}f}" == plain for scale in SCALES)


def typed_settings(name: str) -> set[str]:
    """The numbers a template declares it types into its tables (settings, not measurements)."""
    found = re.search(r"typed in tables[^:]*:([^#]*)#}", (TEMPLATES / f"{name}.md.jinja").read_text())
    return set(found.group(1).split()) if found else set()


def unexplained_numbers(card: str, folder, name: str) -> list[str]:
    """The numbers in the card's table lines that are neither in metrics.json or training_log.json
    nor declared as typed settings, each with its line."""
    values = _numbers(_json(folder, "metrics.json")) + _numbers(_json(folder, "training_log.json"))
    typed = typed_settings(name)
    return [f"{text!r} in {line!r}" for line in card.splitlines() if line.startswith("|")
            for text in NUMBER.findall(line)
            if text not in typed and not any(_shows(text, v) for v in values)]


def _copy(name: str, tmp_path, monkeypatch):
    """The checkpoint's JSON files in a temporary checkpoint folder that render_card reads."""
    src, dst = paths.checkpoint_dir(name), tmp_path / name
    shutil.copytree(src, dst, ignore=lambda d, files: [f for f in files if f.endswith((".safetensors", ".md"))])
    (dst / "placeholder.safetensors").write_bytes(b"")  # checkpoint_dir wants weights to be there
    monkeypatch.setattr(paths, "CHECKPOINTS", tmp_path)
    return dst


def _float_leaves(obj, path=()):
    """(path, value) of every float in a JSON value, outside its "host" record."""
    if isinstance(obj, float):
        yield path, obj
    elif isinstance(obj, (dict, list)):
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for k, v in items:
            if path or k != "host":
                yield from _float_leaves(v, (*path, k))


def _set(obj, path, value):
    for k in path[:-1]:
        obj = obj[k]
    obj[path[-1]] = value


@pytest.mark.parametrize("name", list(REGISTRY))
def test_a_measured_checkpoint_has_a_template(name):
    has_metrics = (paths.checkpoint_dir(name, must_exist=False) / "metrics.json").exists()
    if name not in TEMPLATED:
        assert not has_metrics, (f"{name} has metrics.json but no card template: write "
                                 f"course_utils/card_templates/{name}.md.jinja")
        pytest.skip(f"{name}: its card is not generated yet")
    assert has_metrics, f"no metrics.json for {name}: run python scripts/evaluate_checkpoints.py {name}"


@pytest.mark.parametrize("name", TEMPLATED)
def test_the_card_on_disk_is_the_rendered_card(name):
    on_disk = (paths.checkpoint_dir(name) / "README.md").read_text()
    assert render_card(name) == on_disk, (
        f"assets/checkpoints/{name}/README.md differs from its template: edit the template and run "
        f"python scripts/evaluate_checkpoints.py {name} --render")


@pytest.mark.parametrize("name", TEMPLATED)
def test_every_number_in_the_tables_comes_from_the_json(name):
    folder = paths.checkpoint_dir(name)
    card = render_card(name)
    assert sum(line.startswith("|") for line in card.splitlines()) >= 5
    assert unexplained_numbers(card, folder, name) == []


@pytest.mark.parametrize("name", TEMPLATED)
def test_changing_a_measurement_changes_the_card(name, tmp_path, monkeypatch):
    """The negative control: each measured number of metrics.json, changed alone in a copy, changes
    the card; and the number check above catches a card rendered from other measurements."""
    folder = _copy(name, tmp_path, monkeypatch)
    original = json.loads((folder / "metrics.json").read_text())
    card = render_card(name)
    leaves = list(_float_leaves(original))
    assert leaves
    for path, value in leaves:
        changed = json.loads(json.dumps(original))
        _set(changed, path, value * 1.37 + 0.11)
        (folder / "metrics.json").write_text(json.dumps(changed))
        assert render_card(name) != card, f"metrics.json {'/'.join(map(str, path))} does not reach the card"
    changed = json.loads(json.dumps(original))
    for path, value in leaves:
        _set(changed, path, value * 1.37 + 0.11)
    (folder / "metrics.json").write_text(json.dumps(changed))
    other = render_card(name)
    (folder / "metrics.json").write_text(json.dumps(original))
    assert unexplained_numbers(other, folder, name), "the number check let other measurements through"


def test_the_number_check_reads_cards_as_written():
    assert NUMBER.findall("| 1,797 digits in [-1, 1], lr 0.0002, betas (0.5, 0.999), 10/10, x86_64, 16x16 |") == \
        ["1,797", "-1", "1", "0.0002", "0.5", "0.999", "10", "10"]
    assert _shows("50.0", 2999.1) and _shows("375", 0.3751) and _shows("1,797", 1797) and not _shows("0.87", 0.8649)
    assert _shows("8.38e-16", 8.3819e-16) and not _shows("8.38e-16", 8.3719e-16) and _shows("1.2e-05", 1.2e-5)
    assert 200 in _numbers({"final_loss_mean_last_200": 0.025})


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in TEMPLATED if n != "unet-shapes"])
def test_the_card_renders_from_a_log_written_by_fit(name, tmp_path, monkeypatch):
    """A checkpoint rebuilt by today's training driver (2 steps) logs other keys than the shipped
    ones (steps not epochs, num_processes, loss_every_100): its card still renders, numbers checked."""
    monkeypatch.syspath_prepend(str(paths.ROOT / "scripts"))
    script = importlib.import_module(f"train_{name.replace('-', '_')}")
    out = tmp_path / name
    short = {"lora-teal": ["--decoder-steps", "2", "--examples", "12"],   # its second loop, shortened too
             "lcm-shapes": ["--scenes", "64", "--cache", str(tmp_path / "cache")]}.get(name, [])   # few scenes to encode
    script.main(["--steps", "2", "--threads", "1", "--out", str(out), "--state", str(tmp_path / "state.safetensors"),
                 *short])
    shutil.copy(paths.checkpoint_dir(name) / "metrics.json", out / "metrics.json")
    monkeypatch.setattr(paths, "CHECKPOINTS", tmp_path)
    log = json.loads((out / "training_log.json").read_text())
    assert "num_processes" in log
    card = render_card(name)
    assert unexplained_numbers(card, out, name) == []
    sys.modules.pop(f"train_{name.replace('-', '_')}", None)
