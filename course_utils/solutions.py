"""Exercise solutions that a student's Run All does not give away.

Every solution cell of a lesson starts with the cell magic `%%solution` (registered by `setup()`).
Such a cell runs, and prints its checker's verdict, only when asked:

* its first line reads `%%solution run`: a student who has tried the exercise opens the cell
  (click its "⋯"), reads the answer and runs it on purpose;
* `COURSE_SOLUTIONS=1` is in the environment: CI's nbval, `make notebooks`, the instructor's copy;
* `show_solutions(True)` was called in the kernel.

Otherwise the cell prints one line that says where the answer is and how to run it, so that
Run All reaches the end of the lesson with every exercise still open. Nothing a later cell needs
may be defined only in a solution cell (tests/test_solutions.py checks every lesson)."""

from __future__ import annotations

import os

ENV = "COURSE_SOLUTIONS"
HIDDEN_MESSAGE = ("Solution not run, so that Run All does not give it away. To read it, click the "
                  "\"⋯\" of this cell; to run it, change its first line to `%%solution run` and run "
                  "the cell (Shift+Enter).")
_SHOW: bool | None = None


class SolutionFailed(RuntimeError):
    """A solution cell that raised: the cell fails, so nbval and the student see it fail."""


def show_solutions(show: bool | None = True) -> None:
    """Run every `%%solution` cell from now on in this kernel (False: never; None: the environment decides)."""
    global _SHOW
    if show is not None and not isinstance(show, bool):
        raise TypeError(f"show_solutions takes True, False or None, not {show!r}.")
    _SHOW = show


def solutions_shown() -> bool:
    """True when solution cells run without being asked one by one (show_solutions, or COURSE_SOLUTIONS=1)."""
    if _SHOW is not None:
        return _SHOW
    return os.environ.get(ENV, "0").strip().lower() not in ("", "0", "false", "no")


def should_run(line: str) -> bool:
    """Whether a `%%solution <line>` cell runs. `line` may be "run" (run this one); anything else is refused."""
    words = line.split()
    if words and words != ["run"]:
        raise ValueError(f"`%%solution {line.strip()}`: the only word this line takes is `run` "
                         "(`%%solution run` runs this solution); leave it bare to keep it hidden.")
    return bool(words) or solutions_shown()


def solution(line: str, cell: str) -> None:
    """The `%%solution` cell magic: runs the cell in the notebook's namespace when `should_run`, else says how."""
    from IPython import get_ipython

    if not should_run(line):
        print(HIDDEN_MESSAGE)
        return None
    shell = get_ipython()
    result = shell.run_cell(cell, store_history=False, silent=False)
    if not result.success:  # the traceback is shown once; this marks the cell itself as failed
        raise SolutionFailed("this solution cell raised the error shown above") from None
    return None


def register() -> bool:
    """Register `%%solution` in the running IPython kernel; False outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    if shell is None:
        return False
    shell.register_magic_function(solution, magic_kind="cell", magic_name="solution")
    return True
