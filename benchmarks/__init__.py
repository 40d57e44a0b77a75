"""Speed and memory measurements: `python -m benchmarks.<name>`, results in benchmarks/results/."""
