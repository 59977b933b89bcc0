"""Token statistics for text corpora."""
