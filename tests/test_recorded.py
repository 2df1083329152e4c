import json
from pathlib import Path

import pytest

from course_utils import recorded
from course_utils.paths import checkpoint_dir


@pytest.mark.parametrize("name", recorded.DIGIT_MODELS)
def test_digit_reports_are_the_numbers_in_metrics_json(name):
    m = json.loads((checkpoint_dir(name) / "metrics.json").read_text())
    reports = recorded.digit_reports(name)
    real, noise = ("real digits, binary", "random bits") if name == "rbm-digits" else ("real digits", "uniform noise")
    assert list(reports)[:2] == [real, noise] and len(reports) >= 3
    for key, entry in ((real, m["real"]), (noise, m["noise"])):
        r = reports[key]
        assert (r.n, r.confidence, r.classes_covered, r.class_entropy, r.frechet) == \
            (m["n"], entry["confidence"], entry["classes"], entry["class_entropy"], entry["frechet"])


def test_ddpm_digits_reports_each_sampler():
    m = json.loads((checkpoint_dir("ddpm-digits") / "metrics.json").read_text())
    reports = recorded.digit_reports("ddpm-digits")
    for s in m["samplers"]:
        r = reports[f"{s['sampler']} {s['steps']} steps"]
        assert r.frechet == s["frechet"] and r.confidence == s["confidence"] and r.class_counts == s["class_counts"]


def test_show_digit_reports_says_where_the_numbers_come_from(capsys):
    shown = recorded.show_digit_reports("ddpm-digits", only=("real digits", "DDIM 10 steps"))
    out = capsys.readouterr().out
    assert list(shown) == ["real digits", "DDIM 10 steps"]
    assert "Recorded in assets/checkpoints/ddpm-digits/metrics.json" in out and "not measured now" in out
    assert f"Frechet distance {shown['DDIM 10 steps'].frechet:.1f}" in out and "DDIM 50" not in out


def test_bad_names_are_named(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="name must be one of the digit models rbm-digits, gan-digits, ddpm-digits"):
        recorded.digit_reports("unet-shapes")
    with pytest.raises(ValueError, match="only must name reports of ddpm-digits: real digits, uniform noise"):
        recorded.show_digit_reports("ddpm-digits", only=("DDIM 7 steps",))
    (tmp_path / "gan-digits").mkdir()
    (tmp_path / "gan-digits" / "generator.safetensors").write_bytes(b"")
    monkeypatch.setattr("course_utils.paths.CHECKPOINTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="python scripts/evaluate_checkpoints.py gan-digits"):
        recorded.digit_reports("gan-digits")


V2_CARD = Path(__file__).parent / "data" / "unet-shapes-v2-metrics.json"   # the older card format (shares and n)


def _share(row, key):
    """A card row's rate for key, in either format."""
    return row["rates"][key]["k"] / row["rates"][key]["n"] if "rates" in row else row[key]


def test_adherence_is_the_cards_row():
    rows = json.loads((checkpoint_dir("unet-shapes") / "metrics.json").read_text())["rows"]
    plain = {r["guidance"]: r for r in rows if r["set"] == "single" and r.get("lever", "cfg") == "cfg"
             and r.get("wording", "heldout") == "heldout" and r.get("rescale", 0.0) == 0.0 and r["steps"] == 25}
    assert {2.0, 5.0} <= set(plain)
    for w in (2.0, 5.0):
        got = recorded.adherence(guidance_scale=w)
        assert got["all"] == pytest.approx(_share(plain[w], "all")) and got["n"] == plain[w]["n"]
        assert got["colour"] == pytest.approx(_share(plain[w], "colour"))


def test_metrics_json_of_a_missing_file_says_how_to_write_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="evaluate_checkpoints.py flow-digits"):
        recorded.metrics_json("flow-digits", tmp_path / "metrics.json")
    assert recorded.metrics_json("ddpm-digits")["n"] == recorded.digit_reports("ddpm-digits")["real digits"].n


@pytest.mark.parametrize("card", ["shipped", "v2"])
def test_recorded_adherence_reads_the_cards_rows(card):
    path = None if card == "shipped" else V2_CARD
    rows = json.loads((path or checkpoint_dir("unet-shapes") / "metrics.json").read_text())["rows"]
    single = [r for r in rows if r["set"] == "single" and r.get("wording", "heldout") == "heldout"
              and r.get("lever", "cfg") == "cfg"]
    assert single
    for row in single:                                                   # every recorded one-object row, by its settings
        got = recorded.adherence(row["guidance"], guidance_rescale=row.get("rescale", 0.0),
                                 num_inference_steps=row["steps"], path=path)
        keys = [k for k in ("colour", "shape", "size", "position", "background", "all")
                if k in row.get("rates", row)]
        assert got["n"] == row["n"] and set(keys) <= set(got)
        assert all(got[k] == pytest.approx(_share(row, k)) for k in keys)
    two = next(r for r in rows if r["set"] == "two objects" and r["guidance"] == 2.0 and r.get("lever", "cfg") == "cfg")
    got = recorded.adherence(2.0, two_object_fraction=1.0, path=path)
    assert got["both_objects"] == pytest.approx(_share(two, "both_objects")) and got["n"] == two["n"]
    with pytest.raises(ValueError, match=r"records no plain-guidance row .* measure_adherence"):
        recorded.adherence(4.0, path=path)
    with pytest.raises(ValueError, match="one-object"):
        recorded.adherence(2.0, two_object_fraction=0.5, path=path)


def test_the_older_card_keeps_its_rescaled_rows_apart():
    plain, rescaled = recorded.adherence(7.5, path=V2_CARD), recorded.adherence(7.5, guidance_rescale=0.7, path=V2_CARD)
    assert plain["all"] != rescaled["all"]                               # the settings pick the row


@pytest.mark.parametrize("card", ["shipped", "v2"])
def test_card_rates_are_the_cards_rates_as_whole_counts_with_intervals(card):
    path = None if card == "shipped" else V2_CARD
    rows = json.loads((path or checkpoint_dir("unet-shapes") / "metrics.json").read_text())["rows"]
    got = recorded.card_rates(path=path)
    assert len([r for r in got if r["version"] == "this"]) == len(rows)
    for row, r in zip(rows, got):
        key = "both_objects" if row["set"] == "two objects" else "all"
        rate = r["rates"][key]
        assert rate.n == row["n"] and abs(rate.value - _share(row, key)) < 1e-9
        assert rate.interval[0] <= rate.value <= rate.interval[1] and rate.interval[0] < rate.interval[1]
    two = next(r for r in rows if r["set"] == "two objects" and r["guidance"] == 2.0 and r.get("lever", "cfg") == "cfg")
    assert recorded.card_rate("two objects", path=path).value == pytest.approx(_share(two, "both_objects"))
    with pytest.raises(ValueError, match="records no 'all' for .*it has"):
        recorded.card_rate("single", 4.0, path=path)


def test_an_older_card_says_it_chose_w_on_the_prompts_it_reports():
    c = recorded.guidance_choice(path=V2_CARD)
    assert c["chosen_on"] == "report" and c["selection"] == {} and c["n_select"] == 0
    one = {r["guidance"]: r for r in json.loads(V2_CARD.read_text())["rows"]
           if r["set"] == "single" and r["wording"] == "heldout" and r["rescale"] == 0.0 and r["steps"] == 25}
    assert set(c["report"]) == set(one)
    for w, row in one.items():
        assert c["report"][w]["all"].value == pytest.approx(row["all"])


def test_the_shipped_card_chose_w_on_its_selection_set():
    c = recorded.guidance_choice()
    m = recorded.metrics_json("unet-shapes")
    assert c["chosen_on"] == "selection" and c["n_select"] == m["n_select"] and c["n_report"] == m["n"]
    assert c["chosen"] == m["chosen"]["cfg_guidance"] and c["chosen"] in c["selection"]


def test_a_newer_card_chose_w_on_its_selection_set(tmp_path):
    def rates(k, n):
        return {"all": {"k": k, "n": n, "rate": k / n, "low": 0, "high": 1}}
    m = {"selection": {"rows": [{"lever": "cfg", "guidance": w, "single": rates(k, 150), "two": {}}
                                for w, k in ((2.0, 120), (3.0, 130))]
                       + [{"lever": "apg", "guidance": 2.0, "single": rates(149, 150), "two": {}}]},
         "chosen": {"lever": "apg", "settings": {}, "cfg_guidance": 3.0},
         "rows": [{"set": "single", "lever": "cfg", "guidance": w, "steps": 25, "n": 300, "rates": rates(k, 300)}
                  for w, k in ((2.0, 250), (3.0, 240))]
         + [{"set": "single", "lever": "apg", "guidance": 2.0, "steps": 25, "n": 300, "rates": rates(299, 300)},
            {"set": "two objects", "lever": "cfg", "guidance": 2.0, "steps": 25, "n": 200,
             "rates": {"both_objects": {"k": 60, "n": 200}}}]}
    (tmp_path / "metrics.json").write_text(json.dumps(m))
    c = recorded.guidance_choice(path=tmp_path / "metrics.json")
    assert c["chosen"] == 3.0 and c["chosen_on"] == "selection" and c["n_select"] == 150 and c["n_report"] == 300
    assert c["selection"][3.0].k == 130 and c["report"][3.0]["all"].k == 240 and c["report"][2.0]["all"].k == 250
    assert recorded.card_rate("two objects", path=tmp_path / "metrics.json").k == 60


def test_older_versions_in_the_cards_history_are_read_under_their_label(tmp_path):
    def row(what, k, n):
        key = "both_objects" if what == "two objects" else "all"
        return {"set": what, "lever": "cfg", "guidance": 2.0, "steps": 25, "n": n, "rates": {key: {"k": k, "n": n}}}
    m = {"rows": [row("two objects", 120, 200)], "previous": {"rows": [row("two objects", 20, 200)]},
         "history": [{"version": "v3", "rows": [row("two objects", 90, 200), row("single", 250, 300)]}]}
    (tmp_path / "metrics.json").write_text(json.dumps(m))
    path = tmp_path / "metrics.json"
    assert [r["version"] for r in recorded.card_rates(path=path)] == ["this", "previous", "v3", "v3"]
    assert [recorded.card_rate("two objects", version=v, path=path).k for v in ("this", "previous", "v3")] == [120, 20, 90]
    with pytest.raises(ValueError, match="records no .*'v4'"):
        recorded.card_rate("two objects", version="v4", path=path)


def test_a_share_that_is_no_whole_count_is_named_damaged(tmp_path):
    row = {"set": "single", "wording": "heldout", "guidance": 2.0, "rescale": 0.0, "steps": 25, "n": 300, "all": 0.7301}
    (tmp_path / "metrics.json").write_text(json.dumps({"rows": [row]}))
    with pytest.raises(ValueError, match="no whole count"):
        recorded.card_rates(path=tmp_path / "metrics.json")


def _separation_card(tmp_path, **extra):
    def row(name, w, k):
        return {"name": name, "lever": "cfg", "settings": {}, "guidance": w, "n": 50,
                "both_objects": {"k": k, "n": 50, "rate": k / 50, "low": 0, "high": 1}}
    part = {"n_select": 30, "n_two": 50, "guidances": [2.0], "chosen": {"lever": "cfg", "settings": {"separate": 0.1}},
            "report": [row("cfg", 2.0, 20), row("interval", 2.0, 22), row("chosen", 2.0, 27)],
            "paired": [{"guidance": 2.0, "a": "chosen", "b": b, "a_only": 9, "b_only": 2, "p": 0.065} for b in ("cfg", "interval")]}
    (tmp_path / "metrics.json").write_text(json.dumps({"rows": [], "separation": part} | extra))
    return tmp_path / "metrics.json"


def test_separation_reads_the_report_rows_as_rates_and_the_paired_tests(tmp_path):
    s = recorded.separation(path=_separation_card(tmp_path))
    assert [(key, r.k, r.n) for key, r in s["report"].items()] == \
        [(("cfg", 2.0), 20, 50), (("interval", 2.0), 22, 50), (("chosen", 2.0), 27, 50)]
    assert set(s["paired"]) == {("cfg", 2.0), ("interval", 2.0)} and s["paired"]["cfg", 2.0]["a_only"] == 9
    assert s["chosen"]["settings"] == {"separate": 0.1} and (s["n_select"], s["n_two"]) == (30, 50)


def test_a_card_without_separation_says_how_to_measure_it(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="evaluate_checkpoints.py unet-shapes --separation"):
        recorded.separation(path=tmp_path / "metrics.json")


def test_the_shipped_card_chose_separation_on_its_selection_set_and_reports_it_elsewhere():
    m = recorded.metrics_json("unet-shapes")["separation"]
    s = recorded.separation()
    best = max(m["selection"]["scores"], key=lambda x: x["score"])
    assert s["chosen"] == {"lever": best["lever"], "settings": best["settings"]}
    assert set(s["report"]) == {(k, w) for k in ("cfg", "interval", "chosen") for w in m["guidances"]}
    for r in m["report"]:
        assert s["report"][r["name"], r["guidance"]].k == r["both_objects"]["k"] and r["n"] == m["n_two"]


def _teal_card(tmp_path):
    r = lambda k, n: {"k": k, "n": n, "rate": k / n, "low": 0.0, "high": 1.0}   # noqa: E731
    rep = {"cfg_adapters": {"teal": r(3, 100), "old_all": r(450, 500), "old_colour": r(480, 500)},
           "cfg_base": {"old_all": r(460, 500), "old_colour": r(490, 500)},
           "chosen_adapters": {"teal": r(90, 100), "old_all": r(455, 500), "old_colour": r(485, 500)},
           "chosen_base": {"old_all": r(458, 500), "old_colour": r(488, 500)}}
    part = {"guidance": 5.0, "chosen": {"lever": "apg", "settings": {"eta": 0.0}},
            "selection": [{"lever": "cfg", "settings": {}, "teal": r(2, 100)}], "report": rep,
            "paired_teal": {"a_only": 87, "b_only": 0, "p": 1e-20}}
    (tmp_path / "metrics.json").write_text(json.dumps({"rows": {}, "high_guidance": part}))
    return tmp_path / "metrics.json"


def test_teal_high_guidance_reads_rates_with_their_counts(tmp_path):
    t = recorded.teal_high_guidance(path=_teal_card(tmp_path))
    assert (t["teal"]["cfg"].k, t["teal"]["chosen"].k) == (3, 90)
    assert t["old_all"][("chosen", "base")].k == 458 and t["old_colour"][("cfg", "adapters")].n == 500
    assert t["selection"][0][2].k == 2 and t["chosen"]["lever"] == "apg" and t["paired"]["a_only"] == 87


def test_a_teal_card_without_high_guidance_says_how_to_measure_it(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"rows": {}}))
    with pytest.raises(ValueError, match="--high-guidance"):
        recorded.teal_high_guidance(path=tmp_path / "metrics.json")
