"""docs/design.md's package layout against the code: every import in course_utils/ (also inside functions)
goes to a module listed above the importer, never below, so no two modules import each other."""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "course_utils"


def _top(path: Path) -> str:
    """The layout's name of a file: its module, or its folder for a file in a sub-package (models/, viz/, ...)."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _imports(path: Path) -> set[str]:
    """The course_utils modules (top names, as _top gives them) that `path` imports anywhere in its text."""
    inner = len(path.relative_to(PACKAGE).parts) - 1          # 0 for course_utils/x.py, 1 for course_utils/viz/x.py
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.level > inner + 1:
                continue
            within = node.level <= inner                        # "from . import x" inside viz/ stays in viz/
            names = [node.module.split(".")[0]] if node.module else [a.name for a in node.names]
            found |= {_top(path)} if within else set(names)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for name in [module] if module else [a.name for a in node.names]:
                if name.startswith("course_utils."):
                    found.add(name.split(".")[1])
                elif name == "course_utils" and isinstance(node, ast.ImportFrom):
                    found |= {a.name for a in node.names}
    return found - {_top(path)}


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path == PACKAGE / "__init__.py":
            continue                                            # the package's face: setup and the network switch
        graph.setdefault(_top(path), set()).update(_imports(path))
    modules = set(graph)
    return {m: {t for t in targets if t in modules} for m, targets in graph.items()}


def _layout() -> list[str]:
    text = (ROOT / "docs" / "design.md").read_text()
    block = text[text.index("## Package layout"):]
    block = block[block.index("```") + 3:]
    block = block[:block.index("```")]
    return [m.group(1) for line in block.splitlines() if (m := re.match(r"  (\w+)(?:\.py|/)\s", line + " "))]


def _upward(layout: list[str], graph: dict[str, set[str]]) -> list[str]:
    floor = {name: i for i, name in enumerate(layout)}
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets
                  if a in floor and b in floor and floor[b] > floor[a])


def test_every_module_is_in_the_layout_once():
    layout, graph = _layout(), _graph()
    assert len(layout) == len(set(layout)), f"listed twice: {sorted({m for m in layout if layout.count(m) > 1})}"
    assert set(graph) - set(layout) == set(), "add these to docs/design.md's package layout"
    assert set(layout) - set(graph) == set(), "docs/design.md lists modules that are not in course_utils/"


def test_nothing_imports_a_module_listed_below_it():
    assert _upward(_layout(), _graph()) == []


def test_the_check_sees_an_import_upward():
    """Negative control: with two modules swapped in the list, the check finds their import."""
    layout, graph = _layout(), _graph()
    assert "data" in graph["shapes_reader"] or "shapes" in graph["shapes_reader"]
    swapped = [m for m in layout if m != "shapes"]
    swapped.insert(swapped.index("shapes_reader") + 1, "shapes")
    assert "shapes_reader -> shapes" in _upward(swapped, graph)
