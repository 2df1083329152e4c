"""course_utils/adherence.py: measuring prompt adherence live, or reading what the card recorded."""

import pytest

from course_utils import adherence, pipelines, recorded


def test_measure_adherence_reads_back_every_attribute(tiny_course_checkpoints):
    pipe = pipelines.load_text_to_image(device="cpu")
    r = adherence.measure_adherence(pipe, 3, num_inference_steps=2)
    assert set(r) >= {"colour", "shape", "size", "position", "background", "all"}
    assert all(0 <= v <= 1 for v in r.values())


def test_adherence_measures_live_or_reads_the_card(tiny_course_checkpoints):
    import shutil

    from course_utils import paths

    shutil.copy(paths.ROOT / "assets" / "checkpoints" / "unet-shapes" / "metrics.json", tiny_course_checkpoints / "unet-shapes")
    pipe = pipelines.load_text_to_image(device="cpu")
    live = adherence.adherence(pipe, 2, True, guidance_scale=2.0, num_inference_steps=2)
    assert live["n"] == 2 and set(live) >= {"colour", "all"}
    assert adherence.adherence(pipe, 2, False, guidance_scale=2.0) == recorded.adherence(2.0)
    with pytest.raises(ValueError, match="records no plain-guidance row"):  # a setting the card never measured
        adherence.adherence(pipe, 2, False, guidance_scale=2.0, num_inference_steps=2)
