"""What training costs: wall time, peak memory and model size.

train.py records these beside the metrics in artifacts/metrics.json; the gate in
evaluate.py compares them with the baseline and the budgets in config.py.

- ``train_seconds``: wall time of fitting and evaluating the model, as train.py measures
  it (time.perf_counter), not of loading the data or starting Python.
- ``peak_memory_mb``: the peak resident set size of the training process
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``), read once training is done. It counts
  native memory too (NumPy, PyTorch), which tracemalloc would miss, costs nothing while
  training runs, and includes the interpreter and the imported libraries. Linux reports
  it in KiB, macOS in bytes; on Windows (no ``resource`` module) it is not recorded.
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
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
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
