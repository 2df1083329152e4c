"""`quiet(...)`: the one way the course silences a library's notices for a few lines of code.

A library speaks through Python's `logging` (transformers and diffusers each log under their own
name: set_verbosity_error() is their root logger raised to ERROR) or through `warnings`. Both are
restored when the block ends, even on an error, so a student's own logging is left as it was."""

from __future__ import annotations

import contextlib
import logging
import warnings as _warnings


def _logger(name: str) -> logging.Logger:
    """logging.getLogger(name), through the library's own get_logger for transformers and diffusers: it sets up
    their root logger first, which would otherwise reset the level on the library's first message."""
    top = name.split(".")[0]
    if top in ("transformers", "diffusers"):
        import importlib

        return importlib.import_module(f"{top}.utils.logging").get_logger(name)
    return logging.getLogger(name)


@contextlib.contextmanager
def quiet(*loggers: str, warnings: type[Warning] | tuple[type[Warning], ...] = ()):
    """Raise each named logger to ERROR and ignore `warnings` of these categories, for the block.

    A logger is named as `logging.getLogger` names it: a library ("transformers", "diffusers") or one
    of its modules ("diffusers.loaders.lora_base"). warnings=Warning ignores every warning.
    Example: with quiet("diffusers.loaders.lora_base"): pipe.load_lora_weights(folder)
             with quiet(warnings=UserWarning): scheduler.step()"""
    categories = warnings if isinstance(warnings, tuple) else (warnings,)
    if not all(isinstance(c, type) and issubclass(c, Warning) for c in categories):
        raise TypeError(f"warnings must be a Warning class or a tuple of them (e.g. UserWarning), got {warnings!r:.60}")
    if not all(isinstance(name, str) and name for name in loggers):
        raise TypeError(f"loggers must be logger names such as 'transformers', got {loggers!r:.60}")
    chosen = [_logger(name) for name in loggers]
    levels = [lg.level for lg in chosen]
    for lg in chosen:
        lg.setLevel(logging.ERROR)
    try:
        with _warnings.catch_warnings():
            for category in categories:
                _warnings.simplefilter("ignore", category)
            yield
    finally:
        for lg, level in zip(chosen, levels):
            lg.setLevel(level)
