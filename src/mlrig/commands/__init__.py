"""One module per command; each exposes a plain function that returns a result."""
