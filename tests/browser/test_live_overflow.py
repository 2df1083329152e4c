"""Every live slide of every lesson fits the screen (issue 30): the slideshow of each lesson, as
`make present` shows it with the presenter theme, paged at 1366x768 and 1920x1080 by
classroom/lab/overflow.py (the same lister the lesson authors run). Prints the count per lesson."""

from __future__ import annotations

import os

import pytest
from conftest import ROOT
from conftest import lab_overflow as _lab_overflow

overflow = _lab_overflow()   # classroom/lab/overflow.py, the lab launcher and slideshow helpers


@pytest.mark.skipif(os.environ.get("COURSE_LIVE_OVERFLOW") != "1", reason=(
    "pages every live slide of nine lessons at two sizes in JupyterLab: over an hour on a 2-core machine, beyond CI's "
    "time; run it with COURSE_LIVE_OVERFLOW=1 make test-browser, or one lesson with python classroom/lab/overflow.py 06. "
    "Last listed, after the last slide splits and with widget text at the code size (2026-12-04, code lines wrapped), "
    "0 slides too tall at 1366x768 and at 1920x1080 in every lesson: 00 of 34 slides, 01 of 38, 02 of 27, 03 of 43, "
    "04 of 35, 05 of 47, 06 of 108, 07 of 66, 08 of 65"))
def test_no_live_slide_is_taller_or_wider_than_the_screen(browser):
    reports = list(overflow.measure(overflow.lesson_paths(["all"]), overflow.SIZES,
                                    shots=ROOT / "build" / "screenshots" / "live-overflow", browser=browser))
    for report in reports:
        print(report)
    assert len(reports) == 2 * len(overflow.lesson_paths(["all"]))
    assert all(len(r.slides) >= 3 for r in reports), [(r.lesson, len(r.slides)) for r in reports]   # it paged
    overflowing = [f"{r.lesson} {r.screen}: slide {s.number} {s.heading!r}" for r in reports for s in r.overflowing]
    assert overflowing == [], f"{len(overflowing)} live slides overflow (python classroom/lab/overflow.py all)"
