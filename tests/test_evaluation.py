"""course_utils.evaluation: the dev, selection and report prompt sets are disjoint by construction."""

import inspect

import pytest

from course_utils import captions, evaluation


@pytest.mark.parametrize("two,wording", [(0.0, "heldout"), (1.0, "heldout"), (0.0, "freeform")])
def test_no_prompt_is_in_two_sets_at_the_sizes_the_cards_use(two, wording):
    sets = {name: evaluation.prompt_set(name, evaluation.LARGEST[name] if name != "report" else 300, two, wording)
            for name in evaluation.ORDER}
    capts = {name: {s.caption for s in scenes} for name, scenes in sets.items()}
    assert capts["dev"].isdisjoint(capts["selection"])
    assert capts["report"].isdisjoint(capts["dev"] | capts["selection"])
    assert [len(sets[k]) for k in evaluation.ORDER] == [64, 300, 300]
    assert all((len(s.objects) == 2) == (two == 1.0) for s in sets["report"])


def test_the_dev_set_is_the_training_scripts_and_the_report_set_skips_only_what_it_must():
    from course_utils import data

    dev = evaluation.prompt_set("dev", 64)
    assert [s.caption for s in dev] == [data.shapes_scene(11, i, 0.0, "heldout").caption for i in range(64)]
    report = evaluation.prompt_set("report", 300)
    plain = [data.shapes_scene(2024, i, 0.0, "heldout").caption for i in range(1000)]
    earlier = {s.caption for s in evaluation.prompt_set("dev", 64)} | \
        {s.caption for s in evaluation.prompt_set("selection", 300)}
    kept = [c for c in plain[:400] if c not in earlier]
    assert [s.caption for s in report] == [c for c in plain if c not in earlier][:300]
    assert len(kept) >= 300, "the report set should skip few of seed 2024's prompts"


def test_the_sets_hold_no_training_caption_by_construction():
    for name in evaluation.ORDER:
        for wording in ("heldout", "freeform"):
            for s in evaluation.prompt_set(name, 64, 0.5, wording):
                assert captions.held_out_words(s.caption), s.caption


@pytest.mark.parametrize("kwargs,match", [({"name": "test", "n": 3}, "name"), ({"name": "report", "n": 0}, "n"),
                                          ({"name": "dev", "n": 65}, "n"),
                                          ({"name": "report", "n": 3, "wording": "poetry"}, "wording")])
def test_bad_set_requests_get_a_clear_error(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        evaluation.prompt_set(**kwargs)


def test_compare_pairs_two_rows_verdict_by_verdict():
    a = {"verdicts": [{"all": True}] * 8 + [{"all": False}] * 2}
    b = {"verdicts": [{"all": False}] * 8 + [{"all": False}] * 2}
    r = evaluation.compare(a, b)
    assert (r["a_only"], r["b_only"]) == (8, 0) and r["p"] == pytest.approx(2 / 2**8)
    with pytest.raises(ValueError, match="both_objects"):
        evaluation.compare(a, b, "both_objects")
    with pytest.raises(ValueError, match="measure returned"):
        evaluation.compare(a, {"all": 0.5})


def test_every_card_names_its_measurement_as_module_function_and_it_resolves():
    import inspect

    from course_utils.registry import REGISTRY, _resolve

    for name, entry in REGISTRY.items():
        module, _, function = entry.evaluation.partition(":")
        assert module == "course_utils.evaluation" and function.startswith("evaluate_"), (name, entry.evaluation)
        assert callable(_resolve(entry.evaluation))
    script = (evaluation.Path(__file__).resolve().parents[1] / "scripts" / "evaluate_checkpoints.py").read_text()
    assert "def evaluate_" not in script, "the script is only the command line; the measurements live in course_utils"
    card = inspect.signature(evaluation.evaluate_unet_shapes).parameters
    assert (card["n"].default, card["n_two"].default) == (300, 200)       # the n >= 300 and 200


def test_the_gan_card_measurement_runs_from_the_library_and_gives_the_cards_keys():
    import json

    from course_utils.paths import checkpoint_dir
    from course_utils.registry import REGISTRY

    shipped = json.loads((checkpoint_dir("gan-digits") / "metrics.json").read_text())
    small = REGISTRY["gan-digits"].evaluate(n=20)
    assert set(small) == set(shipped) - {"host"}
    assert small["n"] == 20 and small["real"]["classes"] >= 8 and 0 <= small["d_fake"] <= 1


@pytest.mark.slow
def test_the_v3_card_measurement_chooses_on_selection_and_reports_with_intervals_and_paired_tests(capsys):
    from course_utils.paths import checkpoint_dir

    same = checkpoint_dir("unet-shapes")   # an "older version" that is this one: every paired test must find no difference
    r = evaluation.evaluate_text_to_image(n=3, n_two=2, n_select=2, guidances=(2.0,),
                                          levers={"cfg": ({},), "interval": ({"start": 0.2, "stop": 1.0},)},
                                          history=(("v0", same, None),))
    assert r["chosen"]["lever"] in ("cfg", "interval") and r["chosen"]["cfg_guidance"] == 2.0
    assert {s["lever"] for s in r["selection"]["scores"]} == {"cfg", "interval"}
    for row in r["rows"]:
        assert "verdicts" not in row
        for rate in row["rates"].values():
            assert rate["low"] <= rate["rate"] <= rate["high"] and rate["n"] == row["n"]
    if r["chosen"]["lever"] != "cfg":
        assert {p["set"] for p in r["paired"]} == {"single", "free-form", "two objects"}
    printed = capsys.readouterr().out
    assert "selection cfg" in printed
    assert [row["steps"] for row in r["rows"]][-2:] == [10, 50]
    [old] = r["history"]
    assert old["version"] == "v0" and [row["set"] for row in old["rows"]] == ["single", "free-form", "two objects"]
    against = [p for p in r["paired"] if p["b"] == "v0"]
    assert len(against) == 3 and all(p["a"] == "this" and p["guidance"] == 2.0 for p in against)
    assert all(p["a_only"] == p["b_only"] == 0 for p in against)   # the same weights on the same seeded prompts


def test_remeasure_levers_replaces_only_that_levers_rows_and_says_what_now_outscores_the_choice(monkeypatch):
    kept = {"lever": "cfg", "settings": {}, "guidance": 2.0, "n": 2, "single": {"all": {"rate": 0.5}},
            "two": {"both_objects": {"rate": 0.0}}}
    old = dict(kept, lever="apg", settings={"eta": 1.0})
    metrics = {"n_select": 2, "guidances": [2.0], "chosen": {"lever": "cfg", "settings": {}, "cfg_guidance": 2.0},
               "selection": {"rows": [kept, old], "scores": [{"lever": "cfg", "settings": {}, "score": 0.5},
                                                             {"lever": "apg", "settings": {"eta": 1.0}, "score": 0.1}]}}
    monkeypatch.setitem(evaluation.LEVERS, "apg", ({"eta": 0.0},))
    out = evaluation.remeasure_levers(metrics, ["apg"])
    sel = out["selection"]
    assert sel["rows"][0] is kept and [r["settings"] for r in sel["rows"][1:]] == [{"eta": 0.0}]
    assert [s["settings"] for s in sel["scores"]] == [{}, {"eta": 0.0}]
    new = sel["scores"][1]["score"]
    assert sel["outscored"] == ([sel["scores"][1]] if new > 0.5 else [])
    with pytest.raises(ValueError, match="beside CFG"):
        evaluation.remeasure_levers(metrics, ["cfg"])


def _audit():
    import json

    from course_utils.paths import checkpoint_dir

    return json.loads((checkpoint_dir("unet-shapes") / "reader_audit.json").read_text())


def test_the_reader_audit_on_disk_is_what_its_labels_give_and_names_its_pictures():
    audit = _audit()
    summary = {k: x for k, x in evaluation.reader_audit(audit).items() if k != "disagreements"}
    assert summary == audit["summary"]
    want = [s.caption for s in evaluation.prompt_set(audit["set"], audit["single"], 0.0)] + \
        [s.caption for s in evaluation.prompt_set(audit["set"], audit["two_object"], 1.0)]
    assert [p["prompt"] for p in audit["pictures"]] == want
    assert audit["summary"]["attributes_wrong"]["n"] >= 300


def test_the_audit_counts_what_a_reader_gets_wrong_and_nothing_when_it_agrees():
    import copy

    audit = copy.deepcopy(_audit())
    for p in audit["pictures"]:
        p["reader"] = copy.deepcopy(p["truth"])
    clean = evaluation.reader_audit(audit)
    assert clean["attributes_wrong"]["k"] == 0 and clean["verdicts_wrong"]["k"] == 0 and clean["disagreements"] == []
    first = audit["pictures"][0]
    first["reader"]["objects"][0]["colour"] = "blue" if first["truth"]["objects"][0]["colour"] != "blue" else "red"
    two = next(p for p in audit["pictures"][1:] if len(p["truth"]["objects"]) == 2
               and not any(u.startswith("1.") for u in p["uncertain"]))     # a second object fully decided
    two["reader"]["objects"] = two["reader"]["objects"][:1]
    broken = evaluation.reader_audit(audit)
    assert broken["attributes_wrong"]["k"] == 1 + 4 and broken["objects_missed"] == 1
    assert [d["i"] for d in broken["disagreements"]] == [first["i"], two["i"]]


@pytest.mark.slow
def test_the_audited_pictures_are_what_the_shipped_model_draws_and_the_reader_reads_them_as_recorded():
    from course_utils import adherence, shapes_reader

    audit = _audit()
    pipe = evaluation.text_to_image_pipeline()
    images = adherence.generate(pipe, [p["prompt"] for p in audit["pictures"]], seed=audit["seed"],
                                guidance_scale=audit["guidance_scale"], num_inference_steps=audit["num_inference_steps"])
    for p, image in zip(audit["pictures"], images):
        bg, found = shapes_reader.read_scene(image)
        assert bg == p["reader"]["background"], p["i"]
        assert [{a: getattr(o, a) for a in ("colour", "shape", "size", "position")} for o in found] == p["reader"]["objects"], p["i"]


def test_choose_guidance_chooses_on_the_selection_set_and_only_reports_on_the_report_set(monkeypatch):
    select = [s.caption for s in evaluation.prompt_set("selection", 4)]
    best = {"selection": 5.0, "report": 2.0}             # the report set would pick another w: it must not be asked
    seen = []

    def fake_measure(pipe, scenes, guidance_scale=2.0, guidance_rescale=0.0, **kwargs):
        which = "selection" if [s.caption for s in scenes] == select else "report"
        seen.append((which, guidance_scale, guidance_rescale))
        k = 4 if guidance_scale == best[which] else 2 - (guidance_rescale > 0)
        return {"n": 4, "rates": {"all": {"k": k, "n": 4}}, "verdicts": [{"all": i < k} for i in range(4)]}

    monkeypatch.setattr(evaluation, "measure", fake_measure)
    c = evaluation.choose_guidance(None, (1.0, 2.0, 5.0), 4, 4, rescaled=(5.0,))
    assert c["chosen"] == 5.0 and c["chosen_on"] == "selection" and c["source"] == "measured now"
    assert c["selection"][5.0].k == 4 and c["report"][5.0]["all"].k == 2 and c["report"][2.0]["all"].k == 4
    assert c["rescaled"][5.0].k == 1 and evaluation.compare(c["rows"][2.0], c["rows"][5.0])["a_only"] == 2
    assert [x for x, _, _ in seen].index("report") == 3        # every selection row before any report row
    with pytest.raises(ValueError, match="at least one w > 1"):
        evaluation.choose_guidance(None, (1.0,), 4, 4)
    with pytest.raises(ValueError, match="measured plain as well"):
        evaluation.choose_guidance(None, (1.0, 2.0), 4, 4, rescaled=(7.5,))


def test_the_lcm_card_measurement_pairs_the_adapter_with_its_teacher_on_the_same_prompts(capsys):
    from course_utils import recorded

    r = evaluation.evaluate_lcm(n=2, n_two=2)
    assert r["teacher_guidance"] == recorded.guidance_choice()["chosen"]
    got = [(row["model"], row["set"], row["steps"]) for row in r["rows"]]
    assert got == [("teacher", "single", k) for k in (1, 2, 4, 8, 25)] + [("lcm", "single", k) for k in (1, 2, 4, 8)] \
        + [("teacher", "two objects", 25), ("lcm", "two objects", 4)]
    assert all(row["guidance"] == (1.0 if row["model"] == "lcm" else r["teacher_guidance"]) for row in r["rows"])
    assert all("verdicts" not in row and row["n"] == 2 for row in r["rows"])
    first = r["paired"][0]
    assert (first["a"], first["b"], first["n"]) == ("lcm 4", "teacher 25", 2)
    assert first["low"] <= first["difference"] <= first["high"]
    assert "lcm" in capsys.readouterr().out


def test_old_change_pairs_each_prompt_with_and_without_the_adapters():
    from course_utils.evaluation import old_change

    on = [{"all": True, "colour": True}] * 90 + [{"all": False, "colour": True}] * 8 + [{"all": True, "colour": False}] * 2
    off = [{"all": True, "colour": True}] * 100
    c = old_change(on, off)
    assert c["all"]["a_only"] == 0 and c["all"]["b_only"] == 8 and c["all"]["difference"] == pytest.approx(-0.08)
    assert c["colour"]["b_only"] == 2 and c["colour"]["difference"] == pytest.approx(-0.02)
    assert c["all"]["low"] < -0.08 < c["all"]["high"] and c["all"]["p"] < 0.01


def test_lora_selection_refuses_the_cards_report_prompts_before_loading_anything(tmp_path):
    """Settings for lora-teal are chosen on another seed than the card's. The seeds differ, not the texts: some
    captions of the two seeds coincide (the card's log counts them), so this is not a disjoint set by construction."""
    from course_utils.evaluation import (
        LORA_REPORT_SEED,
        evaluate_lora,
        evaluate_lora_high_guidance,
        lora_selection,
    )

    assert inspect.signature(evaluate_lora).parameters["seed"].default == LORA_REPORT_SEED
    hg = inspect.signature(evaluate_lora_high_guidance).parameters
    assert hg["seed"].default == LORA_REPORT_SEED != hg["select_seed"].default
    assert inspect.signature(lora_selection).parameters["seed"].default != LORA_REPORT_SEED
    with pytest.raises(ValueError, match="report prompts"):
        lora_selection(tmp_path, seed=LORA_REPORT_SEED)
