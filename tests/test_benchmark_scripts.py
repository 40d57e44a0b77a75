"""Benchmark scripts run and write well-formed results (speed itself is never asserted here)."""

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import keras
import pytest

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
    pipeline = report["pipeline"]
    assert [row["workers"] for row in pipeline] == [w[0] for w in data.WORKER_SETTINGS]
    assert all(r["batches_per_second"] > 0 and r["model_batches_per_second"] > 0 for r in pipeline)
    assert "| flexunet_tiny | 64x64 | 2 | 2 threads |" in table.read_text()


def test_infer_benchmark_end_to_end_on_this_backend(tmp_path):
    import json

    import keras

    from benchmarks import infer

    backend = keras.backend.backend()
    out_json, out_md = tmp_path / "infer.json", tmp_path / "infer.md"
    status = infer.main(
        ["--smoke", f"--backends={backend}", f"--json={out_json}", f"--markdown={out_md}"]
    )
    assert status == 0
    (result,) = json.loads(out_json.read_text())["results"]
    assert result["backend"] == backend
    (tiling,) = result["tilings"]  # 3x3 tiles of 32 for a 64x64 image, at most 8 a call
    assert result["whole"]["seconds_median"] > 0 and tiling["tiled"]["seconds_median"] > 0
    assert tiling["tiles_alone"]["seconds_median"] > 0 and tiling["tiled_pixels_ratio"] == 2.25
    assert (tiling["tile_calls"], tiling["tiles_per_call"]) == (2, 5)
    # A fully convolutional model, blended tiles: close to the whole-image probabilities.
    assert tiling["tiled_vs_whole_mean_abs"] < 0.05
    assert f"| {backend} | " in out_md.read_text()


def test_infer_benchmark_reports_a_failing_backend_in_one_table_cell():
    from benchmarks import infer
    from benchmarks.machine import describe_machine

    settings = {
        "model": "x",
        "size": 64,
        "tile": [32],
        "overlap": 8,
        "images": 1,
        "tile_batch": [8],
    }
    failed = {"backend": "jax", "error": "a | b"}
    report = {"settings": settings, "machine": describe_machine(), "results": [failed]}
    row = infer.table(report).splitlines()[-1]
    assert row == "| jax | failed: a / b | | | | | | | | | | |"


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the script's logic is backend-independent (checked once, on tensorflow); mixed "
    "precision training on every backend is tested in tests/test_training.py",
)
def test_precision_benchmark_smoke(tmp_path):
    import json

    from benchmarks import precision

    out_json, out_md = tmp_path / "precision.json", tmp_path / "precision.md"
    arguments = ["--smoke", "--seeds=3,5", f"--json={out_json}", f"--markdown={out_md}"]
    assert precision.main(arguments) == 0
    report = json.loads(out_json.read_text())
    runs = [(r["seed"], r["precision"]) for r in report["results"]]
    assert runs == [(s, p) for s in (3, 5) for p in ("float32", "mixed_bfloat16")]
    for r in report["results"]:
        assert r["epochs"] == 2 and 0.0 <= r["test_miou_foreground"] <= 1.0
    val = {(r["seed"], r["precision"]): r["best_val_fg_miou"] for r in report["results"]}
    mean_gap = sum(val[s, "mixed_bfloat16"] - val[s, "float32"] for s in (3, 5)) / 2
    assert report["verdict"]["mean_val_gap"] == pytest.approx(mean_gap)
    assert report["verdict"]["parity"] == (abs(mean_gap) <= precision.TOLERANCE)
    table = out_md.read_text()
    assert "| 5 | mixed_bfloat16 |" in table and "seeds 3, 5" in table


def _precision_report(seeds, backend="torch", epochs=30, gap=0.01):
    results = [
        {"seed": seed, "precision": precision, "seconds_per_epoch": 6.0 - 0.5 * bf16,
         "best_val_fg_miou": 0.5 + 0.01 * seed + gap * bf16, "test_miou_foreground": 0.5}
        for seed in seeds
        for bf16, precision in enumerate(("float32", "mixed_bfloat16"))
    ]  # fmt: skip
    settings = {"epochs": epochs, "count": 400, "size": 128, "seeds": list(seeds)}
    command = f"python -m benchmarks.precision --seeds {seeds}"
    machine = {"cpu": "cpu", "cores": 2}
    return {"backend": backend, "command": command, "settings": settings, "machine": machine,
            "results": results}  # fmt: skip


def test_precision_reports_of_other_seeds_merge_into_one_verdict(tmp_path):
    import json

    from benchmarks import precision

    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(_precision_report([0, 1], gap=0.01)))
    paths[1].write_text(json.dumps(_precision_report([2], gap=0.04)))
    out_json, out_md = tmp_path / "merged.json", tmp_path / "merged.md"
    arguments = ["--report", *map(str, paths), f"--json={out_json}", f"--markdown={out_md}"]
    assert precision.main(arguments) == 0
    merged = json.loads(out_json.read_text())
    assert merged["settings"]["seeds"] == [0, 1, 2] and len(merged["results"]) == 6
    assert merged["verdict"]["val_gaps"] == pytest.approx([0.01, 0.01, 0.04])
    assert "Runs merged from:" in out_md.read_text() and "seeds 0, 1, 2" in out_md.read_text()


@pytest.mark.parametrize(
    ("other", "message"),
    [
        (_precision_report([2], backend="jax"), "ran on jax"),
        (_precision_report([2], epochs=10), "epochs=10"),
        (_precision_report([1, 2]), r"repeats seeds \[1\]"),
    ],
)
def test_precision_reports_that_do_not_match_are_refused(tmp_path, other, message, capsys):
    import json

    from benchmarks import precision

    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    paths[0].write_text(json.dumps(_precision_report([0, 1])))
    paths[1].write_text(json.dumps(other))
    with pytest.raises(SystemExit):
        precision.main(["--report", *map(str, paths)])
    error = capsys.readouterr().err
    assert "b.json" in error and re.search(message, error)


@pytest.mark.parametrize("text", ["0,x", "1,1", ""])
def test_precision_benchmark_rejects_bad_seeds(text, capsys):
    from benchmarks import precision

    with pytest.raises(SystemExit):
        precision.main([f"--seeds={text}", "--smoke"])
    assert "--seeds" in capsys.readouterr().err


def test_startup_benchmark_reports_interleaved_medians_against_its_reference(tmp_path, monkeypatch):
    from benchmarks import startup

    quick = [sys.executable, "-c", "pass"]
    slower = [sys.executable, "-c", "import time; time.sleep(0.2)"]
    monkeypatch.setattr(
        startup, "commands", lambda: {"quick": (quick, {}), startup.REFERENCE: (slower, {})}
    )
    out = tmp_path / "startup.json"
    assert startup.main(["--runs", "2", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = {row["command"]: row for row in report["results"]}
    assert report["runs"] == 2 and set(rows) == {"quick", startup.REFERENCE}
    assert rows[startup.REFERENCE]["vs_import_keras_tensorflow"] == 1.0
    assert rows["quick"]["min_s"] <= rows["quick"]["median_s"] <= rows["quick"]["max_s"]
    assert rows["quick"]["vs_import_keras_tensorflow"] == pytest.approx(
        rows["quick"]["median_s"] / rows[startup.REFERENCE]["median_s"]
    )
    assert rows[startup.REFERENCE]["min_s"] >= 0.2 > rows["quick"]["median_s"]


def test_tune_benchmark_table_shows_every_trial_the_front_the_rescoring_and_both_final_runs():
    from benchmarks.seeds import summarize
    from benchmarks.tune import table

    def trial(number, status, architecture, score, params, latency, reason=""):
        return {
            "trial": number,
            "status": status,
            "architecture": architecture,
            "score": score,
            "params": params,
            "latency_ms": latency,
            "reason": reason,
        }

    def final(seed, val, test):
        return {
            "seed": seed,
            "best_val_fg_miou": val,
            "test_miou_foreground": test,
            "train_seconds": 120.0,
        }

    report = {
        "machine": {"cpu": "CPU", "cores": 2},
        "backend": "tensorflow",
        "settings": {
            "architectures": "flexunet,unet",
            "count": 24,
            "size": 64,
            "trial_epochs": 1,
            "budget": 5.0,
            "max_params": 2e6,
            "max_macs": 2e9,
            "epochs": 3,
            "seed": 0,
            "seeds": [0, 1],
            "rescore": 2,
            "rescore_seeds": [1, 2],
            "base_filters": [16],
            "num_layers": [3, 4],
            "latency_slack": 0.05,
        },
        "search_minutes": 0.4,
        "trials": [
            trial("0", "completed", "flexunet", 0.41, 502086, 9.8),
            trial("1", "failed", "unet", None, 3000000, None, "params 3,000,000 > 2,000,000"),
        ],
        "front": ["0"],
        "best": {"trial": "1", "architecture": "unet"},
        "preset_search_latency_ms": 10.2,
        "rescore_minutes": 1.5,
        "rescored": [
            {
                "trial": "0",
                "architecture": "flexunet",
                "latency_ms": 9.8,
                "scores": [0.41, 0.3, 0.35],
                "mean": 0.35,
            }
        ],
        "winner": {"trial": "0", "architecture": "flexunet"},
        "runs": {
            "winner": [final(0, 0.45, 0.52), final(1, 0.47, 0.50)],
            "demo_preset": [final(0, 0.40, 0.48), final(1, 0.44, 0.50)],
        },
        "test_gap": summarize([0.04, 0.0]),
        "costs": {
            "winner": {"params": 502086, "macs": 5e8, "latency_ms": [9.8, 9.0, 11.0]},
            "demo_preset": {"params": 484934, "macs": 4.8e8, "latency_ms": [7.0, 7.1, 8.0]},
            "latency_ratio": [1.40, 1.27, 1.375],
        },
    }
    lines = table(report).splitlines()
    assert "16 base filters, 3/4 levels, params<=2e+06" in lines[0]
    assert "2 trials in 0.4 min, 1 completed." in lines[0]
    assert "| 0 | completed | flexunet | 0.410 | 502,086 | 9.8 | yes |  |" in lines
    assert "| 1 | failed | unet |  | 3,000,000 |  |  | params 3,000,000 > 2,000,000 |" in lines
    assert (
        "preset (10.2 ms/image timed as a trial, give or take 5% of timing noise), "
        "each trained again for 1 epochs with seeds 1, 2; best validation fg mIoU of the "
        "trial itself, then of each seed" in "\n".join(lines)
    )
    assert "| 0 | flexunet | 9.8 | 0.410, 0.300, 0.350 | 0.350 |" in lines
    # Re-scored with the paired timing: the ratio to the preset instead of one timing.
    report["rescored"][0]["latency_ratio"] = 0.96
    report["settings"]["latency_rounds"] = 7
    paired = table(report)
    assert (
        "(each candidate and the preset timed in turn over 7 rounds, the median ratio at "
        "most 1.05)" in paired
    )
    assert "| 0 | flexunet | 0.96x | 0.410, 0.300, 0.350 | 0.350 |" in paired.splitlines()
    assert "Passed over" not in paired  # none recorded
    report["passed_over_as_slower"] = [
        {"trial": "1", "architecture": "unet", "score": 0.5, "latency_ratio": 1.123}
    ]
    assert (
        "Passed over as slower than the preset (paired median ratio): trial 1 (unet, 0.500, "
        "1.12x)." in table(report).splitlines()
    )
    # Searched within a latency budget set from the preset's timing, and no MACs budget.
    assert "params<=2e+06, macs<=2e+09: 2 trials" in lines[0]  # before: MACs stood in
    report["settings"].update(search_latency=1.15, max_macs=None)
    assert (
        "params<=2e+06, latency_ms<=11.73 (1.15x the preset's 10.20, timed before the "
        "search): 2 trials" in table(report).splitlines()[0]
    )
    # The re-scored winner is named, not the search's best.
    assert "| 1 | search winner (trial 0, `flexunet`) | 0.470 | 0.500 | 2.0 |" in lines
    assert "| 0 | demo preset `flexunet_cpu_demo` | 0.400 | 0.480 | 2.0 |" in lines
    assert "| search winner (trial 0, `flexunet`) | 502,086 | 0.50 | 9.8 (9.0-11.0) |" in lines
    assert "| demo preset `flexunet_cpu_demo` | 484,934 | 0.48 | 7.1 (7.0-8.0) |" in lines
    # Searched with class-weight corrections: named in the search, the recipes compared.
    assert "corrections" not in lines[0] and "The winner trains with" not in "\n".join(lines)
    report["settings"]["class_weight_corrections"] = [0.0, 0.5]
    report["winner_train"] = {"learning_rate": 0.004, "loss": "focal+dice", "batch_size": 4,
                              "class_weight_correction": 0.5}  # fmt: skip
    report["preset_train"] = {"learning_rate": 0.003, "loss": "cce+dice", "batch_size": 4,
                              "class_weight_correction": 0}  # fmt: skip
    corrected = table(report).splitlines()
    assert "3/4 levels, class-weight corrections 0/0.5, params<=2e+06" in corrected[0]
    assert (
        "The winner trains with learning_rate 0.004, loss focal+dice, batch_size 4, "
        "class_weight_correction 0.5; the preset with learning_rate 0.003, loss cce+dice, "
        "batch_size 4, class_weight_correction 0." in corrected
    )
    # Two seeds' gaps +0.04 and 0: mean +0.02, standard error 0.02, t(1) = 12.71.
    assert lines[-1] == (
        "Winner minus preset, test miou_foreground: mean +0.020 (standard error 0.020, "
        "95% interval [-0.234, +0.274] over 2 seeds: no difference detected). "
        "Winner's ms/image over the preset's: 1.38x median (1.27-1.40x over the rounds)."
    )
    # Timed with the order reversed every other round: the ratio of each pair of rounds.
    alternated = {**report, "costs": {**report["costs"], "latency_pair_ratio": [1.31, 1.25]}}
    assert (
        "(each candidate and the preset timed in turn over 7 rounds, the order reversed every "
        "other round, the median ratio over the pairs of rounds at most 1.05)"
    ) in table(alternated)
    last = table(alternated).splitlines()[-1]
    assert last.endswith("preset's: 1.28x median (1.25-1.31x over the pairs of rounds).")
    assert "the order reversed every other round:" in table(alternated)  # the costs' rounds
    # The preset's checkpoints also scored with the winner's correction: that gap too.
    from benchmarks.tune import same_correction_gap

    report["runs"]["demo_preset"][0]["test_miou_foreground_corrected"] = 0.51
    report["runs"]["demo_preset"][1]["test_miou_foreground_corrected"] = 0.53
    assert same_correction_gap(report["runs"], 0.0) == {}
    report.update(same_correction_gap(report["runs"], 0.5))
    assert report["test_gap_same_correction"]["values"] == pytest.approx([0.01, -0.03])
    # Gaps +0.01 and -0.03: mean -0.01, standard error 0.02.
    assert table(report).splitlines()[-2:] == [
        "",
        "The preset's checkpoints scored again with the winner's class-weight correction 0.5 "
        "(inference only, no new training): test miou_foreground 0.510, 0.530 by seed. Winner "
        "minus them: mean -0.010 (standard error 0.020, 95% interval [-0.264, +0.244] over 2 "
        "seeds: no difference detected).",
    ]


def test_tune_benchmark_rescores_the_best_trials_as_fast_as_the_preset(monkeypatch, tmp_path):
    import argparse

    from benchmarks import tune
    from flexseg.tune import results
    from flexseg.tune.records import TrialRecord

    def record(trial, score, status="completed"):
        # The trial's own timing no longer decides: its paired ratio to the preset does.
        return TrialRecord(trial, status, architecture="unet", score=score, latency_ms=9.0)

    trials = [
        record("0", 0.60),
        record("1", 0.55),
        record("2", 0.70),
        record("3", None, status="failed"),
        record("4", 0.50),
        record("5", 0.40),
    ]
    ratios = {"0": 0.8, "1": 1.04, "2": 1.12, "4": 0.9, "5": 0.7}  # "2": slower than the preset
    later = {"0": 0.2, "1": 0.6, "4": 0.5}  # the re-scoring runs' scores
    timed = []

    def paired(config, preset, size, rounds):
        timed.append((config["id"], preset, size, rounds))
        return ratios[config["id"]]

    monkeypatch.setattr(results, "best_config", lambda search, r, out: {"train": {}, "id": r.trial})
    monkeypatch.setattr(tune, "paired_latency_ratio", paired)
    monkeypatch.setattr(tune, "best_validation", lambda config: later[config["id"]])
    args = argparse.Namespace(
        rescore=3, rescore_seeds=[1], latency_slack=0.05, size=64, latency_rounds=5
    )
    rescored, slower = tune.rescore_best(None, trials, tmp_path, tmp_path, "preset", args)
    assert [(r["trial"], r["scores"], r["latency_ratio"]) for r in rescored] == [
        ("1", [0.55, 0.6], 1.04), ("4", [0.5, 0.5], 0.9), ("0", [0.6, 0.2], 0.8)
    ]  # fmt: skip
    assert slower == [{"trial": "2", "architecture": "unet", "score": 0.7, "latency_ratio": 1.12}]
    # Best scores first, and no timing once three are found: trial 5 is never built.
    assert [t[0] for t in timed] == ["2", "0", "1", "4"]
    assert {t[1:] for t in timed} == {("preset", 64, 5)}


def test_tune_benchmark_pairs_each_final_winner_run_with_the_search_run_of_its_seed():
    from benchmarks.tune import repeat_lines, repeated_runs

    finals = [{"seed": s, "best_val_fg_miou": v} for s, v in ((0, 0.5), (1, 0.61), (2, 0.7))]
    rescored = {"scores": [0.5, 0.6]}  # the trial (seed 0), then the re-scoring (seed 1)
    repeats = repeated_runs(rescored, [0, 1], finals)
    assert repeats == [{"seed": 0, "earlier": 0.5, "final": 0.5},
                       {"seed": 1, "earlier": 0.6, "final": 0.61}]  # fmt: skip
    assert repeated_runs(None, [0, 1], finals) == []
    assert repeat_lines({"repeats": repeats})[-1].endswith(
        "seed 0: 0.5000 then 0.5000; seed 1: 0.6000 then 0.6100 (largest difference 0.0100)."
    )
    assert repeat_lines({}) == []


def test_precision_verdict_says_what_its_interval_supports(tmp_path):
    import json

    from benchmarks import precision

    committed = Path(__file__).resolve().parents[1] / "benchmarks/results/precision_cpu.json"
    out_json, out_md = tmp_path / "p.json", tmp_path / "p.md"
    assert precision.main([f"--report={committed}", f"--json={out_json}",
                           f"--markdown={out_md}"]) == 0  # fmt: skip
    verdict = json.loads(out_json.read_text())["verdict"]
    low, high = verdict["val_gap_interval_95"]
    assert low < verdict["mean_val_gap"] < high
    assert verdict["difference_detected"] == (not low <= 0 <= high)
    assert verdict["equivalence_shown"] == (low >= -0.02 and high <= 0.02)
    gaps = verdict["val_gaps"]
    spread = (sum((g - sum(gaps) / 4) ** 2 for g in gaps) / 3 / 4) ** 0.5
    assert high - low == pytest.approx(2 * 3.182 * spread, rel=1e-3)  # t(0.975, 3 dof)
    assert "no difference is detected at this sample size" in out_md.read_text()


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the script's logic is backend-independent (checked once, on tensorflow); the demo "
    "itself runs on every backend in tests/test_cli.py",
)
def test_demo_benchmark_smoke(tmp_path):
    import json

    from benchmarks import demo

    backend = keras.backend.backend()
    out_json, out_md = tmp_path / "demo.json", tmp_path / "demo.md"
    assert demo.main(["--smoke", f"--backends={backend}", f"--json={out_json}",
                      f"--markdown={out_md}"]) == 0  # fmt: skip
    (run,) = json.loads(out_json.read_text())["runs"]
    assert run["backend"] == backend and run["epochs"] == 1
    assert 0.0 <= run["test_miou_foreground"] <= 1.0 and "background" in run["test_iou"]
    assert f"| {backend} | {run['precision']} |" in out_md.read_text()


def test_parser_benchmark_counts_every_case(tmp_path):
    import json

    from benchmarks import parsers

    out = tmp_path / "parsers.json"
    assert parsers.main(["--cases=30", "--readers=palette_ini,toml_config", f"--json={out}"]) == 0
    readers = json.loads(out.read_text())["readers"]
    assert [r["reader"] for r in readers] == ["palette_ini", "toml_config"]
    for r in readers:
        assert r["cases"] == r["loaded"] + r["flexseg_error"] + r["other_error"] > 0
        assert r["other_error"] == 0


def test_install_size_groups_add_up(tmp_path):
    import json

    from benchmarks import install_size

    out = tmp_path / "size.json"
    assert install_size.main([f"--json={out}"]) == 0
    groups = {g["group"].split(" (")[0]: g for g in json.loads(out.read_text())["groups"]}
    assert "keras" in groups["core"]["distributions"]
    assert "tensorflow" in groups["tensorflow backend"]["distributions"]
    assert "keras" not in groups["jax backend"]["distributions"]  # counted in the core only
    assert "scikit-learn" in groups["search"]["distributions"]  # KerasTuner's Bayesian tuner
    assert groups["everything"]["mib"] >= groups["core"]["mib"] + groups["torch backend"]["mib"]


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the script's own code is the same on every backend: checked once, on tensorflow",
)
def test_export_benchmark_smoke(tmp_path, monkeypatch):
    """Every step of benchmarks.export, each task run here rather than in its own process
    (the processes only start Python again: 25 s of CI time for nothing more)."""
    from benchmarks import export

    backend = keras.backend.backend()
    monkeypatch.setattr(export, "in_subprocess", lambda task, backend=None: export.worker(task))
    out_json, out_md = tmp_path / "export.json", tmp_path / "export.md"
    assert export.main(["--smoke", f"--json={out_json}", f"--markdown={out_md}"]) == 0
    (result,) = json.loads(out_json.read_text())["results"]
    keras_row, openvino_row = result["rows"]
    assert keras_row["backend"] == backend and openvino_row["format"] == "openvino"
    for row in (keras_row, openvino_row):
        assert set(row["latency"]) == {"1", "2"} and row["latency"]["1"]["median_ms"] > 0
    assert openvino_row["parity"]["passed"] and openvino_row["size_bytes"] > 0
    assert "| OpenVINO (CPU, f32) | " in out_md.read_text()


def test_export_benchmark_table_shows_failures_and_the_torch_fallback():
    from benchmarks import export
    from benchmarks.machine import describe_machine

    timed = {"1": {"median_ms": 10.0, "min_ms": 9.0, "max_ms": 11.0}}
    rows = [
        {"runtime": "Keras on tensorflow", "backend": "tensorflow", "latency": timed},
        {"runtime": "LiteRT", "format": "litert", "error": "killed by signal 9 (out of memory)"},
        {"runtime": "onnxruntime (CPU), exported by torch", "format": "onnx",
         "dynamic_error": "killed by signal 9", "export_seconds": 2.0, "size_bytes": 10**6,
         "parity": {"max_probability_difference": 1e-6},
         "latency": {"1": {"median_ms": 5.0, "min_ms": 4.0, "max_ms": 6.0}}},
    ]  # fmt: skip
    settings = {"size": 32, "batches": [1], "repeats": 3, "tolerance": 1e-3}
    report = {"settings": settings, "machine": describe_machine(),
              "results": [{"model": "m", "params": 5, "rows": rows}]}  # fmt: skip
    text = export.table(report)
    assert "| LiteRT | failed: killed by signal 9 (out of memory) |" in text
    assert "5.0 (4.0-6.0)" in text and "so torch's exporter wrote one model per batch" in text
    assert "0.50x the time of the fastest Keras backend" in text and "faster than every" in text


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="it measures XLA's convolution")
def test_small_maps_benchmark_smoke(tmp_path):
    import json

    from benchmarks import small_maps

    out_json, out_md = tmp_path / "maps.json", tmp_path / "maps.md"
    assert small_maps.main(["--smoke", f"--json={out_json}", f"--markdown={out_md}"]) == 0
    rows = json.loads(out_json.read_text())["results"]
    assert [(r["side"], r["channels"]) for r in rows] == [(2, 8), (8, 4)]
    assert all(r["max_abs_difference_relative"] < 1e-5 for r in rows)
    assert all(r["xla_gradient_ms"] > 0 and r["matrix_forward_ms"] > 0 for r in rows)
    assert "| 2x2 | 8 |" in out_md.read_text()
    assert small_maps.flexunet_levels()[-1] == (2, 2048)


@pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="the script's logic is backend-independent (checked once, on tensorflow); the "
    "correction itself is tested on every backend in tests/test_training.py",
)
def test_class_weight_correction_benchmark_smoke(tmp_path):
    from benchmarks import class_weight_correction as bench

    out_json, out_md = tmp_path / "correction.json", tmp_path / "correction.md"
    assert bench.main(["--smoke", f"--json={out_json}", f"--markdown={out_md}"]) == 0
    report = json.loads(out_json.read_text())
    assert [r["seed"] for r in report["runs"]] == [0, 1]
    chosen = report["chosen"]
    assert report["mean_valid"][str(chosen)] == max(report["mean_valid"].values())
    gaps = [
        r["test"][str(chosen)]["miou_foreground"] - r["test"]["0.0"]["miou_foreground"]
        for r in report["runs"]
    ]
    assert report["test_gap"]["values"] == pytest.approx(gaps)
    assert len(report["latency_ms"]["none"]) == len(report["latency_ms"]["chosen"]) == 2
    table = out_md.read_text()
    assert "| mean |" in table and f"Chosen: t={chosen}" in table
    redrawn = tmp_path / "again.md"
    assert bench.main([f"--redraw={out_json}", f"--markdown={redrawn}"]) == 0
    assert redrawn.read_text() == table
    with pytest.raises(SystemExit):
        bench.main(["--strengths=0.5,1"])  # no 0: nothing to compare with


def test_correction_epoch_choice_keeps_each_criterions_best_epoch_and_scores_it_on_test(
    tmp_path, monkeypatch
):
    from benchmarks import correction_epoch_choice as bench

    # Two seeds of three epochs: the uncorrected scores peak at epoch 3, the corrected at 2.
    valid = {0.0: [0.1, 0.2, 0.3], 0.5: [0.2, 0.5, 0.4]}
    test = {"epoch_2": 0.61, "epoch_3": 0.55}

    def three_epochs(config, folder):
        return [folder / f"epoch_{i}" for i in (1, 2, 3)]

    monkeypatch.setattr(bench, "train_keeping_every_epoch", three_epochs)

    def score(config, path, strength, split):
        epoch = int(path.name.split("_")[1])
        if split == "test":
            assert strength == 0.5  # test is scored with the correction only
            return test[path.name] + config["train"]["seed"] / 100
        return valid[strength][epoch - 1]

    monkeypatch.setattr(bench, "score_epoch", score)
    out_json, out_md = tmp_path / "choice.json", tmp_path / "choice.md"
    argv = ["--size=32", "--count=12", "--epochs=3", "--seeds=0,1", f"--json={out_json}",
            f"--markdown={out_md}"]  # fmt: skip
    assert bench.main(argv) == 0
    report = json.loads(out_json.read_text())
    assert [r["chosen"] for r in report["runs"]] == [{"uncorrected": 3, "corrected": 2}] * 2
    assert report["test_gap"]["values"] == pytest.approx([0.06, 0.06])
    table = out_md.read_text()
    assert "| 1 | corrected val | 2 | 0.200 / 0.500 | 0.620 |" in table
    assert "| 1 | uncorrected val | 3 | 0.300 / 0.400 | 0.560 |" in table
    assert "mean +0.060" in table
    redrawn = tmp_path / "again.md"
    assert bench.main([f"--redraw={out_json}", f"--markdown={redrawn}"]) == 0
    assert redrawn.read_text() == table


def test_paired_timing_blocks_count_the_ratios_over_the_limit():
    from benchmarks.paired_timing import block_summary

    base = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]
    times = [1.2, 1.0, 1.1, 0.9, 0.95, 1.0, 1.3]  # pairs: 1.1, 1.0, 0.975; the 7th dropped
    assert block_summary(times, base, 2, 0.05) == {
        "rounds": 2, "blocks": 3, "min": 0.975, "max": 1.1, "over_limit": 1
    }  # fmt: skip
    assert block_summary(times, base, 1, 0.05)["over_limit"] == 3
    assert block_summary(times, base, 6, 0.05)["max"] == 1.0  # median of the three pairs


def test_paired_timing_cancels_a_load_that_fades_during_the_timing(monkeypatch):
    from benchmarks import paired
    from flexseg.tune import costs

    clock = iter(range(100))  # each timing 1 ms faster than the one before: a fading load

    monkeypatch.setattr(costs, "latency_ms", lambda model: 100.0 - next(clock))
    timings = paired.timed_in_turn({"candidate": "same", "preset": "same"}, 8)
    assert timings["candidate"][:2] == [100.0, 97.0]  # first, then second in the next round
    assert paired.paired_ratio(timings["candidate"], timings["preset"]) == 1.0
    assert (
        statistics.median(  # one order throughout would call the same model slower
            c / p for c, p in zip(timings["candidate"][::2], timings["preset"][::2], strict=True)
        )
        > 1.0
    )


def test_paired_ratio_needs_whole_pairs_of_rounds():
    from benchmarks.paired import even_rounds, pair_ratios

    with pytest.raises(ValueError, match="at least 2 rounds"):
        pair_ratios([1.0], [1.0])
    assert even_rounds("32") == 32
    for text in ("7", "0", "many"):
        with pytest.raises(argparse.ArgumentTypeError, match="even number of rounds"):
            even_rounds(text)


def test_paired_timing_benchmark_smoke(tmp_path):
    from benchmarks import paired_timing

    out, table = tmp_path / "paired.json", tmp_path / "paired.md"
    assert paired_timing.main(["--smoke", "--json", str(out), "--markdown", str(table)]) == 0
    report = json.loads(out.read_text())
    assert report["backend"] == keras.backend.backend()
    first, second = report["latency_ms"]["first"], report["latency_ms"]["second"]
    assert len(first) == len(second) == len(report["ratios"]) == 6
    assert report["ratios"] == pytest.approx([b / a for a, b in zip(first, second, strict=True)])
    assert [(b["rounds"], b["blocks"]) for b in report["blocks"]] == [(1, 6), (2, 3)]
    assert "| 2 | 3 |" in table.read_text()
