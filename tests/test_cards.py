"""Model cards are generated, not written: each shipped README.md is its template
(course_utils/card_templates/<name>.md.jinja) filled with the checkpoint's metrics.json,
training_log.json, config, reader_audit.json and experiments.json (the experiment log, its sentences'
figures as named values), and every number in a card, tables and prose, is one of those files' numbers
or one that course_utils.cards.derived computes from them. Settings a template types (a data range, a
target, a lesson's number, a citation's year) are declared in the template's "typed in tables and prose"
comment; a measured number may not be."""

from __future__ import annotations

import importlib
import json
import math
import re
import shutil
import string
import sys

import pytest

import course_utils.cards as cards
import course_utils.paths as paths
from course_utils.cards import TEMPLATES, render_card
from course_utils.registry import REGISTRY

TEMPLATED = [name for name in REGISTRY if (TEMPLATES / f"{name}.md.jinja").exists()]
NUMBER = re.compile(r"(?<![\w.])-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e-?\d+)?(?![\w]|\.\d)")
SCALES = (1, 100, 1000, 1 / 60, 1e-6)  # as measured; shares in %; seconds in ms; seconds in minutes; counts in millions


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
    """The numbers a template declares it types into its tables and prose (settings, not measurements)."""
    found = re.search(r"typed in tables[^:]*:([^#]*)#}", (TEMPLATES / f"{name}.md.jinja").read_text())
    return set(found.group(1).split()) if found else set()


def _texts(experiments: dict):
    """(where, text) of every sentence of an experiments.json."""
    for i, section in enumerate(experiments.get("sections", [])):
        yield f"sections[{i}]", section["text"]
        yield f"sections[{i}] after", section.get("after", "")
        for j, item in enumerate(section.get("items", [])):
            yield f"sections[{i}] items[{j}]", item["text"]


def _experiment_values(experiments: dict) -> list:
    """The "values" of every section and item of an experiments.json (not its texts)."""
    sections = experiments.get("sections", [])
    return [s.get("values", {}) for s in sections] + [i.get("values", {}) for s in sections for i in s.get("items", [])]


def measured(folder, name: str) -> list[float]:
    """Every number a card may show: those of its JSON files (the model's config included) and those
    cards.derived computes from them."""
    metrics, config = _json(folder, "metrics.json"), _json(folder, "config.json") or _json(folder, "unet/config.json")
    return (_numbers(metrics) + _numbers(_json(folder, "training_log.json")) + _numbers(_json(folder, "reader_audit.json"))
            + _numbers(config)
            + _numbers(_experiment_values(_json(folder, "experiments.json"))) + _numbers(cards.derived(name, metrics)))


def unexplained_numbers(card: str, folder, name: str) -> list[str]:
    """The numbers in the card, tables and prose, that are neither in its JSON files (or derived from
    them) nor declared as typed settings, each with its line."""
    values, typed = measured(folder, name), typed_settings(name)
    shown: dict[int, set[str]] = {}        # decimals -> every value, in every unit, written with that many

    def explained(text: str) -> bool:      # any(_shows(text, v) for v in values), with a table per decimals
        plain = text.replace(",", "")
        if "e" in plain:
            return any(_shows(text, v) for v in values)
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        if decimals not in shown:
            shown[decimals] = ({f"{v * scale:.{decimals}f}" for v in values for scale in SCALES}
                               | {f"{v / 60:.{decimals}f}" for v in values})   # seconds / 60, as templates divide
                               # (429 / 60 prints 7.2, 429 * (1 / 60) prints 7.1)
        return plain in shown[decimals]

    return [f"{text!r} in {line!r}" for line in card.splitlines() for text in NUMBER.findall(line)
            if text not in typed and not explained(text)]


def _copy(name: str, tmp_path, monkeypatch):
    """The checkpoint's JSON files in a temporary checkpoint folder that render_card reads."""
    src, dst = paths.checkpoint_dir(name), tmp_path / name
    shutil.copytree(src, dst, ignore=lambda d, files: [f for f in files if f.endswith((".safetensors", ".md"))])
    (dst / "placeholder.safetensors").write_bytes(b"")  # checkpoint_dir wants weights to be there
    monkeypatch.setattr(paths, "CHECKPOINTS", tmp_path)
    return dst


def _float_leaves(obj, path=()):
    """(path, value) of every float in a JSON value, outside its "host" records (the machine a measurement
    ran on: the card names it through card.host; a part measured apart, like high_guidance, has its own)."""
    if isinstance(obj, float):
        yield path, obj
    elif isinstance(obj, (dict, list)):
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        for k, v in items:
            if k != "host":
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
def test_every_number_in_the_card_comes_from_the_json(name):
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


def typed_in_template(name: str) -> list[str]:
    """The numbers a template types outside its {{ expressions }}, {% tags %} and {# comments #} that its
    "typed in tables and prose" comment does not declare, each with its line."""
    text = re.sub(r"\{#.*?#\}", "", (TEMPLATES / f"{name}.md.jinja").read_text(), flags=re.S)
    text, typed = re.sub(r"\{\{.*?\}\}|\{%.*?%\}", " ", text, flags=re.S), typed_settings(name)
    return [f"{t!r} in {line.strip()!r}" for line in text.splitlines() for t in NUMBER.findall(line) if t not in typed]


@pytest.mark.parametrize("name", TEMPLATED)
def test_every_number_a_template_types_is_declared(name):
    """A measured number typed into a template's prose would pass the card check whenever it happens to equal
    one of the JSON files' numbers; so every typed number is declared as a setting, or computed."""
    assert typed_in_template(name) == [], (
        f"{name}.md.jinja types numbers it does not declare: compute each from the JSON files, or (a setting, a "
        f"lesson's number, a citation's year) list it in the template's 'typed in tables and prose' comment")


def test_a_typed_number_in_a_template_is_caught(tmp_path, monkeypatch):
    """Negative control: lora-teal's template with today's forgetting typed into its prose fails both checks,
    the template's (an undeclared number) and, once the measurements change, the card's."""
    folder = _copy("lora-teal", tmp_path, monkeypatch)
    shutil.copytree(TEMPLATES, tmp_path / "templates")
    monkeypatch.setattr(cards, "TEMPLATES", tmp_path / "templates")
    monkeypatch.setattr(sys.modules[__name__], "TEMPLATES", tmp_path / "templates")
    template = tmp_path / "templates" / "lora-teal.md.jinja"
    metrics = _json(folder, "metrics.json")         # a change no other number of the card's files happens to equal
    metrics["rows"]["adapters"]["old"]["all"] = metrics["rows"]["base"]["old"]["all"] - 0.0737
    (folder / "metrics.json").write_text(json.dumps(metrics))
    expression = '{{ "%+.1f"|format(derived.old_all) }} points and'
    today = f'{cards.derived("lora-teal", _json(folder, "metrics.json"))["old_all"]:+.1f} points and'
    assert expression in template.read_text()
    template.write_text(template.read_text().replace(expression, today))
    typed = today.split()[0].lstrip("+")            # NUMBER reads a sign only when it is a minus
    assert any(line.startswith(repr(typed)) for line in typed_in_template("lora-teal"))
    metrics = _json(folder, "metrics.json")
    metrics["rows"]["adapters"]["old"]["all"] -= 0.031
    (folder / "metrics.json").write_text(json.dumps(metrics))
    assert any(line.startswith(repr(typed)) for line in unexplained_numbers(render_card("lora-teal"), folder, "lora-teal"))


WITH_EXPERIMENTS = [n for n in TEMPLATED if (paths.checkpoint_dir(n) / "experiments.json").exists()]


@pytest.mark.parametrize("name", WITH_EXPERIMENTS)
def test_an_experiment_log_types_no_figures(name):
    """Each sentence of experiments.json names its figures ({teal} of {n}); the numbers are in its "values"."""
    experiments = _json(paths.checkpoint_dir(name), "experiments.json")
    assert experiments["about"] and not cards.typed_digits(experiments["about"])
    typed = {where: cards.typed_digits(text) for where, text in _texts(experiments) if cards.typed_digits(text)}
    assert typed == {}, f"experiments.json of {name} types figures into its texts: {typed}"


@pytest.mark.parametrize("name", WITH_EXPERIMENTS)
def test_a_figure_typed_into_an_experiment_is_refused(name, tmp_path, monkeypatch):
    """Negative control: a copy whose second item types one of its figures, or names a value it lacks, does not render."""
    folder = _copy(name, tmp_path, monkeypatch)
    experiments = _json(folder, "experiments.json")
    i, section = next((i, s) for i, s in enumerate(experiments["sections"]) if len(s.get("items", [])) > 1)
    item = section["items"][1]
    field = next(f for _, f, *_ in string.Formatter().parse(item["text"]) if f and f in item.get("values", {}))
    for text, error in ((item["text"].replace("{" + field, "7{" + field, 1), "types the figures ['7']"),
                        (item["text"].replace("{" + field, "{no_such_" + field, 1), "no_such_")):
        changed = json.loads(json.dumps(experiments))
        changed["sections"][i]["items"][1]["text"] = text
        (folder / "experiments.json").write_text(json.dumps(changed))
        with pytest.raises(ValueError, match=re.escape(f"sections[{i}]")) as refused:
            render_card(name)
        assert "items[1]" in str(refused.value) and error in str(refused.value)


def _number_leaves(obj, path=()):
    """(path, value) of every number in a JSON value."""
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        yield path, obj
    elif isinstance(obj, (dict, list)):
        for k, v in obj.items() if isinstance(obj, dict) else enumerate(obj):
            yield from _number_leaves(v, (*path, k))


@pytest.mark.parametrize("name", WITH_EXPERIMENTS)
def test_changing_an_experiment_changes_the_card(name, tmp_path, monkeypatch):
    """Negative control for the log: each of its numbers, changed alone in a copy, changes the card (so
    none is left unshown); with all of them changed the card still passes the number check."""
    folder = _copy(name, tmp_path, monkeypatch)
    original, card = _json(folder, "experiments.json"), render_card(name)
    leaves = list(_number_leaves(original["sections"]))
    assert len(leaves) > 100 if name == "lora-teal" else leaves
    every = json.loads(json.dumps(original))
    for path, value in leaves:
        new = value + 7 if isinstance(value, int) else round(value * 1.37 + 0.11, 2)
        changed = json.loads(json.dumps(original))
        _set(changed["sections"], path, new)
        _set(every["sections"], path, new)
        (folder / "experiments.json").write_text(json.dumps(changed))
        assert render_card(name) != card, f"experiments.json {'/'.join(map(str, path))} does not reach the card"
    (folder / "experiments.json").write_text(json.dumps(every))
    assert unexplained_numbers(render_card(name), folder, name) == []


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


def test_a_lesson_reads_one_logged_experiment_by_its_id():
    where = cards.experiment("lora-teal", "where")
    assert where["n_old"] > 0 and {"every_all", "vo_all", "base_all"} <= set(where)
    with pytest.raises(KeyError, match="no entry with id 'nowhere'.*'where'"):
        cards.experiment("lora-teal", "nowhere")


def test_lora_teals_high_guidance_changes_are_with_minus_without():
    rate = lambda x: {"rate": x, "k": 0, "n": 1, "low": 0, "high": 1}   # noqa: E731
    row = lambda a, c: {"old_all": rate(a), "old_colour": rate(c)}         # noqa: E731
    hg = {"report": {"cfg_adapters": row(0.90, 0.95), "cfg_base": row(0.93, 0.96),
                     "chosen_adapters": row(0.94, 0.97), "chosen_base": row(0.92, 0.98)}}
    m = {"rows": {"adapters": {"old": {"all": 0.9, "colour": 0.9}, "vae_old_psnr": 30.0},
                  "base": {"old": {"all": 0.9, "colour": 0.9}, "vae_old_psnr": 31.0}}, "seed": 1, "high_guidance": hg}
    d = cards.derived("lora-teal", m)
    assert round(d["hg_cfg_old_all"], 6) == -3.0 and round(d["hg_chosen_old_colour"], 6) == -1.0
    assert round(d["hg_chosen_old_all"], 6) == 2.0
    del m["high_guidance"]
    assert "hg_cfg_old_all" not in cards.derived("lora-teal", m)


def test_lcm_shapes_distils_its_teacher_at_the_w_the_teachers_card_chose():
    """lcm-shapes bakes one guidance scale in: plain CFG's best w on unet-shapes' selection set. When the
    U-Net is retrained and its card chooses another w, the adapter (and its script's default) must follow."""
    chosen = json.loads((paths.CHECKPOINTS / "unet-shapes" / "metrics.json").read_text())["chosen"]["cfg_guidance"]
    log = json.loads((paths.CHECKPOINTS / "lcm-shapes" / "training_log.json").read_text())
    metrics = json.loads((paths.CHECKPOINTS / "lcm-shapes" / "metrics.json").read_text())
    assert log["guidance"] == chosen, f"lcm-shapes was distilled at w = {log['guidance']}, the teacher's card chose {chosen}"
    assert metrics["teacher_guidance"] == chosen
    unet_log = json.loads((paths.CHECKPOINTS / "unet-shapes" / "training_log.json").read_text())
    assert log["teacher_training_log"] == unet_log, "lcm-shapes was distilled from another U-Net than the shipped one"
