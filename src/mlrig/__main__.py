"""Entry point for ``python -m mlrig``."""

from mlrig.cli import main

main()
