"""classroom/playground.py (`make playground`): the address it listens on. No traffic is sent: the bound
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
    assert "http://<this machine's address>:9000/" in said and "no password" in said and "hostname -I" in said
    one = playground.where(playground.parse_args(["--port", "9000", "--host", "192.168.1.20"]))
    assert "http://192.168.1.20:9000/" in one and "127.0.0.1" not in one and "no password" in one
    assert "no password" not in playground.where(playground.parse_args(["--host", "127.0.0.2"]))


def test_make_playground_passes_host_and_a_shells_host_variable_does_not(tmp_path):
    def command(*extra, env=None):
        outer = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}  # under make test
        run = subprocess.run(["make", "-n", "--no-print-directory", "playground", *extra], cwd=paths.ROOT,
                             capture_output=True, text=True, env={**outer, **(env or {})}, check=True)
        return run.stdout.strip().splitlines()[-1]

    assert command("HOST=0.0.0.0").endswith("--host=0.0.0.0")
    assert command(env={"HOST": "my-laptop"}).endswith("--host=127.0.0.1")   # tcsh exports HOST=<hostname>


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
