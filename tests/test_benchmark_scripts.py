"""Benchmark scripts run and write well-formed results (speed itself is never asserted here)."""

import json

from benchmarks import data


def test_data_benchmark_smoke(tmp_path):
    out = tmp_path / "data.json"
    table = tmp_path / "data.md"
    assert data.main(["--smoke", "--size", "64", "--json", str(out), "--markdown", str(table)]) == 0
    report = json.loads(out.read_text())
    assert report["target_masks_per_second"] == 300
    assert [row["mask"] for row in report["results"]] == [
        "exact colors",
        "blended edges (bilinear rotation)",
    ]
    assert all(row["masks_per_second"] > 0 and row["size"] == 64 for row in report["results"])
    assert report["machine"]["cores"] >= 1
    assert "| exact colors | 64x64 |" in table.read_text()
