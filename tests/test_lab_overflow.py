"""classroom/lab/overflow.py without a browser: its command line (cell ranges, --wait) and how it gives a
lesson the outputs of its executed copy. The paging itself is tests/browser/test_live_overflow.py."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("lab_overflow_cli", ROOT / "classroom" / "lab" / "overflow.py")
overflow = importlib.util.module_from_spec(_spec)
sys.modules["lab_overflow_cli"] = overflow      # its dataclasses look their module up there
_spec.loader.exec_module(overflow)


def test_cell_ranges_read_lesson_and_span():
    assert overflow.cell_ranges(["00:19-26", "02:3-3"]) == {"00": (19, 26), "02": (3, 3)}


@pytest.mark.parametrize("spec", ["00:26-19", "0:1-2", "00-1-2", "00:a-b", "00:5"])
def test_cell_ranges_reject_a_bad_spec_with_an_example(spec):
    with pytest.raises(SystemExit, match="LESSON:FIRST-LAST"):
        overflow.cell_ranges([spec])


def test_wait_must_be_positive_and_sets_the_timeout(monkeypatch):
    with pytest.raises(SystemExit):
        overflow.main(["00", "--wait", "0"])
    monkeypatch.setattr(overflow, "WAIT_MS", overflow.WAIT_MS)
    overflow.set_wait(900)
    assert overflow.WAIT_MS == 900_000


def _nb(cells):
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def _code(source, outputs=()):
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": list(outputs), "execution_count": None}


def test_outputs_come_from_the_executed_copy_by_source(tmp_path):
    (tmp_path / "lesson").mkdir()
    (tmp_path / "done").mkdir()
    printed = {"output_type": "stream", "name": "stdout", "text": "4\n"}
    lesson = _nb([_code("print(2 + 2)"), _code("x = 1  # changed since the build")])
    done = _nb([dict(_code("print(2 + 2)", [printed]), execution_count=1), _code("x = 1")])
    (tmp_path / "lesson" / "00_x.ipynb").write_text(json.dumps(lesson))
    (tmp_path / "done" / "00_x.ipynb").write_text(json.dumps(done))
    nb, missing = overflow.with_outputs(tmp_path / "lesson" / "00_x.ipynb", tmp_path / "done")
    assert nb["cells"][0]["outputs"] == [printed] and nb["cells"][0]["execution_count"] == 1
    assert nb["cells"][1]["outputs"] == [] and missing == 1
