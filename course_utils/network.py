"""Offline by default, online by one call: the course's network switch.

The Hugging Face libraries read HF_HUB_OFFLINE once, when huggingface_hub is first imported, so
setting the variable later (in a notebook cell, or in `setup()` after `pipelines` was imported)
changes nothing. `go_offline` and `go_online` therefore set the variable *and* the value the
libraries already read, and work at any point in a running kernel:

    from course_utils import go_online
    go_online()          # hub ids such as "stable-diffusion-v1-5/stable-diffusion-v1-5" may download
    go_offline()         # back to the default

Importing course_utils goes offline, unless the environment says HF_HUB_OFFLINE=0 before the
kernel starts. Online, every request to the hub gives up after `timeout` seconds (default 5) of
silence, without retries, so a network that accepts a connection and never answers (or none at all)
cannot stall a lesson."""

from __future__ import annotations

import inspect
import itertools
import os
import sys
import time

TIMEOUT = 5.0                    # seconds of silence before a hub request gives up
_WAITING: dict[int, tuple] = {}   # requests sent and not answered yet: number -> (sent when, read timeout)
_COUNTER = itertools.count()
_VARS = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
# modules that copied huggingface_hub.constants.HF_HUB_OFFLINE into their own namespace at import
_COPIES = ("diffusers.utils.hub_utils", "diffusers.loaders.lora_base", "diffusers.models.attention_dispatch")


def _set(offline: bool) -> None:
    from huggingface_hub import constants

    for name in _VARS:
        os.environ[name] = "1" if offline else "0"
    constants.HF_HUB_OFFLINE = offline
    for name in _COPIES:
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "HF_HUB_OFFLINE"):
            module.HF_HUB_OFFLINE = offline


def set_timeout(seconds: float = TIMEOUT) -> None:
    """Every hub request (metadata and downloads) gives up after `seconds` without an answer."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    from .validate import number

    seconds = number("seconds", seconds, 0.1, 600.0)
    constants.HF_HUB_ETAG_TIMEOUT = constants.HF_HUB_DOWNLOAD_TIMEOUT = seconds

    def cap(request):  # huggingface_hub passes timeout=None on some calls: no wait without end
        limits = request.extensions.get("timeout") or {}
        request.extensions["timeout"] = {k: seconds if limits.get(k) is None else min(limits[k], seconds)
                                         for k in ("connect", "read", "write", "pool")}
        _fail_fast(request, _http.httpx2.ConnectError)
        request.extensions["course_request"] = key = next(_COUNTER)
        _WAITING[key] = (time.monotonic(), request.extensions["timeout"]["read"])

    def answered(response):
        _WAITING.pop(response.request.extensions.get("course_request"), None)

    def client():
        c = _http.default_client_factory()
        c.event_hooks["request"].append(cap)
        c.event_hooks["response"].append(answered)
        return c

    _http.set_client_factory(client)
    for backoff in (_http.http_backoff, _http.http_stream_backoff):   # one try: no minute of retries
        inspect.unwrap(backoff).__kwdefaults__.update(max_retries=0)


def _fail_fast(request, error) -> None:
    """Raise at once if a request of the last half minute waited its whole timeout for an answer
    in vain: one silent network costs one timeout, not one per file a loader asks for."""
    now = time.monotonic()
    for key, (started, limit) in list(_WAITING.items()):
        if now - started > limit + 30:
            del _WAITING[key]
        elif now - started >= limit:
            raise error(f"the hub did not answer within {limit:g} s a moment ago; not waiting again "
                        "(check the network; offline, the course's own models need none)", request=request)


def go_offline() -> None:
    """Nothing is downloaded from now on (the default): hub ids load only from the local cache.

    Example: from course_utils import go_offline; go_offline()"""
    _set(True)


def go_online(timeout: float = TIMEOUT) -> None:
    """Allow downloads from the Hugging Face hub from now on, in this kernel; each request gives up
    after `timeout` seconds of silence.

    Example: from course_utils import go_online; go_online(); load_text_to_image("stable-diffusion-v1-5/stable-diffusion-v1-5")"""
    from .validate import number

    set_timeout(number("timeout", timeout, 0.1, 600.0, "seconds of silence before giving up; 5 is the default"))
    _WAITING.clear()
    _set(False)


def is_offline() -> bool:
    """True when the hub libraries will not touch the network (what they actually read)."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE)


def default_offline() -> None:
    """At import: offline, unless the environment asked for online (HF_HUB_OFFLINE=0) before start."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("0", "false", "no", "off"):
        set_timeout(TIMEOUT)
        return
    go_offline()
