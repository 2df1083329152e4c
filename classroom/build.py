"""Build the course's static pages: every lesson executed once, then a website and reveal.js decks.

    python classroom/build.py execute   # notebooks/*.ipynb -> build/executed/*.ipynb (skips unchanged ones)
    python classroom/build.py slides    # -> _site/slides/NN_name.slides.html
    python classroom/build.py site      # -> _site/index.html, _site/lessons/*.html, and the slides
    python classroom/build.py playground  # -> _site/playground.html, _site/export.html, _site/models/ only
    python classroom/build.py slides --only 06 --no-execute   # one deck again, from build/executed as it is
    python classroom/build.py site --no-execute   # every page again from build/executed (no lesson run)
    python classroom/build.py overflow [--only 06]   # list the slides taller than a 1366x768 / 1920x1080 screen
    python classroom/build.py instructor  # -> build/instructor/: the decks with each solution in the speaker notes
    python classroom/build.py plans       # -> _site/plans/NN_name.html: each lesson's sections and minutes

Exercise solutions (cells tagged `solution`) are left out of every page and deck under _site/; the
instructor decks (build/instructor/, never published) show each one in its slide's speaker notes (key S).

Everything the pages load lies under _site/static/ (reveal.js, require.js, jQuery, MathJax and the
widget renderer, packed from the npm registry at build time into build/vendor/), so the pages
work from `python -m http.server` or straight from the disk with the network unplugged.
`make slides` and `make site` run this with COURSE_FAST=1 and one thread (see the Makefile)."""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
EXECUTED = ROOT / "build" / "executed"
VENDOR = ROOT / "build" / "vendor"
SITE = ROOT / "_site"
TEMPLATES = Path(__file__).resolve().parent / "templates"
sys.path.insert(0, str(TEMPLATES.parent))          # classroom/: teaching_plan.py and overflow.py

# npm packages the pages need, pinned: the versions nbconvert's templates are written for.
NPM = {"reveal.js": "4.6.1", "requirejs": "2.3.7", "jquery": "3.7.1", "mathjax": "2.7.7",
       "@jupyter-widgets/html-manager": "1.0.15", "onnxruntime-web": "1.31.1"}
# The one ONNX Runtime Web build the playground needs: WebAssembly, one thread or more, no WebGPU.
ORT_KEEP = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
WEB = Path(__file__).resolve().parent / "web"
# The parts of MathJax 2.7.7 that the config 'TeX-AMS_CHTML-full,Safe' loads (60 MB -> ~3 MB).
MATHJAX_KEEP = ("MathJax.js", "config/TeX-AMS_CHTML-full.js", "config/Safe.js", "extensions", "jax/input/TeX",
                "jax/output/CommonHTML", "jax/element", "fonts/HTML-CSS/TeX/woff", "localization/en")
MATHJAX_CONFIG = "config=TeX-AMS_CHTML-full,Safe"


def lessons(only: list[str] | None = None) -> list[Path]:
    """The lesson notebooks, in order; `only`: just those whose number or name is given ('06', '06_stable_diffusion')."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if not only:
        return paths
    chosen = [p for p in paths if p.stem[:2] in only or p.stem in only]
    unknown = [o for o in only if not any(o in (p.stem[:2], p.stem) for p in paths)]
    if unknown:
        sys.exit(f"--only {' '.join(unknown)}: no such lesson; the lessons are {', '.join(p.stem for p in paths)}")
    return chosen


# What a lesson's outputs depend on besides its code: the helper package and the shipped checkpoints.
INPUTS = (ROOT / "course_utils", ROOT / "assets" / "checkpoints")


def inputs_hash(folders=INPUTS) -> str:
    """A hash of every file under `folders` (path and bytes; caches such as __pycache__ left out)."""
    h = hashlib.sha256()
    for folder in folders:
        for f in sorted(p for p in Path(folder).rglob("*") if p.is_file() and "__pycache__" not in p.parts
                        and p.suffix != ".pyc"):
            h.update(str(f.relative_to(folder.parent)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def source_hash(path: Path, inputs: str | None = None) -> str:
    """The cache key of a lesson's executed copy: its code cells, COURSE_FAST, and `inputs_hash()` (so a
    change to course_utils/ or a checkpoint runs it again). Text, slide types and notes are not in it:
    `executed()` takes those from the notebook as it is now."""
    nb = nbformat.read(path, as_version=4)
    h = hashlib.sha256(json.dumps([c.source for c in nb.cells if c.cell_type == "code"]).encode())
    h.update(os.environ.get("COURSE_FAST", "0").encode())
    h.update((inputs if inputs is not None else inputs_hash()).encode())
    return h.hexdigest()[:16]


# ---------------------------------------------------------------------------------------------- execute
def executed(name: str, executed_dir: Path = EXECUTED, notebooks: Path = NOTEBOOKS) -> nbformat.NotebookNode:
    """A lesson as it is now in notebooks/, with each code cell's outputs from its executed copy (matched
    by cell id; a cell that copy lacks has none), and the widget state that run saved. So a new notes
    cell, a split slide or reworded prose shows without running the lesson again."""
    ran = nbformat.read(executed_dir / f"{name}.ipynb", 4)
    outputs = {c.get("id"): c for c in ran.cells if c.cell_type == "code"}
    nb = nbformat.read(notebooks / f"{name}.ipynb", 4)
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.get("id") in outputs:
            cell.outputs = outputs[cell.get("id")].outputs
            cell.execution_count = outputs[cell.get("id")].execution_count
    nb.metadata = ran.metadata
    return nb


def execute(force: bool = False, only: list[str] | None = None) -> list[Path]:
    """Run every lesson (or those `only` names) once into build/executed/ (widget state kept); skip those
    already up to date."""
    from nbclient import NotebookClient

    EXECUTED.mkdir(parents=True, exist_ok=True)
    out, inputs = [], inputs_hash()
    for path in lessons(only):
        target, digest = EXECUTED / path.name, source_hash(path, inputs)
        if not force and target.exists() and nbformat.read(target, 4).metadata.get("classroom_source") == digest:
            print(f"  {path.name}: up to date")
            out.append(target)
            continue
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        nb.metadata["classroom_source"] = digest
        tmp = target.with_suffix(".tmp")
        nbformat.write(nb, tmp)
        tmp.replace(target)                                     # nothing half-written is left behind
        print(f"  {path.name}: executed in {time.perf_counter() - t0:.0f} s")
        out.append(target)
    return out


# ---------------------------------------------------------------------------------------------- vendor
def vendor() -> Path:
    """npm-pack the pinned JS packages into build/vendor/ (once), trimmed; returns that folder."""
    stamp = VENDOR / ".packed"
    if stamp.exists() and stamp.read_text() == json.dumps(NPM):
        return VENDOR
    if not shutil.which("npm"):
        sys.exit("npm not found: install Node.js (Debian: apt-get install -y npm) to fetch reveal.js and MathJax")
    shutil.rmtree(VENDOR, ignore_errors=True)
    (VENDOR / "tgz").mkdir(parents=True)
    specs = [f"{name}@{version}" for name, version in NPM.items()]
    subprocess.run(["npm", "pack", "--silent", *specs], cwd=VENDOR / "tgz", check=True, stdout=subprocess.DEVNULL)
    for tgz in (VENDOR / "tgz").glob("*.tgz"):
        name = re.sub(r"-\d+\.\d+\.\d+\.tgz$", "", tgz.name).removeprefix("jupyter-widgets-")
        with tarfile.open(tgz) as tar:
            tar.extractall(VENDOR / "unpacked" / name, filter="data")
    shutil.rmtree(VENDOR / "tgz")
    stamp.write_text(json.dumps(NPM))
    return VENDOR


def install_static(site: Path) -> Path:
    """Copy the trimmed JS into site/static/; returns that folder."""
    src, static = vendor() / "unpacked", site / "static"
    shutil.rmtree(static, ignore_errors=True)
    shutil.copytree(src / "reveal.js" / "package" / "dist", static / "reveal.js" / "dist")
    shutil.copytree(src / "reveal.js" / "package" / "plugin" / "notes", static / "reveal.js" / "plugin" / "notes")
    shutil.copy(src / "requirejs" / "package" / "require.js", static / "require.js")
    shutil.copy(src / "jquery" / "package" / "dist" / "jquery.min.js", static / "jquery.min.js")
    for part in MATHJAX_KEEP:
        s, d = src / "mathjax" / "package" / part, static / "mathjax" / part
        shutil.copytree(s, d) if s.is_dir() else (d.parent.mkdir(parents=True, exist_ok=True), shutil.copy(s, d))
    shutil.copytree(src / "html-manager" / "package" / "dist", static / "html-manager",
                    ignore=shutil.ignore_patterns("*.map", "embed.js", "libembed-amd.js"))
    shutil.copy(TEMPLATES / "course.css", static / "course.css")
    (static / "onnxruntime-web").mkdir()
    for name in ORT_KEEP:
        shutil.copy(src / "onnxruntime-web" / "package" / "dist" / name, static / "onnxruntime-web" / name)
    for name in ("t2i.js", "t2i-ui.js", "t2i.css"):
        shutil.copy(WEB / name, static / name)
    # The widget renderer looks for its icon font (Font Awesome, for the Play buttons) relative to
    # the page, under @jupyter-widgets/; give each folder of pages a copy of the web fonts.
    fonts = [f for f in (static / "html-manager").iterdir() if f.suffix in (".woff2", ".woff")]
    for folder in (site, site / "lessons", site / "slides"):
        for sub in ("@jupyter-widgets", "@jupyter-widgets/html-manager/dist"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
            for f in fonts:
                shutil.copy(f, folder / sub / f.name)
    return static


def urls(depth: int) -> dict:
    """nbconvert's resource URLs pointing at _site/static/ from a page `depth` folders below _site/."""
    up = "../" * depth + "static"
    return {"require_js_url": f"{up}/require.js", "jquery_url": f"{up}/jquery.min.js",
            "mathjax_url": f"{up}/mathjax/MathJax.js?{MATHJAX_CONFIG}",
            "widget_renderer_url": f"{up}/html-manager/embed-amd.js", "jupyter_widgets_base_url": f"{up}/",
            "mermaid_js_url": f"{up}/none.mjs", "mermaid_layout_elk_js_url": ""}


# ---------------------------------------------------------------------------------------------- pages
def nav(name: str | None, names: list[str], depth: int, slides: bool) -> dict:
    """Links for a page's navigation bar: home, previous / next lesson, its slides or its page."""
    up = "../" * depth
    folder = "slides" if slides else "lessons"
    ext = ".slides.html" if slides else ".html"
    links = {"home": f"{up}index.html", "title": title(name) if name else "Image Models, hands-on"}
    if name:
        i = names.index(name)
        links["prev"] = f"{up}{folder}/{names[i - 1]}{ext}" if i > 0 else ""
        links["next"] = f"{up}{folder}/{names[i + 1]}{ext}" if i + 1 < len(names) else ""
        links["other"] = f"{up}lessons/{name}.html" if slides else f"{up}slides/{name}.slides.html"
        links["source"] = f"{up}notebooks/{name}.ipynb"
        links["plan"] = f"{up}plans/{name}.html"
    return links


def title(name: str) -> str:
    """The first heading of a lesson: '06 · Stable Diffusion, piece by piece'."""
    nb = nbformat.read(NOTEBOOKS / f"{name}.ipynb", 4)
    first = next((c.source for c in nb.cells if c.cell_type == "markdown"), name)
    m = re.search(r"^#\s+(.+)$", first, re.M)
    return m.group(1).strip() if m else name


# Cells that no published page shows: exercise solutions; lesson pages also leave out the speaker notes
# (the decks keep those, in reveal.js's speaker view, and the teaching plans summarise them).
HIDDEN_TAGS = {"site": {"solution", "speaker-notes"}, "slides": {"solution"}, "instructor": set()}


def export(nb, exporter_name: str, depth: int, links: dict, hidden: set[str] | None = None) -> str:
    """HTML of `nb` through the course template (site) or reveal.js (slides); cells tagged with any of
    `hidden` (default: HIDDEN_TAGS of that kind) are left out, with their outputs."""
    from nbconvert import HTMLExporter, SlidesExporter
    from traitlets.config import Config

    c = Config()
    c.TagRemovePreprocessor.update(enabled=True, remove_cell_tags=set(
        HIDDEN_TAGS["slides" if exporter_name == "slides" else "site"] if hidden is None else hidden))
    for key, value in urls(depth).items():
        setattr(c.HTMLExporter, key, value)
    if exporter_name == "slides":
        c.SlidesExporter.update(reveal_url_prefix=f"{'../' * depth}static/reveal.js", reveal_theme="white",
                                reveal_number="c/t", reveal_width="1280",
                                reveal_height="720", template_name="course-slides",
                                extra_template_basedirs=[str(TEMPLATES)], extra_template_paths=[str(TEMPLATES)])
        exporter = SlidesExporter(config=c)
    else:
        c.HTMLExporter.update(template_name="course", extra_template_basedirs=[str(TEMPLATES)], extra_template_paths=[str(TEMPLATES)])
        exporter = HTMLExporter(config=c)
    body, _ = exporter.from_notebook_node(nb, resources={"nav": links})
    return body


def one_idea_per_slide(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """For the static decks: prose that follows code starts a new (vertical) slide, so each slide is
    one step of the lesson's rhythm, its prose, its code and the figure that code draws."""
    previous = None
    for cell in nb.cells:
        show = cell.metadata.get("slideshow", {}).get("slide_type")
        if cell.cell_type == "markdown" and show is None and previous == "code":
            cell.metadata.setdefault("slideshow", {})["slide_type"] = "subslide"
        if show not in ("skip", "notes"):
            previous = cell.cell_type
    return nb


def playground(site: Path = SITE, static: bool = True) -> Path:
    """The model in the browser: the shipped checkpoints exported to ONNX into site/models/ (read from
    assets/checkpoints/ now), site/playground.html, and site/export.html with the parity measured now."""
    from course_utils import web

    if static:
        install_static(site)
    t0 = time.perf_counter()
    from course_utils.pipelines import load_text_to_image

    pipe = load_text_to_image(device="cpu")
    sizes = web.export_onnx(site / "models", pipe)
    f32 = ROOT / "build" / "onnx-float32"
    web.export_onnx(f32, pipe, storage={f: "float32" for f in web.FILES})
    parity = web.measure_parity(pipe, f32, site / "models")
    (ROOT / "build" / "parity.json").write_text(json.dumps(parity | {"sizes": sizes}, indent=1))
    shutil.copy(WEB / "playground.html", site / "playground.html")
    page = export(export_notebook(parity, sizes, site), "site", 0, nav(None, [], 0, slides=False))
    (site / "export.html").write_text(page, encoding="utf-8")
    print(f"  playground: {site / 'playground.html'}, models {sum(sizes.values()) / 1e6:.1f} MB "
          f"({time.perf_counter() - t0:.0f} s)")
    return site / "playground.html"


def export_notebook(parity: dict, sizes: dict, site: Path) -> nbformat.NotebookNode:
    """The page that says how the export works, with the numbers measured in this build."""
    text = (WEB / "export.md").read_text(encoding="utf-8")
    static = sum(f.stat().st_size for f in (site / "static" / "onnxruntime-web").iterdir()) if (site / "static").exists() else 0
    rows = "\n".join(f"| `{k}` | {v['storage']} | {v['mb']:.1f} MB | {v['max_abs']:.1e} | {v['max_ref']:.2f} |"
                     for k, v in parity["parts"].items())
    pics = "\n".join(f"| {p['prompt']} | {p['seed']} | {p['float32']:.3f} | {p['shipped']:.3f} |" for p in parity["pictures"])
    text = text.format(parts=rows, pictures=pics, models_mb=sum(sizes.values()) / 1e6, ort_mb=static / 1e6)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    nb.metadata["title"] = "The model in the browser: how the export works"
    return nb


def with_live_demo(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Lesson 06's page and deck get a live slide before the exercises: playground.html's pipeline,
    running in the page (classroom/web/live-slide.md). The notebook itself is not changed."""
    if name != "06_stable_diffusion":
        return nb
    cell = nbformat.v4.new_markdown_cell((WEB / "live-slide.md").read_text(encoding="utf-8"))
    cell.metadata["slideshow"] = {"slide_type": "subslide"}
    at = next((i for i, c in enumerate(nb.cells) if c.cell_type == "markdown"
               and c.source.lstrip().startswith("## Exercises")), len(nb.cells))
    nb.cells.insert(at, cell)
    return nb


def solutions_as_notes(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The instructor's copy: each solution cell (tag `solution`) becomes a speaker note of the slide it
    follows, its code shown and not run again, so only the speaker view (key S) shows it."""
    for i, cell in enumerate(nb.cells):
        if "solution" in cell.metadata.get("tags", []):
            code = re.sub(r"^%%solution[^\n]*\n", "", cell.source)          # the magic line: not for the room
            # the speaker view has no style sheet of ours: wrap long lines in the element itself
            note = nbformat.v4.new_markdown_cell(
                '**Solution** (speaker view only)\n\n'
                '<pre style="white-space: pre-wrap; overflow-wrap: anywhere; font-size: 0.8em">'
                f"{html.escape(code)}</pre>")
            note.metadata = {"slideshow": {"slide_type": "notes"}, "tags": ["speaker-notes"]}
            nb.cells[i] = note
    return nb


_INLINE_MATH = re.compile(r"(?<![\\$])\$(?!\$)(.+?)(?<!\\)\$")


def math_as_text(markdown: str) -> str:
    """Each inline $...$ of `markdown` as Unicode text ("$\\bar\\alpha_t$" -> "α̅\\_t", escaped for
    Markdown), with pylatexenc: reveal.js's speaker view shows the notes without MathJax, where raw
    LaTeX read as "$\\bar\\alpha_t$" (the third 03/06 rehearsal)."""
    from pylatexenc.latex2text import LatexNodes2Text

    to_text = LatexNodes2Text(math_mode="text")

    def one(m: re.Match) -> str:
        text = html.escape(to_text.latex_to_text(m.group(0)).strip(), quote=False)   # with its $: spacing kept
        return re.sub(r"([\\_*`\[\]])", r"\\\1", text)
    return _INLINE_MATH.sub(one, markdown)


def notes_as_text(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """The speaker notes' math as text (math_as_text); the slides keep theirs for MathJax."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "speaker-notes" in cell.get("metadata", {}).get("tags", []):
            cell.source = math_as_text(cell.source)
    return nb


def deck_notebook(name: str, instructor: bool = False) -> nbformat.NotebookNode:
    """A lesson ready for reveal.js, titled with its heading; `instructor`: with `solutions_as_notes`."""
    nb = notes_as_text(one_idea_per_slide(with_live_demo(executed(name), name)))
    nb.metadata["title"] = f"{title(name)} ·" + (" instructor" if instructor else "")   # '... · slides'
    return solutions_as_notes(nb) if instructor else nb


def slides(only: list[str] | None = None, run: bool = True, site: Path = SITE, instructor: bool = False) -> list[Path]:
    """A reveal.js deck per lesson (or those `only`), with its outputs, under site/slides/, plus the
    playground's models for a full build. `run=False` takes build/executed/ as it is (stale or not)."""
    install_static(site)
    if not only and not instructor and run:
        playground(site, static=False)
    elif instructor and (SITE / "models").exists():            # lesson 06's live slide loads the models
        shutil.copytree(SITE / "models", site / "models", dirs_exist_ok=True)
    names = [p.stem for p in lessons()]
    paths = execute(only=only) if run else [EXECUTED / p.name for p in lessons(only)]
    out = []
    for path in paths:
        if not path.exists():
            sys.exit(f"{path} is missing: run `python classroom/build.py execute --only {path.stem[:2]}` first")
        nb = deck_notebook(path.stem, instructor)
        target = site / "slides" / f"{path.stem}.slides.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        links = nav(path.stem, names, 1, slides=True)
        if instructor:                # build/instructor/ holds only decks: the other links go to the site's pages
            links = instructor_nav(links, site)
        html = export(nb, "slides", 1, links, hidden=HIDDEN_TAGS["instructor" if instructor else "slides"])
        target.write_text(html, encoding="utf-8")
        out.append(target)
    print(f"  {len(out)} decks in {site / 'slides'}")
    return out


INSTRUCTOR = ROOT / "build" / "instructor"


def instructor_nav(links: dict, site: Path) -> dict:
    """An instructor deck's navigation bar: home stays the instructor's index and previous / next stay
    instructor decks where those were built; the lesson's page, its teaching plan, the notebook and the
    other decks are the course site's in _site/ (`build.py plans` writes the plans, `make site` the rest)
    and notebooks/, since build/instructor/ has none of them (the links pointed at files that did not exist)."""
    to_root = Path(os.path.relpath(ROOT, site / "slides")).as_posix()
    to_site = Path(os.path.relpath(SITE, site / "slides")).as_posix()
    out = dict(links)
    for key in ("prev", "next", "other", "plan"):
        own = key in ("prev", "next") and out.get(key) and (site / out[key].removeprefix("../")).exists()
        if out.get(key) and not own:          # the previous / next instructor deck where it was built
            out[key] = f"{to_site}/{out[key].removeprefix('../')}"
    if out.get("source"):
        out["source"] = f"{to_root}/{out['source'].removeprefix('../')}"
    return out


def instructor(only: list[str] | None = None, run: bool = True) -> Path:
    """The instructor's decks under build/instructor/ (not published): the solutions in the speaker notes."""
    decks = slides(only, run, site=INSTRUCTOR, instructor=True)
    names = [p.stem for p in lessons()]
    rows = "\n".join(f"- [{title(d.name.removesuffix('.slides.html'))}](slides/{d.name})" for d in sorted(
        (INSTRUCTOR / "slides").glob("*.slides.html")))
    nb = nbformat.v4.new_notebook(metadata={"title": "Instructor decks"})
    nb.cells = [nbformat.v4.new_markdown_cell(
        "# Instructor decks\n\nNot for the room: each exercise's solution is in its slide's speaker notes "
        f"(press **S**). Built by `python classroom/build.py instructor`; never published.\n\n{rows}\n")]
    (INSTRUCTOR / "index.html").write_text(export(nb, "site", 0, nav(None, names, 0, slides=False)), encoding="utf-8")
    print(f"  instructor decks: {INSTRUCTOR / 'index.html'} ({len(decks)} built now)")
    return INSTRUCTOR / "index.html"


def lesson_info(name: str) -> dict:
    """What the home page's table says of a lesson, read from the markdown cells before its first code
    cell (a title slide may be split from its "You will learn" slide): title, subtitle, time."""
    import itertools

    cells = nbformat.read(NOTEBOOKS / f"{name}.ipynb", 4).cells
    first = "\n\n".join(c.source for c in itertools.takewhile(lambda c: c.cell_type == "markdown", cells))
    subtitle = re.search(r"^\*([^*].*?)\*\s*$", first, re.M)
    minutes = re.search(r"\*\*Time:\*\*\s*(?:about\s+)?(\d+)\s*min", first)
    return {"name": name, "title": title(name), "subtitle": subtitle.group(1) if subtitle else "",
            "minutes": int(minutes.group(1)) if minutes else None}


def home_notebook(names: list[str]) -> nbformat.NotebookNode:
    """The home page as a one-cell notebook, from classroom/templates/home.md.j2 and each lesson's first cell."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), undefined=jinja2.StrictUndefined,
                             keep_trailing_newline=True)
    text = env.get_template("home.md.j2").render(lessons=[lesson_info(n) for n in names])
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    nb.metadata["title"] = "Image Models, hands-on"
    return nb


def plans(names: list[str] | None = None, site: Path = SITE) -> list[Path]:
    """A one-page teaching plan per lesson, site/plans/NN_name.html, from its speaker notes (plans.py)."""
    import teaching_plan

    names = names or [p.stem for p in lessons()]
    if not (site / "static" / "course.css").exists():     # run alone: the pages' style and MathJax (npm, once)
        install_static(site)
    out = []
    for name in names:
        nb = nbformat.v4.new_notebook(metadata={"title": f"Teaching plan: {title(name)}"})
        nb.cells = [nbformat.v4.new_markdown_cell(teaching_plan.markdown(
            title(name), teaching_plan.sections(nbformat.read(NOTEBOOKS / f"{name}.ipynb", 4)), name))]
        target = site / "plans" / f"{name}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(export(nb, "site", 1, nav(name, [p.stem for p in lessons()], 1, slides=False)),
                          encoding="utf-8")
        out.append(target)
    print(f"  {len(out)} teaching plans in {site / 'plans'}")
    return out


def site(run: bool = True) -> Path:
    """The whole course as a static website under _site/; returns _site/index.html. `run=False`: from
    build/executed/ as it is, without running a lesson or exporting the playground's models again."""
    decks = slides(run=run)
    names = [p.stem for p in lessons()]
    for name in names:
        nb = with_live_demo(executed(name), name)
        nb.metadata["title"] = title(name)
        target = SITE / "lessons" / f"{name}.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(export(nb, "site", 1, nav(name, names, 1, slides=False)), encoding="utf-8")
    shutil.copytree(NOTEBOOKS, SITE / "notebooks", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    plans(names)
    index = SITE / "index.html"
    index.write_text(export(home_notebook(names), "site", 0, nav(None, names, 0, slides=False)), encoding="utf-8")
    print(f"  site: {index} ({len(names)} lessons, {len(decks)} decks)")
    return index


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("what", choices=("execute", "vendor", "slides", "site", "playground", "overflow", "instructor", "plans"))
    p.add_argument("--force", action="store_true", help="execute the notebooks again even if unchanged")
    p.add_argument("--only", nargs="+", metavar="NN", help="only these lessons (execute, slides, instructor, overflow)")
    p.add_argument("--no-execute", dest="run", action="store_false",
                   help="slides/site/instructor: use build/executed/ as it is, even if out of date (the text, slide "
                        "types and notes still come from notebooks/ now)")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    if args.what == "overflow":
        import overflow

        sys.exit(overflow.main(args.only))
    {"execute": lambda: execute(args.force, args.only), "vendor": vendor, "slides": lambda: slides(args.only, args.run),
     "site": lambda: site(args.run), "playground": playground, "instructor": lambda: instructor(args.only, args.run),
     "plans": lambda: plans(args.only and [p.stem for p in lessons(args.only)])}[args.what]()
    print(f"  done in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
