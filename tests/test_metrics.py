"""course_utils/metrics.py hands on the names of digit_judge.py and shapes_reader.py (lessons call metrics.*)."""

from course_utils import digit_judge, metrics, shapes_reader


def test_every_name_is_its_new_homes_object():
    for name in metrics.__all__:
        home = digit_judge if hasattr(digit_judge, name) else shapes_reader
        assert getattr(metrics, name) is getattr(home, name), name
    assert metrics.adherence is shapes_reader.adherence and metrics.judge_digits is digit_judge.judge_digits
    lessons_use = {"adherence", "describe", "digit_judge", "heldout_digits", "judge_digits", "read_scene"}
    assert lessons_use <= set(metrics.__all__)          # every name the notebooks call (grep 'metrics\.' notebooks/)
