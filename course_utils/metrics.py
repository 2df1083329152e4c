"""The quality measures the model cards quote, under the names the lessons use (metrics.judge_digits, ...).

Two jobs, each in its own module; this one only hands their names on:
- digit_judge.py: the digit judge (digit_judge, judge_digits, heldout_digits, frechet_distance,
  DigitReport), for the digit models of lessons 00-03 and 07;
- shapes_reader.py: Shapes World pictures read back into words and judged against their prompts
  (read_scene, describe, judge, verdicts, adherence, FoundObject), for the text-to-image model.
New code imports from those modules."""

from .digit_judge import DigitReport, digit_judge, frechet_distance, heldout_digits, judge_digits
from .shapes_reader import ATTRIBUTES, FoundObject, adherence, describe, judge, read_scene, verdicts

__all__ = ["DigitReport", "digit_judge", "frechet_distance", "heldout_digits", "judge_digits",
           "ATTRIBUTES", "FoundObject", "adherence", "describe", "judge", "read_scene", "verdicts"]
