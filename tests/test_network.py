"""Offline by default whatever the import order; go_online() works in a running kernel; a silent
network costs seconds, not minutes. Each test runs a fresh Python, as a notebook kernel would."""

import os
import socket
import subprocess
import sys
import threading

import pytest

from course_utils.paths import ROOT


def _run(code: str, timeout: float = 120, **env) -> str:
    base = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=base | env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.parametrize("imports", [
    "import course_utils",
    # these two import diffusers and transformers in a fresh Python: 5-6 s each
    pytest.param("import huggingface_hub, diffusers, transformers\nfrom course_utils import pipelines", marks=pytest.mark.slow),
    pytest.param("from course_utils import pipelines\nfrom course_utils import setup\nsetup()", marks=pytest.mark.slow),
])
def test_offline_whatever_the_notebook_imports_first(imports):
    out = _run(imports + """
from huggingface_hub import constants, is_offline_mode
import diffusers.utils.hub_utils as hub_utils
import course_utils
print(constants.HF_HUB_OFFLINE, is_offline_mode(), hub_utils.HF_HUB_OFFLINE, course_utils.is_offline())
""")
    assert out.split()[-4:] == ["True"] * 4


@pytest.mark.slow
def test_go_online_and_back_in_a_running_kernel():
    out = _run("""
import os
from course_utils import go_offline, go_online, pipelines
from huggingface_hub import constants
go_online()
print(constants.HF_HUB_OFFLINE, os.environ["HF_HUB_OFFLINE"], constants.HF_HUB_ETAG_TIMEOUT)
go_offline()
print(constants.HF_HUB_OFFLINE, os.environ["HF_HUB_OFFLINE"])
""")
    assert out.split() == ["False", "0", "5.0", "True", "1"]


def test_an_online_environment_is_respected():
    out = _run("import course_utils; print(course_utils.is_offline())", HF_HUB_OFFLINE="0")
    assert out.split() == ["False"]


@pytest.fixture()
def silent_server():
    """A server that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(50)
    held = []
    threading.Thread(target=lambda: [held.append(server.accept()) for _ in iter(int, 1)], daemon=True).start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


@pytest.mark.slow
def test_a_silent_network_stalls_a_lesson_for_seconds_only(silent_server, tmp_path):
    out = _run("""
import time
import course_utils
from course_utils import pipelines, text
course_utils.go_online()
for load in (lambda: pipelines.load_text_to_image("someone/model", device="cpu"),
             lambda: text.load_text_encoder("someone/encoder")):
    t = time.monotonic()
    try:
        load()
    except OSError as e:
        print(round(time.monotonic() - t, 1), "someone/" in str(e))
""", HF_ENDPOINT=silent_server, HF_HOME=str(tmp_path))
    seconds = [float(x) for x in out.split()[::2]]
    assert out.split()[1::2] == ["True", "True"]
    assert len(seconds) == 2 and sum(seconds) < 10, out
