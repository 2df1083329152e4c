"""classroom/build.py: what the static site and decks leave out (solutions), what the instructor copy keeps,
the cache key of the executed lessons, the home page, and the teaching plans (classroom/teaching_plan.py)."""

import importlib
import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "classroom"))
build = importlib.import_module("build")
teaching_plan = importlib.import_module("teaching_plan")
LESSONS = [p.stem for p in build.lessons()]

SECRET = "answer = 6 * 7  # the secret solution"
NOTES = ("**Speaker notes · about 7 min**\n- **Say:** noise is the whole story.\n"
         "- **Ask the room:** why? (because.)\n- **If short of time:** skip the second plot.")


def lesson_like() -> nbformat.NotebookNode:
    """A tiny lesson: a section, its speaker notes, an exercise and its solution (as the lessons tag them)."""
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [md("# 99 · A lesson\n*One line.*\n\n**Time:** 20 minutes."), md("## 1. Noise"),
             md(NOTES), md("## 2. Exercises"), code("answer = None  # YOUR CODE HERE"),
             code(f"%%solution\n{SECRET}"), md("## 3. Summary"),
             md("**Speaker notes · about 50 min**\n- **Say:** wrap up.")]
    cells[2].metadata = {"slideshow": {"slide_type": "notes"}, "tags": ["speaker-notes"]}
    cells[5].metadata = {"slideshow": {"slide_type": "skip"}, "tags": ["solution"]}
    cells[7].metadata = {"slideshow": {"slide_type": "notes"}, "tags": ["speaker-notes"]}
    cells[0].metadata = {"slideshow": {"slide_type": "slide"}}
    cells[3].metadata = {"slideshow": {"slide_type": "slide"}}
    return nbformat.v4.new_notebook(cells=cells)


def html(nb, kind, **kw):
    links = build.nav(None, [], 1, slides=kind == "slides")
    return build.export(nb, kind, 1, links, **kw)


def test_site_pages_and_public_decks_leave_out_solutions_and_their_outputs():
    nb = lesson_like()
    nb.cells[5].outputs = [nbformat.v4.new_output("stream", text="the solution's own output\n")]
    nb.cells[5].metadata["slideshow"] = {}                # the tag alone hides it, even where not skipped
    page, deck = html(nb, "site"), html(nb, "slides")
    for text in (page, deck):
        assert "secret solution" not in text and "solution's own output" not in text
        assert "YOUR CODE HERE" in text                              # the exercise itself stays
    assert "noise is the whole story" not in page                    # notes: in the deck, not on the page
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', deck, re.S)
    assert len(notes) == 2 and "noise is the whole story" in notes[0]
    # the same exports with nothing hidden show it: the checks above can fail
    assert "secret solution" in html(nb, "slides", hidden=set())
    assert "secret solution" in html(nb, "site", hidden=set()) and "solution's own output" in html(nb, "site", hidden=set())


def test_the_speaker_notes_math_is_text_in_the_deck_and_the_slides_keep_theirs():
    nb = lesson_like()
    nb.cells[2].source += "\n- **Say:** $\\bar\\alpha_t$ falls from $t = 0 \\dots 999$; $a < b$."
    nb.cells[1].source += "\n\nOn the slide: $\\bar\\alpha_t$."
    deck = html(build.notes_as_text(nb), "slides")
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', deck, re.S)[0]
    assert "α̅_t falls from t = 0 … 999; a &lt; b." in notes and "$" not in notes and "\\bar" not in notes
    assert "$\\bar\\alpha_t$" in deck                             # the slide's own math stays for MathJax
    assert build.math_as_text("costs \\$5, and $$x$$") == "costs \\$5, and $$x$$"   # no inline math: unchanged


def test_the_instructor_deck_has_each_solution_in_its_slide_s_speaker_notes():
    deck = html(build.solutions_as_notes(lesson_like()), "slides", hidden=build.HIDDEN_TAGS["instructor"])
    notes = re.findall(r'<aside class="notes">(.*?)</aside>', deck, re.S)
    assert len(notes) == 3
    solution = [n for n in notes if "speaker view only" in n]
    assert len(solution) == 1 and "secret solution" in solution[0] and "%%solution" not in solution[0]
    # it is a note of the exercise's slide (the one whose heading is "2. Exercises"), not shown on a slide
    slides = re.findall(r"<section[^>]*>(.*?)</section>", deck, re.S)
    holder = [s for s in slides if "speaker view only" in s]
    assert len(holder) == 1 and "2. Exercises" in holder[0]
    assert "secret solution" not in re.sub(r'<aside class="notes">.*?</aside>', "", deck, flags=re.S)
    # the speaker view has none of our CSS: the solution's code wraps by its own style, its "<" escaped
    assert re.search(r'<pre style="white-space: pre-wrap; overflow-wrap: anywhere[^"]*">', solution[0])  # a long name too
    nb = lesson_like()
    nb.cells[next(i for i, c in enumerate(nb.cells) if "solution" in c.metadata.get("tags", []))].source += "\nif a < b: pass"
    assert "a &lt; b" in html(build.solutions_as_notes(nb), "slides", hidden=build.HIDDEN_TAGS["instructor"])


def test_a_deck_leaves_its_notes_math_to_the_speaker_view_as_written():
    deck = html(lesson_like(), "slides", hidden=build.HIDDEN_TAGS["slides"])
    assert 'querySelectorAll("aside.notes")' in deck and "tex2jax_ignore" in deck


def test_cache_key_follows_code_course_utils_and_checkpoints_not_prose(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    utils, ckpt = tmp_path / "course_utils", tmp_path / "checkpoints" / "m"
    utils.mkdir()
    ckpt.mkdir(parents=True)
    (utils / "a.py").write_text("x = 1\n")
    (ckpt / "w.safetensors").write_bytes(b"\0" * 8)
    folders = (utils, ckpt.parent)
    path = tmp_path / "99_lesson.ipynb"
    nbformat.write(lesson_like(), path)

    def key():
        return build.source_hash(path, build.inputs_hash(folders))

    first = key()
    assert key() == first
    (utils / "__pycache__").mkdir()
    (utils / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"cache")
    assert key() == first                                             # caches do not count
    nb = nbformat.read(path, 4)
    nb.cells[1].source = "## 1. Noise, reworded"
    nb.cells.insert(2, nbformat.v4.new_markdown_cell("a new note"))
    nbformat.write(nb, path)
    assert key() == first                                             # prose and notes: no new run
    (utils / "a.py").write_text("x = 2\n")
    second = key()
    assert second != first                                            # course_utils changed
    (ckpt / "w.safetensors").write_bytes(b"\1" * 8)
    third = key()
    assert third not in (first, second)                               # a checkpoint changed
    nb.cells[5].source = "answer = 1"
    nbformat.write(nb, path)
    assert key() != third                                             # the code changed


def test_cache_key_changes_with_course_fast(tmp_path, monkeypatch):
    path = tmp_path / "99_lesson.ipynb"
    nbformat.write(lesson_like(), path)
    monkeypatch.setenv("COURSE_FAST", "1")
    fast = build.source_hash(path, "inputs")
    monkeypatch.setenv("COURSE_FAST", "0")
    assert build.source_hash(path, "inputs") != fast
    assert build.source_hash(path, "other inputs") != build.source_hash(path, "inputs")


def test_executed_takes_text_from_the_notebook_and_outputs_from_the_run(tmp_path):
    (tmp_path / "ran").mkdir()
    (tmp_path / "now").mkdir()
    ran = lesson_like()
    ran.cells[4].outputs = [nbformat.v4.new_output("stream", text="printed by the run\n")]
    ran.metadata["widgets"] = {"state": "saved"}
    nbformat.write(ran, tmp_path / "ran" / "99_lesson.ipynb")
    now = nbformat.from_dict(ran)
    now.cells[4].outputs = []
    now.cells[1].source = "## 1. Noise, split"
    now.cells.insert(2, nbformat.v4.new_markdown_cell("a new notes cell"))
    nbformat.write(now, tmp_path / "now" / "99_lesson.ipynb")
    nb = build.executed("99_lesson", tmp_path / "ran", tmp_path / "now")
    assert [c.source for c in nb.cells] == [c.source for c in now.cells]
    assert nb.cells[5].outputs[0].text == "printed by the run\n"
    assert nb.metadata["widgets"] == {"state": "saved"}


def test_only_names_lessons_and_refuses_unknown_ones():
    assert [p.stem for p in build.lessons(["06"])] == ["06_stable_diffusion"]
    assert [p.stem for p in build.lessons(["03_diffusion", "06"])] == ["03_diffusion", "06_stable_diffusion"]
    with pytest.raises(SystemExit, match="--only 42: no such lesson"):
        build.lessons(["42"])


def test_home_page_is_the_lesson_table_from_its_template():
    text = build.home_notebook(LESSONS).cells[0].source
    for name in LESSONS:
        info = build.lesson_info(name)
        row = next(line for line in text.splitlines() if f"(lessons/{name}.html)" in line)
        assert f"[{info['title']}](lessons/{name}.html)" in row and f"(slides/{name}.slides.html)" in row
        assert f"(plans/{name}.html)" in row and info["subtitle"] and info["subtitle"][:30] in row
        assert info["minutes"] and f"| {info['minutes']} min |" in row
    assert "(playground.html)" in text and "(export.html)" in text
    assert len(re.findall(r"^\| \[", text, re.M)) == len(LESSONS)


def test_teaching_plan_sums_the_minutes_in_order_and_names_what_to_skip():
    parts = teaching_plan.sections(lesson_like())
    assert [(p.title, p.minutes) for p in parts] == [("1. Noise", 7), ("3. Summary", 50)]
    assert parts[0].say == "noise is the whole story." and parts[0].skip == "skip the second plot."
    text = teaching_plan.markdown("99 · A lesson", parts, "99_lesson")
    assert "| 1 | 1. Noise | 7 | 0–7 |" in text and "| 2 | 3. Summary | 50 | 7–57 |" in text
    assert "**Total: 57 min.**" in text and "7 min longer than a 50-minute class" in text
    assert "- **1. Noise** (7 min): skip the second plot." in text
    assert "why? (because.)" not in text                        # the room's answers stay in the speaker view
    short = teaching_plan.markdown("x", parts[:1], "x")
    assert "fits a 50-minute class with 43 min to spare" in short
    assert "no speaker notes yet" in teaching_plan.markdown("x", [], "x")


def test_teaching_plan_refuses_notes_without_their_minutes():
    nb = lesson_like()
    nb.cells[2].source = "**Speaker notes**\n- **Say:** no minutes here"
    with pytest.raises(ValueError, match=r"cell 2 .*does not start with '\*\*Speaker notes · about N min\*\*'"):
        teaching_plan.sections(nb)


@pytest.mark.parametrize("name", LESSONS)
def test_every_lesson_s_notes_give_a_plan(name):
    """Each lesson's speaker notes (where it has them yet) parse, and their minutes add up to at most 50."""
    parts = teaching_plan.sections(nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", 4))
    total = sum(p.minutes for p in parts)
    assert total <= 50 or all(p.skip for p in parts if p.minutes) or any(p.skip for p in parts), \
        f"{name}: notes add up to {total} min with nothing named to skip"


def table_row(markdown: str, key: str) -> tuple[list[str], list[str]]:
    """The cells of the header and of the first table row holding `key` ([], [] when none does)."""
    lines = markdown.splitlines()
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]   # noqa: E731
    for i, line in enumerate(lines):
        if line.startswith("|") and key in line:
            top = i
            while top > 0 and lines[top - 1].startswith("|"):
                top -= 1
            return cells(lines[top]), cells(line)
    return [], []


def lesson_times(readme: str, name: str, nb) -> list[str]:
    """What disagrees about lesson `name`'s length: the README's table row, its own "**Time:**" line (which
    the site's table shows), the sum of its speaker notes' minutes, and any note that states that sum.
    A lesson may take longer than its class plan; a class plan longer than 50 minutes says what to skip."""
    stated = re.search(r"\*\*Time:\*\*\s*(?:about\s+)?(\d+)\s*min", "\n\n".join(
        c.source for c in nb.cells[:3] if c.cell_type == "markdown"))
    parts = teaching_plan.sections(nb)
    total = sum(p.minutes for p in parts)
    problems = []
    if not stated:
        return [f"{name}: no '**Time:** N minutes' line in its first cells"]
    header, row = table_row(readme, f"notebooks/{name}.ipynb)")
    if len(row) != len(header):
        problems.append(f"{name}: the README's table row has {len(row)} cells under a header of {len(header)}")
    column = next((i for i, h in enumerate(header) if h.startswith("time in class")), None)
    if column is None or column >= len(row) or row[column] != f"{stated.group(1)} min":
        problems.append(f"{name}: the README's table row does not say {stated.group(1)} min (the lesson's Time line) "
                        "under 'time in class'")
    if total > int(stated.group(1)):
        problems.append(f"{name}: its speaker notes add up to {total} min, more than its Time line's {stated.group(1)}")
    if total > 50 and not any(p.skip for p in parts):
        problems.append(f"{name}: its notes add up to {total} min and none says what to skip in a 50-minute class")
    for said in re.findall(r"notes add up to (\d+) min", "\n".join(c.source for c in nb.cells)):
        if int(said) != total:
            problems.append(f"{name}: a note says the notes add up to {said} min; they add up to {total}")
    return problems


@pytest.mark.parametrize("name", LESSONS)
def test_a_lessons_time_is_the_same_in_the_readme_its_first_cell_and_its_notes(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", 4)
    assert lesson_times((ROOT / "README.md").read_text(), name, nb) == []


def test_the_lesson_time_check_can_fail():
    nb = lesson_like()                                    # Time line 20; notes 7 + 50 = 57, one says what to skip
    row = ("| notebook | what | time in class | Run All |\n|---|---|---|---|\n"
           "| [`99_lesson.ipynb`](notebooks/99_lesson.ipynb) | a lesson | 20 min | 3 min |")
    found = lesson_times(row, "99_lesson", nb)
    assert found == ["99_lesson: its speaker notes add up to 57 min, more than its Time line's 20"]
    extra = lesson_times(row.replace("| 20 min |", "| 15 min | 20 min |"), "99_lesson", nb)   # a cell too many
    assert extra[0] == "99_lesson: the README's table row has 5 cells under a header of 4" and len(extra) == 3
    nb.cells[0].source = nb.cells[0].source.replace("20 minutes", "60 minutes")
    assert len(lesson_times(row, "99_lesson", nb)) == 1 and lesson_times(row.replace("20 min", "60 min"), "99_lesson", nb) == []
    nb.cells[2].source = nb.cells[2].source.replace("- **If short of time:** skip the second plot.", "")
    nb.cells[-1].source += "\n- The notes add up to 58 min."
    assert lesson_times(row.replace("20 min", "60 min"), "99_lesson", nb) == [
        "99_lesson: its notes add up to 57 min and none says what to skip in a 50-minute class",
        "99_lesson: a note says the notes add up to 58 min; they add up to 57"]
