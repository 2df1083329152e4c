"""benchmarks/bench_text_to_image.py: the teacher and lcm-shapes timed in turns, the ratio against issue 29's
target printed, and a missing adapter said instead of crashing. Run on the tiny untrained checkpoints:
the numbers mean nothing here, only what is printed and in what order things run."""

import importlib.util

import pytest
import torch

from course_utils import paths


@pytest.fixture
def bench():
    spec = importlib.util.spec_from_file_location("bench_text_to_image",
                                                  paths.ROOT / "benchmarks" / "bench_text_to_image.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = torch.get_num_threads()
    yield module
    torch.set_num_threads(threads)                                         # main() sets it for the whole process


def test_the_timed_functions_take_turns(bench):
    ran = []
    medians = bench.medians_taking_turns({"a": lambda: ran.append("a"), "b": lambda: ran.append("b")}, 3)
    assert ran == ["a", "b"] * 4 and set(medians) == {"a", "b"}          # a warm-up each, then in turn


def test_the_lcm_row_and_the_missing_adapter(bench, tiny_course_checkpoints, capsys):
    from course_utils.finetune import fresh_pipeline
    from course_utils.finetune.unet_adapters import add_lora, save_lora

    bench.main(["--repeats", "1", "--threads", "1"])
    out = capsys.readouterr().out
    assert "pipeline, PIL image out" in out and "lcm-shapes: not measured (checkpoint 'lcm-shapes' not found" in out
    assert "python scripts/train_lcm_shapes.py" in out

    pipe = fresh_pipeline("cpu")
    add_lora(pipe.unet, rank=2)
    save_lora(pipe.unet, tiny_course_checkpoints / "lcm-shapes")
    bench.main(["--repeats", "1", "--threads", "1"])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "lcm-shapes, 4 LCM steps, no guidance" in line)
    assert "x the teacher's 25 guided steps above (target <= 0.2 x:" in row and "pipeline / bare U-Net" in out
