"""Solutions that a student's Run All does not give away (course_utils/solutions.py), in every lesson."""

import ast
import json
import textwrap
from pathlib import Path

import pytest

from course_utils import solutions

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _is_solution(cell):
    return cell["cell_type"] == "code" and "solution" in cell["metadata"].get("tags", [])


def _code(cell):
    """The cell's Python, cell magics and shell/line magics removed."""
    lines = "".join(cell["source"]).splitlines()
    if lines and lines[0].startswith("%%"):
        lines = lines[1:]
    return textwrap.dedent("\n".join(ln for ln in lines if not ln.lstrip().startswith(("%", "!"))))


def _bound_and_used(code):
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return set(), set()
    bound, used = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, (ast.Store, ast.Del)) else used).add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return bound, used


def test_should_run_follows_the_line_then_the_kernel_then_the_environment(monkeypatch):
    monkeypatch.delenv(solutions.ENV, raising=False)
    solutions.show_solutions(None)
    assert solutions.should_run("") is False
    assert solutions.should_run("  run ") is True
    monkeypatch.setenv(solutions.ENV, "1")
    assert solutions.should_run("") is True
    solutions.show_solutions(False)
    assert solutions.should_run("") is False and solutions.should_run("run") is True
    solutions.show_solutions(None)
    monkeypatch.setenv(solutions.ENV, "0")
    assert solutions.should_run("") is False


@pytest.mark.parametrize("line", ["now", "run please", "True"])
def test_a_wrong_word_after_the_magic_gets_a_clear_error(line):
    with pytest.raises(ValueError, match="%%solution run"):
        solutions.should_run(line)


def test_show_solutions_refuses_what_is_not_a_bool():
    with pytest.raises(TypeError, match="True, False or None"):
        solutions.show_solutions("yes")


def test_the_notebooks_have_solutions_to_hide():
    assert len(NOTEBOOKS) == 9
    assert sum(_is_solution(c) for nb in NOTEBOOKS for c in _cells(nb)) >= 30


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_solution_cell_is_hidden_skipped_and_guarded(path):
    for i, cell in enumerate(_cells(path)):
        src = "".join(cell["source"])
        looks_like = cell["cell_type"] == "code" and src.lstrip("%solutin \n").lower().startswith("# solution")
        if not (_is_solution(cell) or looks_like):
            continue
        where = f"{path.name} cell {i}"
        assert _is_solution(cell), f"{where} holds a solution but is not tagged 'solution'"
        assert src.splitlines()[0].strip() == "%%solution", f"{where} must start with %%solution (bare)"
        assert cell["metadata"].get("jupyter", {}).get("source_hidden") is True, f"{where} shows its source"
        assert cell["metadata"].get("slideshow", {}).get("slide_type") == "skip", f"{where} is on a slide"


def _needs_a_solution(cells):
    """Where a later cell uses a name that only a solution cell defined."""
    defined, only_in_solutions, problems = set(), {}, []
    for i, cell in enumerate(cells):
        if cell["cell_type"] != "code":
            continue
        bound, used = _bound_and_used(_code(cell))
        if _is_solution(cell):
            for name in bound - defined:
                only_in_solutions.setdefault(name, i)
            continue
        for name in sorted(used - bound):
            if name in only_in_solutions and name not in defined:
                problems.append(f"cell {i} uses {name!r}, defined only by the solution in cell {only_in_solutions[name]}")
        defined |= bound
    return problems


def test_the_dependency_check_finds_a_name_only_a_solution_defines():
    code = lambda src, tags=(): {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)}}  # noqa: E731
    cells = [code("import torch\nx = 1"), code("%%solution\ny = x + 1", ["solution"]), code("print(x, y)")]
    assert _needs_a_solution(cells) == ["cell 2 uses 'y', defined only by the solution in cell 1"]
    cells.insert(2, code("y = 3"))
    assert _needs_a_solution(cells) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_nothing_after_a_solution_needs_what_only_the_solution_defines(path):
    """Run All with the solutions not run must not fail on a NameError later in the lesson."""
    problems = _needs_a_solution(_cells(path))
    assert not problems, f"{path.name}: " + "; ".join(problems)
