"""How long one redraw of widgets.noising_explorer takes (target: <= 100 ms, issue: lesson 03).

    python benchmarks/bench_noising_explorer.py

Moves the slider through 50 timesteps and switches the schedule, on a 256x256 photo and on a
16x16 digit, and prints the median time per redraw against the 100 ms budget."""

import statistics
import time

import torch

from course_utils import data, widgets

BUDGET_MS = 100.0


def time_redraws(explorer, n: int = 50) -> float:
    times = []
    for i in range(n):
        t0 = time.perf_counter()
        explorer.t.value = (i * 997) % 1000  # each change of the slider triggers one redraw
        if i % 10 == 0:
            explorer.kind.value = ("linear", "cosine", "scaled_linear")[i // 10 % 3]
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main():
    print(f"torch threads: {torch.get_num_threads()}")
    worst = 0.0
    for name, x0 in (("astronaut 256x256", data.photo("astronaut", 256)),
                     ("digit 16x16", data.digits(16).images[0])):
        ms = time_redraws(widgets.noising_explorer(x0))
        worst = max(worst, ms)
        print(f"{name:>18}: {ms:6.1f} ms per redraw = {ms / BUDGET_MS:.2f} x the {BUDGET_MS:.0f} ms budget")
    print("PASS" if worst <= BUDGET_MS else "FAIL", f"(worst {worst:.1f} ms)")
    return 0 if worst <= BUDGET_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
