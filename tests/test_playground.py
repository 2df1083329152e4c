"""classroom/playground.py (`make playground`, `make class`): the address it listens on, the cap on Voilà's
kernels, the static server of the in-browser playground. The address test sends no traffic: the bound
address is read from the operating system's table of listening sockets."""

import importlib
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from course_utils import paths


@pytest.fixture
def playground(monkeypatch):
    monkeypatch.syspath_prepend(str(paths.ROOT / "classroom"))
    yield importlib.import_module("playground")
    sys.modules.pop("playground", None)


def test_the_playground_listens_on_this_machine_only_unless_told(playground):
    default = playground.parse_args(["--port", "9000"])
    assert default.host == "127.0.0.1" and "--Voila.ip=127.0.0.1" in playground.voila_argv(default)
    assert "no password" not in playground.where(default)
    everyone = playground.parse_args(["--port", "9000", "--host", "0.0.0.0"])
    assert "--Voila.ip=0.0.0.0" in playground.voila_argv(everyone)
    said = playground.where(everyone)
    shown = playground.lan_address() or "<this machine's address>"        # the real one where the system knows it
    assert f"http://{shown}:9000/" in said and "no password" in said and "hostname -I" in said
    assert not shown.startswith("127.")
    one = playground.where(playground.parse_args(["--port", "9000", "--host", "192.168.1.20"]))
    assert "http://192.168.1.20:9000/" in one and "127.0.0.1" not in one and "no password" in one
    assert "no password" not in playground.where(playground.parse_args(["--host", "127.0.0.2"]))


@pytest.mark.parametrize("target", ["playground", "class"])
def test_make_playground_passes_host_and_a_shells_host_variable_does_not(tmp_path, target):
    def command(*extra, env=None):
        outer = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
        run = subprocess.run(["make", "-n", "--no-print-directory", target, *extra], cwd=paths.ROOT,
                             capture_output=True, text=True, env={**outer, **(env or {})}, check=True)
        return run.stdout.strip().splitlines()[-1]

    assert command("HOST=0.0.0.0").endswith("--host=0.0.0.0")
    assert command(env={"HOST": "my-laptop"}).endswith("--host=127.0.0.1")   # tcsh exports HOST=<hostname>
    assert ("--in-browser" in command()) == (target == "class")


def test_make_class_says_what_it_exposes(playground):
    own = playground.where(playground.parse_args(["--in-browser", "--port", "9000"]))
    assert own.startswith("playground: http://127.0.0.1:9000/playground.html") and "no password" not in own
    said = playground.where(playground.parse_args(["--in-browser", "--port", "9000", "--host", "0.0.0.0"]))
    shown = playground.lan_address() or "<this machine's address>"
    assert f"http://{shown}:9000/playground.html" in said and "no password" in said
    assert "every file under _site/" in said and "kernels" not in said
    assert "At most 12 visitors" in playground.where(playground.parse_args([]))


def test_voila_loads_the_widget_extensions_and_no_other(playground):
    """The page gets ipywidgets' lab extension and Voila's widget manager (without it: no widgets, as an
    allow-list of the first alone showed), not the slideshow or font extensions (errors in the page)."""
    import logging

    from traitlets.config.loader import KVArgParseConfigLoader
    from voila.configuration import VoilaConfiguration
    from voila.utils import get_page_config

    argv = [a for a in playground.voila_argv(playground.parse_args([])) if a.startswith("--VoilaConfiguration.")]
    conf = VoilaConfiguration(config=KVArgParseConfigLoader(argv).load_config())
    names = {x["name"] for x in get_page_config("/", {}, logging.getLogger(), conf)["federated_extensions"]}
    everything = {x["name"] for x in get_page_config("/", {}, logging.getLogger(), VoilaConfiguration())
                  ["federated_extensions"]}
    assert "jupyterlab-slideshow" in everything                     # installed for JupyterLab ...
    assert names == set(playground.VOILA_EXTENSIONS), names         # ... and not loaded by the playground


def test_bad_kernel_caps_are_refused(playground, capsys):
    with pytest.raises(SystemExit):
        playground.parse_args(["--max-kernels", "0"])
    assert "--max-kernels must be at least 1, got 0" in capsys.readouterr().err


def test_the_kernel_cap_turns_the_next_visitor_away_with_503(playground):
    import asyncio

    from tornado import web

    manager = playground.capped_kernel_manager(max_kernels=2, cull_after=600)()
    started = []

    async def fake_start(self, *args, **kwargs):                 # no real kernel: only the count matters here
        started.append(kwargs.get("kernel_id") or f"k{len(started)}")
        return started[-1]

    manager.list_kernel_ids = lambda: list(started)
    base = type(manager).__mro__[1]
    original, base.start_kernel = base.start_kernel, fake_start
    try:
        assert asyncio.run(manager.start_kernel()) == "k0" and asyncio.run(manager.start_kernel()) == "k1"
        with pytest.raises(web.HTTPError) as full:
            asyncio.run(manager.start_kernel())
    finally:
        base.start_kernel = original
    assert full.value.status_code == 503 and "All 2 places are taken" in full.value.log_message
    assert "about 10 min after someone closes their tab" in full.value.log_message
    assert "make class" in full.value.log_message and len(started) == 2


def test_the_class_server_sends_files_and_nothing_outside_the_site(playground, tmp_path):
    import http.server
    import threading
    import urllib.error
    import urllib.request

    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "a.wasm").write_bytes(bytes(range(256)) * 4096)     # 1 MB
    (tmp_path / "secret.txt").write_text("not for the class")
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), playground.site_handler(tmp_path / "site"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{url}/a.wasm") as r:
            assert r.read() == (tmp_path / "site" / "a.wasm").read_bytes()
            assert r.headers["Content-Type"] == "application/wasm" and r.headers["Cache-Control"] == "no-cache"
        with pytest.raises(urllib.error.HTTPError) as outside:
            urllib.request.urlopen(f"{url}/../secret.txt")
        assert outside.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_make_class_on_a_port_in_use_says_so_without_a_traceback(playground, monkeypatch):
    """A second `make class` (say with HOST=0.0.0.0 while the first still runs) found port 8866 taken and
    ended in an OSError traceback in the 03/06 dress rehearsal; it now says what to do."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setattr(playground, "site_is_stale", lambda: False)
        with pytest.raises(SystemExit) as ended:
            playground.serve_site(playground.parse_args(["--in-browser", "--port", str(port)]))
    said = str(ended.value.code)
    assert f"Port {port} is already in use" in said and f"make class PORT={port + 1}" in said
    assert "HOST" not in said
    assert "HOST=0.0.0.0" in playground.port_taken(playground.parse_args(["--port", "8866", "--host", "0.0.0.0"]))


def _listening(pid: int) -> list[tuple[str, int]]:
    import psutil

    try:
        return [c.laddr[:2] for c in psutil.Process(pid).net_connections("inet") if c.status == psutil.CONN_LISTEN]
    except psutil.NoSuchProcess:
        return []


@pytest.mark.slow
def test_the_server_binds_the_host_it_is_given(tmp_path):
    """127.0.0.2 is a loopback address too (on Linux): a host other than the default, still unreachable from
    elsewhere. The server must listen there and nowhere else."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.2", 0))
        except OSError:
            pytest.skip("127.0.0.2 is not a loopback address here (macOS)")
        port = s.getsockname()[1]
    log = (tmp_path / "playground.log").open("w")
    proc = subprocess.Popen([sys.executable, "classroom/playground.py", f"--port={port}", "--host=127.0.0.2"],
                            cwd=paths.ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while not _listening(proc.pid) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _listening(proc.pid) == [("127.0.0.2", port)], (tmp_path / "playground.log").read_text()[-2000:]
    finally:
        os.killpg(proc.pid, signal.SIGINT)               # Ctrl-C, as the README says
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode is not None
