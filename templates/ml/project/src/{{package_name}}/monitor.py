"""Monitor the model on fresh data.

Loads the trained model (or trains one from the dataset when there is none), evaluates
it on a fresh sample from `data.make_sample`, writes <out>/metrics.json and exits 1 when
the gate metric falls below the threshold in config.py:

    python -m <package>.monitor --out monitoring

Exit codes: 0 healthy, 1 degraded or no usable model/data, 2 the output cannot be written.
"""

import argparse
import json
import sys
from pathlib import Path

from . import config
from .data import DataError, load_dataset, make_sample
from .evaluate import compute_metrics
from .train import MODEL_FILE, Model, load_model, predict, train


def _model(model_dir: Path, data: Path) -> tuple[Model, str]:
    """The saved model in `model_dir`, or a model trained on `data` when there is none.

    Raises ValueError with a readable message when neither works.
    """
    path = model_dir / MODEL_FILE
    if path.exists():
        try:
            return load_model(path), f"loaded {path}"
        except Exception as error:  # a corrupt or incompatible model file
            raise ValueError(f"cannot load the model {path}: {error}") from None
    try:
        model, _ = train(load_dataset(data))
    except DataError as error:
        raise ValueError(f"no model in {model_dir} and {data} is not valid: {error}") from None
    return model, f"trained on {data}, as {path} does not exist"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the model on fresh data.")
    parser.add_argument("--out", type=Path, default=Path("monitoring"), help="output directory")
    parser.add_argument(
        "--model-dir", type=Path, default=Path("artifacts"), help="directory of the trained model"
    )
    parser.add_argument(
        "--data", type=Path, default=Path("data/train.csv"), help="dataset to train on if needed"
    )
    parser.add_argument("--n", type=int, default=config.MONITOR_SAMPLE_SIZE, help="sample size")
    parser.add_argument("--seed", type=int, default=config.MONITOR_SEED, help="sample seed")
    parser.add_argument(
        "--drift",
        type=float,
        default=0.0,
        help="shift the sample by this many standard deviations (to rehearse a degradation)",
    )
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("--n must be at least 1")

    try:
        model, origin = _model(args.model_dir, args.data)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1

    sample = make_sample(args.n, seed=args.seed, drift=args.drift)
    metrics = compute_metrics(sample.y, predict(model, sample.X))
    value = metrics[config.GATE_METRIC]
    healthy = value >= config.GATE_THRESHOLD
    report = {
        **metrics,
        "gate_metric": config.GATE_METRIC,
        "threshold": config.GATE_THRESHOLD,
        "status": "ok" if healthy else "degraded",
        "n": args.n,
        "seed": args.seed,
        "drift": args.drift,
        "model": origin,
    }
    try:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "metrics.json").write_text(
            json.dumps(report, indent=2) + "\n", encoding="utf-8"
        )
    except OSError as error:
        print(f"error: cannot write to {args.out}: {error}", file=sys.stderr)
        return 2

    summary = f"{config.GATE_METRIC} {value:.4f} on {args.n} fresh rows ({origin})"
    if not healthy:
        print(
            f"error: model degraded: {summary} is below the threshold {config.GATE_THRESHOLD:.4f}",
            file=sys.stderr,
        )
        return 1
    print(f"model healthy: {summary}, threshold {config.GATE_THRESHOLD:.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
