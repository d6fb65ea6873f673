"""Performance benchmarks of the operator: `python benchmarks/run.py` and `benchmarks/plot.py`."""
