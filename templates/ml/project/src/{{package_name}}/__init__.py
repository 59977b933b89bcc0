"""A small machine-learning project: data checks, training, a metric gate, monitoring."""
