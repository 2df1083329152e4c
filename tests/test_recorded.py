import json

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


def test_adherence_is_the_cards_row():
    import json

    from course_utils.paths import checkpoint_dir

    rows = json.loads((checkpoint_dir("unet-shapes") / "metrics.json").read_text())["rows"]
    row = next(r for r in rows if r["set"] == "single" and r["wording"] == "heldout" and r["guidance"] == 5.0
               and r.get("rescale", 0.0) == 0.0 and r["steps"] == 25)
    got = recorded.adherence(guidance_scale=5.0)
    assert got["all"] == row["all"] and got["n"] == row["n"]
    assert recorded.adherence(guidance_scale=2.0) != got                  # another setting, another row


def test_metrics_json_of_a_missing_file_says_how_to_write_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="evaluate_checkpoints.py flow-digits"):
        recorded.metrics_json("flow-digits", tmp_path / "metrics.json")
    assert recorded.metrics_json("ddpm-digits")["n"] == recorded.digit_reports("ddpm-digits")["real digits"].n


def test_recorded_adherence_reads_the_cards_rows():
    import json

    from course_utils.paths import checkpoint_dir

    rows = json.loads((checkpoint_dir("unet-shapes") / "metrics.json").read_text())["rows"]
    single = [r for r in rows if r["set"] == "single" and r["wording"] == "heldout"]
    for row in single:                                                   # every recorded one-object row, by its settings
        got = recorded.adherence(row["guidance"], guidance_rescale=row["rescale"],
                                 num_inference_steps=row["steps"])
        assert got == {k: row[k] for k in ("colour", "shape", "size", "position", "background", "all", "n")}
    two = next(r for r in rows if r["set"] == "two objects" and r["guidance"] == 2.0)
    assert recorded.adherence(2.0, two_object_fraction=1.0) == {"both_objects": two["both_objects"], "n": two["n"]}
    plain, rescaled = recorded.adherence(7.5), recorded.adherence(7.5, guidance_rescale=0.7)
    assert plain["all"] != rescaled["all"]                               # the settings pick the row
    with pytest.raises(ValueError, match=r"records no row .* measure_adherence"):
        recorded.adherence(4.0)
    with pytest.raises(ValueError, match="one-object"):
        recorded.adherence(2.0, two_object_fraction=0.5)
