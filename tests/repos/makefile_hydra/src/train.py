"""Train the perceptron: ``python src/train.py [key=value ...]`` (Hydra-style overrides)."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from src.models.perceptron import accuracy, samples, train  # noqa: E402

DEFAULTS = {"trainer.max_epochs": 10, "trainer.seed": 12345, "model.learning_rate": 0.1}


def parse(argv):
    config = dict(DEFAULTS)
    for item in argv:
        key, _, value = item.partition("=")
        if key not in config:
            raise SystemExit(f"unknown override: {key}")
        config[key] = type(config[key])(value)
    return config


def main(argv):
    config = parse(argv)
    data = samples(config["trainer.seed"])
    model = train(data, config["trainer.max_epochs"], config["model.learning_rate"])
    result = {"train/acc": accuracy(model, data)}
    logs = Path("logs")
    logs.mkdir(exist_ok=True)
    (logs / "metrics.json").write_text(json.dumps(result) + "\n")
    print(result)


if __name__ == "__main__":
    main(sys.argv[1:])
