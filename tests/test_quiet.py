import logging
import warnings

import pytest

from course_utils.quiet import quiet


def test_quiet_silences_the_named_loggers_below_error_and_restores_them(caplog):
    lib, other = logging.getLogger("course_test_lib.module"), logging.getLogger("course_test_other")
    lib.setLevel(logging.INFO)
    with caplog.at_level(logging.DEBUG), quiet("course_test_lib.module"):
        lib.warning("hidden")
        lib.error("shown")
        other.warning("also shown")                       # a logger not named keeps speaking
    assert [r.getMessage() for r in caplog.records] == ["shown", "also shown"]
    assert lib.level == logging.INFO                      # restored to what it was, not to a default


def test_quiet_of_a_library_is_its_set_verbosity_error():
    import transformers.utils.logging as tlog

    before = tlog.get_verbosity()
    with quiet("transformers"):
        assert tlog.get_verbosity() == logging.ERROR
    assert tlog.get_verbosity() == before


def test_quiet_ignores_only_the_warnings_asked_for():
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet(warnings=UserWarning):
            warnings.warn("hidden", UserWarning, stacklevel=1)
            warnings.warn("shown", DeprecationWarning, stacklevel=1)
        warnings.warn("after", UserWarning, stacklevel=1)               # the filter ends with the block
    assert [str(w.message) for w in seen] == ["shown", "after"]


def test_quiet_restores_the_loggers_after_an_error():
    lg = logging.getLogger("course_test_error")
    lg.setLevel(logging.DEBUG)
    with pytest.raises(KeyError), quiet("course_test_error"):
        assert lg.level == logging.ERROR
        raise KeyError("boom")
    assert lg.level == logging.DEBUG


@pytest.mark.parametrize("args, kwargs, words", [
    ((), {"warnings": "UserWarning"}, "warnings must be a Warning class"),
    ((), {"warnings": ValueError}, "warnings must be a Warning class"),
    ((logging.getLogger("x"),), {}, "loggers must be logger names"),
    (("",), {}, "loggers must be logger names"),
])
def test_quiet_names_a_bad_argument(args, kwargs, words):
    with pytest.raises(TypeError, match=words), quiet(*args, **kwargs):
        pass


def test_quiet_holds_for_a_library_not_yet_set_up():
    """transformers sets its root logger's level when it first logs: quiet must set it up first (a fresh process)."""
    import subprocess
    import sys

    def stderr(code):
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600).stderr

    loud = stderr("from diffusers import StableDiffusionPipeline")
    if "[transformers]" not in loud:
        pytest.skip("this transformers prints no notice on importing diffusers' pipelines: nothing to silence")
    assert "[transformers]" not in stderr("from course_utils.quiet import quiet\n"
                                          "with quiet('transformers'):\n    from diffusers import StableDiffusionPipeline")
