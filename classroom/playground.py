"""`make playground` and `make class`: the classroom playground, on http://127.0.0.1:$PORT/.

    python classroom/playground.py [--port 8866] [--host 127.0.0.1] [--cull-after 600] [--max-kernels 12]
    python classroom/playground.py --in-browser [--port 8866] [--host 127.0.0.1]      # make class

`--in-browser` (`make class`) serves the static site's _site/playground.html and the files it loads
(built first if missing): each student's browser downloads the model once (about 50 MB) and draws
its own pictures with ONNX Runtime Web, so this machine only sends files and 30 students cost it
no more memory than one. Without it, Voilà runs the widgets of classroom/playground.ipynb with one
Python kernel per visitor (about 0.7 GB each), at most `--max-kernels` at once: the next visitor
gets a page saying the playground is full and what to do instead.

`--host 0.0.0.0` (`make playground HOST=0.0.0.0`) serves it to every machine that can reach this
one, so that a class can use it from their own laptops: anyone on the network can then use the
page and start kernels on this machine, with no password.

Serves classroom/playground.ipynb (three widgets on tabs, no code shown) with one kernel
pre-heated, so the first visitor gets the page, models loaded, at once; each further visitor gets
their own kernel, and a kernel whose tab is closed is shut down after `--cull-after` idle seconds.
Voilà's lab template links Font Awesome from a CDN; the template used here is that same template
with those links removed (written under build/voila/ at start), so nothing leaves the machine.
Voilà would also load every extension installed for JupyterLab (the slideshow and the fonts, which
log errors in a page that has no notebook panel); the page loads only the widgets' extensions
(VOILA_EXTENSIONS: JupyterLab's widget manager and Voilà's own, which draws them)."""

from __future__ import annotations

import argparse
import contextlib
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
    (folder / "503.html").write_text(FULL_PAGE, encoding="utf-8")       # what a visitor over the cap sees
    return folder


# Voilà renders its error pages from the template folder: a status of its own gets its own page.
FULL_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>The playground is full</title>
<meta http-equiv="refresh" content="60">
<style>body { font: 20px/1.5 system-ui, sans-serif; max-width: 40em; margin: 3em auto; color: #1d232b; }</style>
</head><body><h1>The playground is full</h1><p>{{ message }}</p>
<p>This page tries again by itself every minute.</p></body></html>
"""


def _voila_lab_index() -> Path:
    """The installed Voilà's lab/index.html.j2."""
    for base in (Path(sys.prefix) / "share" / "jupyter", *map(Path, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))):
        candidate = base / "voila" / "templates" / "lab" / "index.html.j2"
        if candidate.exists():
            return candidate
    sys.exit("Voilà's lab template not found: run `make playground` (it installs Voilà into .venv)")


LOOPBACK = "127.0.0.1"
SITE = ROOT / "_site"
# The lab extensions the page loads: ipywidgets' (the widget models and views) and Voilà's widget
# manager for ipywidgets 8, which renders them (Voilà keeps that one only if allow-listed too).
VOILA_EXTENSIONS = ("@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8")


def full_message(max_kernels: int, cull_after: int) -> str:
    """What a visitor over the cap reads (the 503 page)."""
    return (f"All {max_kernels} places are taken: every visitor gets a Python process of about 0.7 GB on "
            f"the teacher's machine, and {max_kernels} is what it was started with (--max-kernels). A place "
            f"frees up about {max(1, round(cull_after / 60))} min after someone closes their tab. Ask for the "
            "in-browser playground (make class): it runs in your own browser and has no limit.")


def capped_kernel_manager(max_kernels: int, cull_after: int):
    """jupyter-server's kernel manager that refuses a kernel beyond `max_kernels` with HTTP 503."""
    from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
    from tornado import web

    class CappedKernelManager(AsyncMappingKernelManager):
        async def start_kernel(self, *args, **kwargs):
            kernel_id = kwargs.get("kernel_id")
            if (kernel_id is None or kernel_id not in self) and len(self.list_kernel_ids()) >= max_kernels:
                self.log.warning("playground full: %d kernels running, a visitor was turned away", max_kernels)
                raise web.HTTPError(503, full_message(max_kernels, cull_after), reason="The playground is full")
            return await super().start_kernel(*args, **kwargs)

    return CappedKernelManager


def voila_argv(args) -> list[str]:
    """Voilà's command line for the parsed arguments: the notebook, the offline template, the address."""
    return ["voila", str(NOTEBOOK.relative_to(ROOT)), "--template=classroom", "--theme=light",
            f"--port={args.port}", f"--Voila.ip={args.host}", "--preheat_kernel=False",
            "--strip_sources=True", "--show_tracebacks=False",
            f"--MappingKernelManager.cull_idle_timeout={args.cull_after}",
            f"--MappingKernelManager.cull_interval={args.cull_interval}", "--MappingKernelManager.cull_connected=False",
            *[f"--VoilaConfiguration.extension_allowlist={name}" for name in VOILA_EXTENSIONS],
            *([] if args.open else ["--no-browser"])]


def where(args) -> str:
    """What to print at start: the address to open, and what a host other than loopback exposes."""
    page = "playground.html" if args.in_browser else ""
    if args.in_browser:
        what = (f"  Serves the files of {SITE.name}/ (the course site: its pages, the model's ONNX files) to "
                "anyone who asks, read only; each browser draws its own pictures.")
        risk = "read every file under _site/ (the course's pages and models; nothing else on this machine)"
    else:
        what = f"  At most {args.max_kernels} visitors at once (--max-kernels), each a Python kernel of about 0.7 GB."
        risk = "use the page and run its kernels"
    if _loopback(args.host):
        return f"playground: http://{args.host}:{args.port}/{page}  (Ctrl-C stops it)\n{what}"
    everywhere = args.host in ("0.0.0.0", "::")
    shown = (lan_address() or "<this machine's address>") if everywhere else args.host
    here = f", http://{LOOPBACK}:{args.port}/{page} here" if everywhere else ""
    return (f"playground: http://{shown}:{args.port}/{page} on the network{here} (Ctrl-C stops it)\n{what}\n"
            f"  --host {args.host}: anyone who can reach this machine can {risk}; there is no password.\n"
            "  If the students cannot reach that address, find this machine's: `hostname -I` (Linux), "
            "`ipconfig getifaddr en0` (macOS), `ipconfig` (Windows).")


def lan_address() -> str | None:
    """This machine's address on its network (the one its default route leaves from), or None. A UDP
    socket's connect sends nothing: it only makes the system pick the outgoing interface."""
    import socket

    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.connect(("10.254.254.254", 9))
        address = s.getsockname()[0]
        if not address.startswith(("127.", "0.")):
            return address
    return None


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
    p.add_argument("--max-kernels", type=int, default=12,
                   help="most visitors at once (one ~0.7 GB kernel each); the next one is told the playground is full")
    p.add_argument("--in-browser", action="store_true",
                   help="serve _site/playground.html instead: every browser runs the model itself (make class)")
    p.add_argument("--open", action="store_true", help="open a browser too")
    args = p.parse_args(argv)
    if args.max_kernels < 1:
        p.error(f"--max-kernels must be at least 1, got {args.max_kernels}")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.in_browser:
        return serve_site(args)
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
    from voila.app import Voila

    app = Voila.instance()
    app.initialize()
    app.voila_configuration.multi_kernel_manager_class = capped_kernel_manager(args.max_kernels, args.cull_after)
    app.start()


# ------------------------------------------------------------------------------ make class: the static site
def site_handler(directory: Path):
    """A quiet read-only file handler for `directory`, sending files with the kernel's sendfile."""
    import functools
    import http.server

    class Handler(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                          ".wasm": "application/wasm", ".mjs": "text/javascript", ".onnx": "application/octet-stream"}

        def end_headers(self):                    # a reload asks "changed?" and gets 304, not 50 MB again
            self.send_header("Cache-Control", "no-cache")
            super().end_headers()

        def copyfile(self, source, outputfile):
            try:
                self.wfile.flush()
                self.connection.sendfile(source)    # no copy through Python: flat memory, little CPU
            except (BrokenPipeError, ConnectionResetError):
                pass                                # the visitor left mid-download

        def log_message(self, *args):
            pass

    return functools.partial(Handler, directory=str(directory))


def site_is_stale() -> bool:
    """True when _site/ lacks the playground or its models, or holds older copies of classroom/web's files."""
    web = ROOT / "classroom" / "web"
    copies = {SITE / "playground.html": web / "playground.html",
              **{SITE / "static" / n: web / n for n in ("t2i.js", "t2i-ui.js", "t2i.css")}}
    if not (SITE / "models" / "unet.onnx").exists():
        return True
    return any(not copy.exists() or copy.read_bytes() != source.read_bytes() for copy, source in copies.items())


def port_taken(args) -> str:
    """What to do when the port is in use (a `make class` or `make playground` still running, often)."""
    return (f"Port {args.port} is already in use on this machine: is a `make class` or `make playground` still "
            "running in another terminal? Ctrl-C there stops it; or choose another port: "
            f"make class PORT={args.port + 1}" + (f" HOST={args.host}" if args.host != "127.0.0.1" else ""))


def serve_site(args) -> None:
    """Build _site/playground.html if it is missing, then serve _site/ until Ctrl-C."""
    import http.server

    if site_is_stale():
        import subprocess

        print(f"(re)building {SITE.name}/playground.html and its models: python classroom/build.py playground ...",
              flush=True)
        subprocess.run([sys.executable, str(ROOT / "classroom" / "build.py"), "playground"], check=True, cwd=ROOT)
    http.server.ThreadingHTTPServer.daemon_threads = True
    http.server.ThreadingHTTPServer.allow_reuse_address = True
    family = __import__("socket").AF_INET6 if ":" in args.host else __import__("socket").AF_INET
    try:
        server = type("Server", (http.server.ThreadingHTTPServer,), {"address_family": family})(
            (args.host, args.port), site_handler(SITE))
    except OSError as e:
        import errno

        if e.errno != errno.EADDRINUSE:
            raise
        sys.exit(port_taken(args))
    print(where(args), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopped", flush=True)
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
