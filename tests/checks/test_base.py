"""What every checker shares (course_utils/checks/base.py): an exercise left as written says
"Not answered yet" and fails nothing; `compare` tells exact, approximate and wrong apart."""

import torch

from course_utils import checks


def test_unanswered_exercises_do_not_fail(capsys):
    assert checks.check_compression_ratio(None) is False
    assert "Not answered yet" in capsys.readouterr().out


def test_compare_reports_exact_approximate_and_wrong(capsys):
    x = torch.ones(3)
    assert checks.compare(x, x) and "exact" in capsys.readouterr().out
    assert checks.compare(x + 1e-7, x) and "approximately" in capsys.readouterr().out
    assert not checks.compare(x + 1, x) and "max difference 1" in capsys.readouterr().out
    assert not checks.compare(torch.ones(2), x) and "shape" in capsys.readouterr().out
