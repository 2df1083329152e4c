"""Start JupyterLab on notebooks/ for `make lab` (a student) or `make present` (an instructor).

    python classroom/lab/launch.py [--present] [--notebooks=DIR] [any further JupyterLab options]

Both open the notebook view, never the slideshow: jupyterlab-slideshow keeps "presentation mode is on"
in the user's settings (its `active` setting) and, left on, reopens the next JupyterLab straight into a
slide with no menu bar. This script turns that setting off before JupyterLab starts.

Both load classroom/lab/custom.css, the presenter theme: it applies only while a slideshow is on
(larger type that scales with the screen, the full width), and classroom/lab/overrides.json, the course's
settings defaults: while a slideshow is on, Space and Shift+Space in a code cell's editor (after a click
on the code) leave the editor and page, instead of typing a space into the code.

--present also sets COURSE_FAST=1, the shortened lessons, so Run All of a lesson ends within 2 minutes."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DECK_SETTINGS = Path("jupyterlab-slideshow") / "plugin.jupyterlab-settings"


def user_settings_dir() -> Path:
    """Where JupyterLab keeps this user's settings (JUPYTERLAB_SETTINGS_DIR, else ~/.jupyter/lab/user-settings)."""
    from jupyterlab.commands import get_user_settings_dir

    return Path(get_user_settings_dir())


def slideshow_off(settings_dir: Path | None = None) -> bool:
    """Turn off a slideshow left on last time; returns True when one was on.

    Only the `active` value of jupyterlab-slideshow's settings file changes; the file keeps its other
    settings and comments."""
    path = (settings_dir or user_settings_dir()) / DECK_SETTINGS
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    new, count = re.subn(r'("active"\s*:\s*)true\b', r"\1false", text)
    if count:
        path.write_text(new, encoding="utf-8")
    return bool(count)


def install_overrides() -> None:
    """Put classroom/lab/overrides.json (the course's settings defaults: no news pop-up, ...) where this
    JupyterLab reads it, <app dir>/settings/overrides.json (the Makefile's `lab` target does the same)."""
    from jupyterlab.commands import get_app_dir

    target = Path(get_app_dir()) / "settings" / "overrides.json"
    source = (HERE / "overrides.json").read_text(encoding="utf-8")
    if not target.exists() or target.read_text(encoding="utf-8") != source:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(source, encoding="utf-8")


def lab_command(present: bool, extra: list[str], notebooks: Path = ROOT / "notebooks") -> tuple[list[str], dict]:
    """The JupyterLab command line and environment for `make lab` / `make present`."""
    args = [str(notebooks),
            "--LabApp.news_url=",                                    # no news pop-up over the outputs
            "--LabApp.custom_css=True"]                              # custom.css: the presenter theme
    if hasattr(os, "getuid") and os.getuid() == 0:
        args.append("--allow-root")                                  # a container
    env = os.environ | {"HF_HUB_OFFLINE": "1"}
    if present:
        env["COURSE_FAST"] = "1"
    return args + extra, env


def main(argv: list[str]) -> None:
    present = "--present" in argv
    notebooks = [a.split("=", 1)[1] for a in argv if a.startswith("--notebooks=")]
    extra = [a for a in argv if a != "--present" and not a.startswith("--notebooks=")]
    folder = Path(notebooks[-1]) if notebooks else ROOT / "notebooks"
    if not folder.is_dir():
        sys.exit(f"launch: {folder} is not a folder of notebooks; give --notebooks=DIR (default: notebooks/)")
    install_overrides()
    if slideshow_off():
        print("launch: the slideshow left on last time is off; JupyterLab opens the notebook view")
    if present:
        print("launch: presenter mode: COURSE_FAST=1, the shortened live demos and measurements (Run All before class)")
    args, env = lab_command(present, extra, folder.resolve())
    os.environ.update(env)
    course_lab().launch_instance(args)


def course_lab():
    """JupyterLab's app whose /custom/custom.css is classroom/lab/custom.css (the server's static_custom_path,
    not settable from the command line, defaults to the user's ~/.jupyter/custom/)."""
    from jupyter_server.serverapp import ServerApp
    from jupyterlab.labapp import LabApp
    from traitlets import default

    class CourseServer(ServerApp):
        @default("static_custom_path")
        def _course_custom_path(self) -> list[str]:
            return [str(HERE)]

    LabApp.serverapp_class = CourseServer
    return LabApp


if __name__ == "__main__":
    main(sys.argv[1:])
