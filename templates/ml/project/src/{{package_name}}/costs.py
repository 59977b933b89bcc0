"""What training costs: wall time, peak memory and model size.

train.py records these beside the metrics in artifacts/metrics.json; the gate in
evaluate.py compares them with the baseline and the budgets in config.py.

- ``train_seconds``: wall time of fitting and evaluating the model, as train.py measures
  it (time.perf_counter), not of loading the data or starting Python.
- ``peak_memory_mb``: the peak resident set size of the training process, read once
  training is done: on Linux ``VmHWM`` of /proc/self/status, elsewhere
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (on Windows, with neither, it is not
  recorded). It counts native memory too (NumPy, PyTorch), which tracemalloc would miss,
  costs nothing while training runs, and includes the interpreter and the imported
  libraries. Not ru_maxrss on Linux: the kernel carries that figure over from the
  process that started Python (fork, then exec), so a large parent (a test runner, an
  IDE) would inflate it.
- ``model_kb``: the size of the saved model file.
"""

import sys
from pathlib import Path

try:
    import resource
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

#: The cost figures, in the order the gate's table shows them, with their units.
UNITS = {"train_seconds": "s", "peak_memory_mb": "MB", "model_kb": "KB"}


def peak_memory_mb() -> float | None:
    """Peak resident set size of this process so far, in MB; None where unknown."""
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:  # not Linux
        status = ""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)  # in kB
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # macOS reports bytes, the BSDs kilobytes.
    per_unit = 1 if sys.platform == "darwin" else 1024
    return round(peak * per_unit / 1024**2, 1)


def record(seconds: float, model_path: Path) -> dict[str, float]:
    """The cost figures of a training run that took ``seconds`` and saved ``model_path``."""
    costs = {"train_seconds": round(seconds, 3)}
    memory = peak_memory_mb()
    if memory is not None:
        costs["peak_memory_mb"] = memory
    costs["model_kb"] = round(model_path.stat().st_size / 1024, 1)
    return costs
