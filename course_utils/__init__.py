"""Helpers for the course "Image Models, hands-on". Start every notebook with:

    from course_utils import setup
    device = setup(seed=0)

Importing course_utils makes the Hugging Face libraries offline, whatever was imported before;
`go_online()` allows downloads from the hub in a running kernel (course_utils/network.py)."""

from .network import default_offline, go_offline, go_online, is_offline

default_offline()

from .setup import setup  # noqa: E402

__all__ = ["setup", "go_online", "go_offline", "is_offline"]
__version__ = "0.1.0"
