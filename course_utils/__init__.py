"""Helpers for the course "Image Models, hands-on". Start every notebook with:

    from course_utils import setup
    device = setup(seed=0)
"""

from .setup import setup

__all__ = ["setup"]
__version__ = "0.1.0"
