"""List the live slides that are taller than the screen, lesson by lesson, as the room would see them.

    python classroom/lab/overflow.py 03 06                 # lessons 03 and 06 at 1366x768 and 1920x1080
    python classroom/lab/overflow.py --sizes 1366x768 notebooks/03_diffusion.ipynb
    python classroom/lab/overflow.py all                   # every lesson
    python classroom/lab/overflow.py 00 --cells 00:19-26   # only the slides of cells 19 to 26 (a re-check)

It starts JupyterLab as `make present` does (classroom/lab/launch.py: the presenter theme included) on a
temporary copy of each lesson, opens it in Chromium, starts the slideshow (jupyterlab-slideshow) and
pages through it with the slideshow's own command, measuring each slide: the cells it shows, all its
fragments included. A slide whose cells are taller than the window (or wider: a horizontal scrollbar, a code
line or an equation cut off at the cell's right edge) is listed with its number, the index of its first cell
in the notebook, and its heading.

The slides need their outputs: each code cell takes the outputs of the cell with the same source in
build/executed/ (the site build's executed copies, `make site`), so the lesson is not re-run. A code
cell whose source changed since that build shows no output, and the count says how many those were.
Exit status: 0 when nothing overflows, 1 otherwise."""

from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
EXECUTED = ROOT / "build" / "executed"
SIZES = ((1366, 768), (1920, 1080))
TOKEN = "course-overflow"
WAIT_MS = 180_000            # generous: a shared 2-core machine under load answers slowly (--wait: longer)

# One slide as the slideshow shows it: the cells on screen (all fragments of the slide, shown or not yet).
MEASURE = """() => {
  const nb = jupyterapp.shell.currentWidget.content;
  const cells = nb.widgets.map((c, i) => [c, i]).filter(([c]) => c.node.classList.contains('jp-deck-mod-onscreen'));
  if (!cells.length) return null;
  const boxes = cells.map(([c]) => c.node.getBoundingClientRect());
  const heading = cells.map(([c]) => c.node.querySelector('h1, h2, h3, h4')).find(h => h);
  const first = cells[0][0];
  return {
    cells: cells.map(([, i]) => i),
    height: Math.round(Math.max(...boxes.map(b => b.bottom)) - Math.min(...boxes.map(b => b.top))),
    scroll_height: nb.node.scrollHeight, client_height: nb.node.clientHeight,
    scroll_width: nb.node.scrollWidth, client_width: nb.node.clientWidth,
    clipped: cells.some(([c]) => [...c.node.querySelectorAll('.cm-scroller')].some(e => e.scrollWidth > e.clientWidth + 1)
      || [...c.node.querySelectorAll('mjx-container, mjx-container > mjx-math')]      // an equation past the edge
           .some(e => e.getBoundingClientRect().right > c.node.getBoundingClientRect().right + 2)),
    heading: heading ? heading.textContent.replace(/¶$/, '').trim()
                     : first.model.sharedModel.getSource().split('\\n')[0].slice(0, 80),
  };
}"""


# What Space does in the slideshow: the next fragment, else the next subslide, else the next slide.
SPACE = "() => jupyterapp.commands.execute('deck:go', {direction: 'down', alternate: 'forward'})"


@dataclass
class Slide:
    number: int                  # 1-based, in the order the slideshow pages
    cells: list[int]             # indices of the notebook cells on it
    heading: str
    height: int                  # px, the cells on screen from the top of the first to the bottom of the last
    screen: tuple[int, int]
    too_wide: bool = False

    @property
    def too_tall(self) -> bool:
        return self.height > self.screen[1]

    @property
    def overflows(self) -> bool:
        return self.too_tall or self.too_wide

    def __str__(self) -> str:
        what = [f"{self.height} px tall > {self.screen[1]}"] if self.too_tall else []
        what += ["wider than the screen (or a code line or an equation cut off)"] if self.too_wide else []
        return f"slide {self.number:2d} (cell {self.cells[0]:3d}) {self.heading[:60]!r}: {', '.join(what)}"


@dataclass
class Report:
    lesson: str
    screen: tuple[int, int]
    slides: list[Slide]
    missing_outputs: int = 0     # code cells whose source is not in the executed copy
    overflowing: list[Slide] = field(init=False)

    def __post_init__(self):
        self.overflowing = [s for s in self.slides if s.overflows]

    def __str__(self) -> str:
        w, h = self.screen
        head = f"{self.lesson} at {w}x{h}: {len(self.overflowing)} of {len(self.slides)} slides overflow"
        if self.missing_outputs:
            head += f" ({self.missing_outputs} code cells without outputs: not in build/executed/, `make site`)"
        return "\n".join([head] + [f"  {s}" for s in self.overflowing])


def lesson_paths(names: list[str]) -> list[Path]:
    """notebooks/NN_*.ipynb for each of `names`: a number (03), a path, or `all`."""
    lessons = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if names == ["all"]:
        return lessons
    found = []
    for name in names:
        if Path(name).suffix == ".ipynb":
            path = Path(name).resolve()
            if not path.exists():
                raise SystemExit(f"overflow: {name} does not exist")
            found.append(path)
            continue
        match = [p for p in lessons if p.name.startswith(f"{int(name):02d}_")] if name.isdigit() else []
        if not match:
            raise SystemExit(f"overflow: no lesson {name!r}: give a number (03), a notebook path or `all`")
        found += match
    return found


def with_outputs(source: Path, executed_dir: Path = EXECUTED) -> tuple[dict, int]:
    """The notebook at `source` with each code cell's outputs from its executed copy (matched by source);
    returns it and the number of code cells that found none."""
    nb = json.loads(source.read_text(encoding="utf-8"))
    done = executed_dir / source.name
    runs = {}
    if done.exists():
        executed = json.loads(done.read_text(encoding="utf-8"))
        for cell in executed["cells"]:
            if cell["cell_type"] == "code":
                runs.setdefault("".join(cell["source"]), cell)
        if "widgets" in executed["metadata"]:                      # the widgets' saved state, where kept
            nb["metadata"]["widgets"] = executed["metadata"]["widgets"]
    missing = 0
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        run = runs.get("".join(cell["source"]))
        if run is None:
            missing += 1
        else:
            cell["outputs"], cell["execution_count"] = copy.deepcopy(run["outputs"]), run.get("execution_count")
    return nb, missing


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def presenter_lab(folder: Path, log: Path, settings: Path | None = None, present: bool = True):
    """JupyterLab started by classroom/lab/launch.py (as `make present`) on `folder`, with its own user
    settings (`settings`, else a fresh folder) and workspaces; yields its base URL with the token."""
    with tempfile.TemporaryDirectory(prefix="course-lab-") as tmp:
        port = free_port()
        env = os.environ | {"JUPYTERLAB_SETTINGS_DIR": str(settings or Path(tmp) / "settings"),
                            "JUPYTERLAB_WORKSPACES_DIR": str(Path(tmp) / "workspaces"),
                            "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        args = [sys.executable, str(HERE / "launch.py")] + (["--present"] if present else []) + [
            f"--notebooks={folder}", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}", "--expose-app-in-browser"]
        log.parent.mkdir(parents=True, exist_ok=True)
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            t0 = time.perf_counter()
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"JupyterLab exited with code {proc.returncode}: see {log}")
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={TOKEN}", timeout=2)
                    break
                except (urllib.error.URLError, OSError):
                    if time.perf_counter() - t0 > WAIT_MS / 1000:
                        raise TimeoutError(f"JupyterLab did not answer within {WAIT_MS / 1000:.0f} s: see {log}; "
                                           "on a busy machine give it longer (overflow.py --wait 900)") from None
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            stop(proc)


def stop(proc: subprocess.Popen) -> None:
    """Stop a server started in its own process group (start_new_session=True), its kernels with it:
    SIGTERM, then SIGKILL if it has not ended within 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def open_notebook(page, base: str, name: str) -> None:
    """Open notebooks `name` in the lab at `base` and wait until its cells are there."""
    page.goto(f"{base}/lab/tree/{name}?token={TOKEN}&reset")
    page.wait_for_function("n => window.jupyterapp && jupyterapp.shell.currentWidget && "
                           "jupyterapp.shell.currentWidget.context && "
                           "jupyterapp.shell.currentWidget.context.path.endsWith(n) && "
                           "jupyterapp.shell.currentWidget.content.widgets.length > 0", arg=name, timeout=WAIT_MS)
    page.wait_for_timeout(1000)


def start_slideshow(page, cell: int = 0) -> None:
    page.evaluate("i => { jupyterapp.shell.currentWidget.content.activeCellIndex = i; }", cell)
    page.evaluate("() => jupyterapp.commands.execute('deck:start')")
    page.wait_for_function("() => document.body.dataset.jpDeckMode === 'presenting'", timeout=WAIT_MS)
    page.wait_for_timeout(1000)


def stop_slideshow(page) -> None:
    page.evaluate("() => jupyterapp.commands.execute('deck:stop')")
    page.wait_for_function("() => document.body.dataset.jpDeckMode !== 'presenting'", timeout=WAIT_MS)


def walk_slides(page, screen: tuple[int, int], shots: Path | None = None, settle_ms: int = 400,
                cells: tuple[int, int] | None = None) -> list[Slide]:
    """Page through the slideshow of the open notebook from its first cell at `screen`; returns its slides.
    With `cells` = (first, last), only the slides from the one holding cell `first` until the one holding
    cell `last` (numbered from 1 there). With `shots`, a screenshot of each overflowing slide is saved there."""
    page.set_viewport_size({"width": screen[0], "height": screen[1]})
    start_slideshow(page, cells[0] if cells else 0)
    slides, seen = [], set()
    last = None
    for _ in range(2000):
        page.wait_for_timeout(settle_ms)
        m = page.evaluate(MEASURE)
        if m and m["cells"][0] not in seen:
            page.wait_for_timeout(settle_ms)                  # images and widgets come a moment later
            m = page.evaluate(MEASURE)
            seen.add(m["cells"][0])
            slide = Slide(len(slides) + 1, m["cells"], m["heading"], max(m["height"], m["scroll_height"]),
                          screen, too_wide=m["scroll_width"] > m["client_width"] + 1 or m["clipped"])
            slides.append(slide)
            if shots is not None and slide.overflows:
                shots.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(shots / f"{screen[0]}x{screen[1]}-slide{slide.number:02d}.png"),
                                timeout=WAIT_MS)
        active = page.evaluate("() => jupyterapp.shell.currentWidget.content.activeCellIndex")
        if active == last or (cells and slides and slides[-1].cells[-1] >= cells[1]):
            break
        last = active
        page.evaluate(SPACE)
    stop_slideshow(page)
    return slides


def measure(lessons: list[Path], sizes=SIZES, shots: Path | None = None, browser=None,
            cells: dict[str, tuple[int, int]] | None = None):
    """Yields a Report per lesson and screen size: its live slides, the overflowing ones listed
    (JupyterLab and, unless `browser` is given, Chromium started here). `cells` maps a lesson's number
    ("00") to the (first, last) cells whose slides alone are paged (see walk_slides)."""
    with tempfile.TemporaryDirectory(prefix="course-overflow-") as tmp:
        folder = Path(tmp) / "notebooks"
        folder.mkdir()
        missing = {}
        for path in lessons:
            nb, missing[path.name] = with_outputs(path)
            (folder / path.name).write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        with presenter_lab(folder, ROOT / "build" / "logs" / f"overflow-lab-{os.getpid()}.log") as base, _browser(browser) as b:
            for path in lessons:
                page = b.new_page(viewport={"width": sizes[0][0], "height": sizes[0][1]}, device_scale_factor=1)
                page.set_default_timeout(WAIT_MS)
                open_notebook(page, base, path.name)
                for screen in sizes:
                    part = (cells or {}).get(path.name[:2])
                    slides = walk_slides(page, tuple(screen), shots and shots / path.stem, cells=part)
                    yield Report(path.stem + (f" cells {part[0]}-{part[1]}" if part else ""), tuple(screen),
                                 slides, missing[path.name])
                page.evaluate("() => jupyterapp.commands.execute('kernelmenu:shutdown', {activate: false})"
                              ".catch(() => null)")
                page.close()


@contextlib.contextmanager
def _browser(browser=None):
    if browser is not None:
        yield browser
        return
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        raise SystemExit("overflow: Chromium is missing: `make chromium` installs it")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield b
        finally:
            b.close()


def cell_ranges(specs: list[str]) -> dict[str, tuple[int, int]]:
    """{"00": (19, 26)} from ["00:19-26"]; a clear error for anything else."""
    ranges = {}
    for spec in specs:
        try:
            lesson, span = spec.split(":")
            first, last = (int(n) for n in span.split("-"))
            assert lesson.isdigit() and len(lesson) == 2 and 0 <= first <= last
        except (ValueError, AssertionError):
            raise SystemExit(f"overflow: --cells {spec!r}: give LESSON:FIRST-LAST with cell indices, "
                             "e.g. --cells 00:19-26") from None
        ranges[lesson] = (first, last)
    return ranges


def set_wait(seconds: float) -> None:
    """How long to wait for JupyterLab to start and for each step in the page (a starved machine needs minutes)."""
    global WAIT_MS
    WAIT_MS = round(seconds * 1000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lessons", nargs="+", help="lesson numbers (03), notebook paths, or `all`")
    parser.add_argument("--sizes", default="1366x768,1920x1080", help="screens, e.g. 1366x768,1920x1080")
    parser.add_argument("--shots", type=Path, help="save a screenshot of each overflowing slide under this folder")
    parser.add_argument("--cells", action="append", default=[], metavar="LESSON:FIRST-LAST",
                        help="page only the slides of these notebook cells of that lesson, e.g. 00:19-26 (repeatable)")
    parser.add_argument("--wait", type=float, default=WAIT_MS / 1000,
                        help="seconds to wait for JupyterLab to start and for each page step (default %(default)s)")
    args = parser.parse_args(argv)
    if args.wait <= 0:
        parser.error(f"--wait {args.wait}: give a number of seconds above 0, e.g. --wait 900")
    set_wait(args.wait)
    try:
        sizes = [tuple(int(n) for n in s.lower().split("x")) for s in args.sizes.split(",")]
        assert all(len(s) == 2 and min(s) > 0 for s in sizes)
    except (ValueError, AssertionError):
        parser.error(f"--sizes {args.sizes!r}: give WIDTHxHEIGHT pairs separated by commas, e.g. 1366x768")
    total = 0
    for report in measure(lesson_paths(args.lessons), sizes, args.shots, cells=cell_ranges(args.cells)):
        print(report, flush=True)
        total += len(report.overflowing)
    print(f"total: {total} overflowing slides")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
