"""`make playground`: the classroom playground page, served by Voilà on http://127.0.0.1:$PORT/.

    python classroom/playground.py [--port 8866] [--host 127.0.0.1] [--cull-after 600]

`--host 0.0.0.0` (`make playground HOST=0.0.0.0`) serves it to every machine that can reach this
one, so that a class can use it from their own laptops: anyone on the network can then use the
page and start kernels on this machine, with no password.

Serves classroom/playground.ipynb (three widgets on tabs, no code shown) with one kernel
pre-heated, so the first visitor gets the page, models loaded, at once; each further visitor gets
their own kernel, and a kernel whose tab is closed is shut down after `--cull-after` idle seconds.
Voilà's lab template links Font Awesome from a CDN; the template used here is that same template
with those links removed (written under build/voila/ at start), so nothing leaves the machine."""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = Path(__file__).resolve().parent / "playground.ipynb"
TEMPLATE_ROOT = ROOT / "build" / "voila"


def offline_template() -> Path:
    """Voilà's lab template less every stylesheet fetched from elsewhere, as template 'classroom'."""
    source = _voila_lab_index()
    text = source.read_text(encoding="utf-8")
    text, n = re.subn(r'\s*<link rel="stylesheet" href="https?://[^"]*"[^>]*/>', "", text)
    if n == 0 or re.search(r'(href|src)="https?://', text):
        sys.exit(f"{source}: the CDN links are not where this script expects them; check Voilà's version")
    folder = TEMPLATE_ROOT / "voila" / "templates" / "classroom"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "index.html.j2").write_text(text, encoding="utf-8")
    (folder / "conf.json").write_text('{"base_template": "lab"}\n', encoding="utf-8")
    return folder


def _voila_lab_index() -> Path:
    """The installed Voilà's lab/index.html.j2."""
    for base in (Path(sys.prefix) / "share" / "jupyter", *map(Path, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))):
        candidate = base / "voila" / "templates" / "lab" / "index.html.j2"
        if candidate.exists():
            return candidate
    sys.exit("Voilà's lab template not found: run `make playground` (it installs Voilà into .venv)")


LOOPBACK = "127.0.0.1"


def voila_argv(args) -> list[str]:
    """Voilà's command line for the parsed arguments: the notebook, the offline template, the address."""
    return ["voila", str(NOTEBOOK.relative_to(ROOT)), "--template=classroom", "--theme=light",
            f"--port={args.port}", f"--Voila.ip={args.host}", "--preheat_kernel=False",
            "--strip_sources=True", "--show_tracebacks=False",
            f"--MappingKernelManager.cull_idle_timeout={args.cull_after}",
            f"--MappingKernelManager.cull_interval={args.cull_interval}", "--MappingKernelManager.cull_connected=False",
            *([] if args.open else ["--no-browser"])]


def where(args) -> str:
    """What to print at start: the address to open, and what a host other than loopback exposes."""
    if _loopback(args.host):
        return f"playground: http://{args.host}:{args.port}/  (Ctrl-C stops it)"
    everywhere = args.host in ("0.0.0.0", "::")
    shown = "<this machine's address>" if everywhere else args.host
    here = f", http://{LOOPBACK}:{args.port}/ here" if everywhere else ""
    return (f"playground: http://{shown}:{args.port}/ on the network{here} (Ctrl-C stops it)\n"
            f"  --host {args.host}: anyone who can reach this machine can use the page and run its kernels; "
            "there is no password.\n"
            "  This machine's address: `hostname -I` (Linux), `ipconfig getifaddr en0` (macOS), `ipconfig` (Windows).")


def _loopback(host: str) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:                      # a name, not an address
        return host == "localhost"


def parse_args(argv=None):
    """The command line of `make playground`."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8866)))
    p.add_argument("--host", default=LOOPBACK,
                   help="the address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (every machine on the "
                        "network, with no password)")
    p.add_argument("--cull-after", type=int, default=600, help="seconds an unwatched idle kernel lives")
    p.add_argument("--cull-interval", type=int, default=60, help="how often to look for such kernels (seconds)")
    p.add_argument("--open", action="store_true", help="open a browser too")
    return p.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    offline_template()
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(TEMPLATE_ROOT), os.environ.get("JUPYTER_PATH")]))
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    # One thread per kernel: every visitor gets a kernel, and torch processes that share cores with
    # two threads each slow one another down many times over (shared/CALIBRATION.md). One thread
    # makes an image in ~0.5 s on this course's model.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.chdir(ROOT)
    sys.argv = voila_argv(args)
    print(where(args), flush=True)
    from voila.app import main as voila_main

    voila_main()


if __name__ == "__main__":
    main()
