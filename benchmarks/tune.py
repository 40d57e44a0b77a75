"""Architecture search on the demo's data, and its winner against the demo preset.

    python -m benchmarks.tune --json benchmarks/results/tune_cpu.json \\
        --markdown benchmarks/results/tune_cpu.md --plot benchmarks/results/tune_cpu_pareto.png
    python -m benchmarks.tune --smoke      # every step on a tiny dataset, in a few minutes
    python -m benchmarks.tune --redraw benchmarks/results/tune_cpu.json \
        --markdown benchmarks/results/tune_cpu.md --plot benchmarks/results/tune_cpu_pareto.png
                                           # the table and plot again from a result, no run

1. Writes the demo's synthetic dataset (400 images of 128x128, seed 0).
2. Runs `flexseg tune` over --architectures with the demo's recipe (class weights,
   flips, cosine schedule) within --budget minutes, each trial as long as the final runs
   (--trial-epochs defaults to --epochs: a shorter trial ranks what learns fast, not what
   ends best), the learning rate between 1e-3 and 1e-2 and the loss one with a region part.
   The shapes are searched within the demo preset's latency: --base-filters (16, the
   preset's, and 32) and --num-layers (3 and 4 levels), batch norm kept and no dropout; a
   trial whose model times slower than --search-latency times the preset's is refused before
   it trains. Not MACs: on this CPU a 3-level FlexUNet of 32 filters (1.59 GMACs) timed 9.0
   ms against the preset's 8.7 (0.58 GMACs) in tune_cpu.json, so a MACs budget refuses models
   that the latency goal allows. --max-macs adds a MACs budget. With --start-from-preset,
   trial 0 is the preset itself (tune.start_from_config), so the search sees the shape it is
   to beat.
3. Re-scores: one trial's score on one seed is noisy (one 3-level U-Net scored 0.329 to
   0.602 over three runs), and the Pareto front keeps each configuration's luckiest run, so
   the --rescore best trials (--rescore-from trials; `front`: only the front's points) that
   run no slower than the demo preset train again for --trial-epochs with each of
   --rescore-seeds; the winner has the best mean validation score over its runs. "No slower":
   the candidate and the preset timed in turn for --latency-rounds rounds, the order reversed
   every other round, the median ratio over the pairs of rounds at most 1 + --latency-slack
   (benchmarks.paired; one timing each is not enough: the preset's own shape once timed 7.04
   against the preset's 6.7 ms); the better-scoring trials passed over as slower are listed
   with their ratios. Validation only: the test split stays unseen
   until step 4.
4. Trains the winner's config and the demo preset `flexunet_cpu_demo` for the same
   --epochs with each of --seeds (the data stays that of --seed), scores every run with
   flexseg's evaluator on the held-out test split, and reports the winner-minus-preset gap
   per seed with its mean and 95% interval. Where the winner has a class-weight correction
   (inference only), the preset's checkpoints are scored with it too, and that gap reported:
   what the winner gains beyond the correction. The winner's final runs with a seed its
   search trial or re-scoring already trained with are one training on CPU: both validation
   scores are reported, to show that they match.
5. Times both models the way the search does, in turn for --latency-rounds rounds, so
   both see the same state of the machine; the ratio is taken pair of rounds by pair.

Run it alone on the machine: the latencies and the time budget assume nothing else runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.machine import describe_machine, publish
from benchmarks.paired import even_rounds, pair_ratios, paired_ratio, timed_in_turn
from benchmarks.seeds import float_list, int_list, seed_list, spread_text, summarize

ARCHITECTURES = "flexunet,unet,attention_unet"
RECIPE = ("learning_rate", "loss", "batch_size", "class_weight_correction")  # a trial's [train]


def recipe(root: Path, run_dir: Path, epochs: int, seed: int) -> dict:
    """The demo's config (flexseg.demo.demo_config) on `root`, training into `run_dir`."""
    from flexseg.demo import demo_config

    config = demo_config(epochs=epochs, minutes=10**6, seed=seed)  # epochs bound it, not time
    config["data"]["root"] = str(root)
    config["train"]["run_dir"] = str(run_dir)
    config["train"]["max_minutes"] = None
    return config


def best_val_fg_miou(history: dict) -> float:
    """The best validation fg mIoU of a run's history (0 where an epoch has none)."""
    return max(e.get("val_fg_miou") or 0.0 for e in history["epochs"])


def train_and_score(config: dict, also_corrected: float = 0.0) -> dict:
    """Train, then score the best checkpoint on the held-out test split; with
    `also_corrected` > 0, score the same checkpoint again with that
    train.class_weight_correction (inference only: no second training)."""
    from flexseg.config import config_from_dict
    from flexseg.evaluate.trained import evaluate_run
    from flexseg.train import train

    checked = config_from_dict(config)
    started = time.perf_counter()
    history = train(checked, verbose=0)
    seconds = time.perf_counter() - started
    scores = evaluate_run(checked)
    result = {
        "seed": checked.train["seed"],
        "epochs": len(history["epochs"]),
        "train_seconds": seconds,
        "best_val_fg_miou": best_val_fg_miou(history),
        "test_miou_foreground": scores["miou_foreground"],
        "test_iou": dict(zip(scores["classes"], scores["iou"], strict=True)),
    }
    if also_corrected:
        again = copy.deepcopy(config)
        again["train"]["class_weight_correction"] = also_corrected
        corrected = evaluate_run(config_from_dict(again))["miou_foreground"]
        result["test_miou_foreground_corrected"] = corrected
    return result


def best_validation(config: dict) -> float:
    """Train; the best validation fg mIoU of the run (the test split is not read)."""
    from flexseg.config import config_from_dict
    from flexseg.train import train

    return best_val_fg_miou(train(config_from_dict(config), verbose=0))


def rescore_best(
    search, candidates: list, out: Path, work: Path, preset: dict, args
) -> tuple[list, list]:
    """The --rescore best `candidates` (trial records) no slower than the `preset` config,
    each trained again with every --rescore-seeds seed from its config in the `search` (a
    checked Config), best mean validation score first; and the better-scoring trials passed
    over as slower, with their ratios.

    "No slower": the candidate's model and the preset's, timed in turn for --latency-rounds
    rounds, at most 1 + --latency-slack times the preset's time (benchmarks.paired). One
    timing per trial is not enough: two timings of the same architecture differ by 5%."""
    from flexseg.tune.results import best_config

    done = [r for r in candidates if r.status == "completed" and r.score is not None]
    chosen, slower = [], []
    for record in sorted(done, key=lambda r: r.score, reverse=True):
        if len(chosen) == args.rescore:
            break
        config = best_config(search, record, out)
        ratio = paired_latency_ratio(config, preset, args.size, args.latency_rounds)
        if ratio <= 1 + args.latency_slack:
            chosen.append((record, config, ratio))
        else:
            slower.append({"trial": record.trial, "architecture": record.architecture,
                           "score": record.score, "latency_ratio": ratio})  # fmt: skip
    rescored = []
    for record, config, ratio in chosen:
        scores = [record.score]
        for seed in args.rescore_seeds:
            again = copy.deepcopy(config)
            again["train"].update(seed=seed, run_dir=str(work / f"rescore_{record.trial}_{seed}"))
            scores.append(best_validation(again))
        rescored.append({"trial": record.trial, "architecture": record.architecture,
                         "latency_ms": record.latency_ms, "latency_ratio": ratio,
                         "scores": scores, "mean": statistics.mean(scores),
                         "config": config})  # fmt: skip
    return sorted(rescored, key=lambda r: r["mean"], reverse=True), slower


def preset_latency(preset: dict, size: int) -> float:
    """The demo preset's ms/image as the search times a trial (weights do not matter)."""
    from flexseg.tune.costs import latency_ms

    return latency_ms(untrained_for_inference(preset, size))


def untrained_for_inference(config: dict, size: int):
    """`config`'s model as evaluate and infer run it (float32), untrained: the same cost."""
    from flexseg.config import config_from_dict
    from flexseg.run.setup import RunSetup, inference_model

    return inference_model(RunSetup(config_from_dict(config)).build_model((size, size)))


def paired_latency_ratio(config: dict, preset: dict, size: int, rounds: int) -> float:
    """`config`'s ms/image over the `preset`'s, the two untrained models timed in turn for
    `rounds` rounds (weights do not change the cost): benchmarks.paired.paired_ratio."""
    pair = {"candidate": config, "preset": preset}
    models = {k: untrained_for_inference(c, size) for k, c in pair.items()}
    timings = timed_in_turn(models, rounds)
    return paired_ratio(timings["candidate"], timings["preset"])


def compare_costs(configs: dict[str, dict], rounds: int) -> dict:
    """Each trained model's parameters and MACs, and its latency timed `rounds` times,
    the models in turn, with the winner-to-preset ratio of every round and of every pair of
    rounds (benchmarks.paired)."""
    from flexseg.config import config_from_dict
    from flexseg.run.setup import RunSetup
    from flexseg.tune.costs import model_costs

    models = {key: RunSetup(config_from_dict(c)).trained_model() for key, c in configs.items()}
    timings = timed_in_turn(models, rounds)
    costs = {key: {**model_costs(m), "latency_ms": timings[key]} for key, m in models.items()}
    ratios = [w / p for w, p in zip(timings["winner"], timings["demo_preset"], strict=True)]
    pairs = pair_ratios(timings["winner"], timings["demo_preset"])
    return {**costs, "latency_ratio": ratios, "latency_pair_ratio": pairs}


def run(args: argparse.Namespace, work: Path) -> dict:
    import keras

    from flexseg.config import config_from_dict
    from flexseg.config.loader import load_config
    from flexseg.data.synthetic import write_dataset
    from flexseg.runtime import resolve_precision
    from flexseg.tune import tune
    from flexseg.tune.records import read_records
    from flexseg.tune.results import pareto_front

    root = write_dataset(work / "data", size=args.size, count=args.count, seed=args.seed).root
    preset = recipe(root, work / "preset", args.epochs, args.seed)
    preset["model"] = {"name": "flexunet_cpu_demo", "input_shape": [args.size, args.size, 3]}
    preset_ms = preset_latency(preset, args.size)
    constraints = [f"params<={args.max_params:g}",
                   f"latency_ms<={preset_ms * args.search_latency:.2f}"]  # fmt: skip
    if args.max_macs is not None:
        constraints.append(f"macs<={args.max_macs:g}")
    search = recipe(root, work / "search_run", args.trial_epochs, args.seed)
    search["tune"] = {
        "architectures": args.architectures.split(","),
        "max_trials": args.max_trials,
        "epochs": args.trial_epochs,
        "time_budget": args.budget,
        "constraints": constraints,
        "batch_size": [search["train"]["batch_size"]],
        # What can find a defect class within a trial's epochs (the demo's defect classes
        # appear after 11-19 of its 30 epochs): the demo's order of learning rate and losses
        # with a region part.
        "learning_rate": [1e-3, 1e-2],
        "loss": ["cce+dice", "focal+dice", "cce+tversky"],
        # Shapes a 2-core CPU can run about as fast as the preset, so that the trials the
        # budget affords compare those: from its width up (the 14 trained 8-filter trials of
        # the 12-epoch search of commit c141071 scored 0.000 to 0.167, the 16-filter ones up
        # to 0.340), 3 or 4 levels, batch norm, no dropout.
        "settings": {
            name: {
                "base_filters": args.base_filters,
                "num_layers": args.num_layers,
                "normalization": True,
                "dropout_rate": 0.0,
            }
            for name in args.architectures.split(",")
        },
    }
    if args.class_weight_corrections:  # inference-only, so the same latency
        search["tune"]["class_weight_correction"] = args.class_weight_corrections
    if args.start_from_preset:  # trial 0: the preset's shape and recipe, the first correction
        search["tune"]["start_from_config"] = True
        if args.class_weight_corrections:
            search["train"]["class_weight_correction"] = args.class_weight_corrections[0]
    out = work / "search"
    started = time.perf_counter()
    checked = config_from_dict(search)
    best = tune(checked, out=out, verbose=0)
    search_minutes = (time.perf_counter() - started) / 60
    records = read_records(out / "trials")
    front = pareto_front(records)
    shutil.copyfile(out / "pareto.png", work / "pareto.png")

    started = time.perf_counter()
    # One run's score is noisy and the front keeps each configuration's luckiest run: with
    # --rescore-from trials, the best trials as fast as the preset are re-scored, on the
    # front or not.
    candidates = front if args.rescore_from == "front" else records
    rescored, passed_over = rescore_best(checked, candidates, out, work, preset, args)
    rescore_minutes = (time.perf_counter() - started) / 60
    if rescored:
        winner = rescored[0]["config"]
        chosen = {"trial": rescored[0]["trial"], "architecture": rescored[0]["architecture"]}
    else:  # no front point as fast as the preset: the search's best
        winner = load_config(out / "best.toml").to_dict()
        chosen = {"trial": best["trial"], "architecture": best["architecture"]}
    # The correction is inference-only: the preset's checkpoints are also scored with the
    # winner's, so that the gain it brings is not credited to the winner's shape.
    correction = config_from_dict(winner).train["class_weight_correction"]
    runs: dict[str, list[dict]] = {"winner": [], "demo_preset": []}
    last: dict[str, dict] = {}
    for seed in args.seeds:
        for key, config in (("winner", winner), ("demo_preset", preset)):
            config = copy.deepcopy(config)
            run_dir = str(work / f"{key}_{seed}")
            config["train"].update(epochs=args.epochs, seed=seed, run_dir=run_dir)
            also = correction if key == "demo_preset" else 0.0
            runs[key].append(train_and_score(config, also_corrected=also))
            last[key] = config
    gaps = seed_gaps(runs, "test_miou_foreground")
    earlier = rescored[0] if rescored and args.trial_epochs == args.epochs else None
    return {
        "command": "python -m benchmarks.tune " + " ".join(sys.argv[1:]),
        "machine": describe_machine(),
        "backend": keras.backend.backend(),
        "precision": resolve_precision(search["train"].get("precision", "auto")),
        "settings": {
            k: v for k, v in vars(args).items() if k not in ("json", "markdown", "plot", "redraw")
        },
        "search_minutes": search_minutes,
        "trials": [r.to_dict() for r in records],
        "front": [r.trial for r in front],
        "best": best,
        "preset_search_latency_ms": preset_ms,
        "rescore_minutes": rescore_minutes,
        "rescored": [{k: v for k, v in r.items() if k != "config"} for r in rescored],
        "passed_over_as_slower": passed_over,
        "winner": chosen,
        "winner_model": winner["model"],
        "winner_train": {key: config_from_dict(winner).train[key] for key in RECIPE},
        "preset_train": {key: config_from_dict(preset).train[key] for key in RECIPE},
        "runs": runs,
        "repeats": repeated_runs(earlier, [args.seed, *args.rescore_seeds], runs["winner"]),
        "test_gap": summarize(gaps),
        **same_correction_gap(runs, correction),
        "costs": compare_costs(last, args.latency_rounds),
    }


def repeated_runs(rescored: dict | None, seeds: list[int], finals: list[dict]) -> list[dict]:
    """The winner's final runs with a seed its search trial or re-scoring already trained
    with (`seeds`: the trial's, then the re-scoring's, in the order of `rescored`'s scores),
    each with both best validation scores: on CPU they are one training and must match.
    None re-scored, or trials shorter than the final runs: none."""
    if rescored is None:
        return []
    earlier = dict(zip(seeds, rescored["scores"], strict=True))
    return [
        {"seed": r["seed"], "earlier": earlier[r["seed"]], "final": r["best_val_fg_miou"]}
        for r in finals
        if r["seed"] in earlier
    ]


def seed_gaps(runs: dict[str, list[dict]], preset_score: str) -> list[float]:
    """Winner minus preset, seed by seed: the winner's test fg mIoU against the preset's
    `preset_score`."""
    return [
        w["test_miou_foreground"] - p[preset_score]
        for w, p in zip(runs["winner"], runs["demo_preset"], strict=True)
    ]


def same_correction_gap(runs: dict[str, list[dict]], correction: float) -> dict:
    """The winner against the preset scored with the winner's class-weight correction, where
    the winner has one (no keys where it has none)."""
    if not correction:
        return {}
    gaps = seed_gaps(runs, "test_miou_foreground_corrected")
    return {"preset_correction": correction, "test_gap_same_correction": summarize(gaps)}


def replot(report: dict, plot: Path) -> None:
    """Redraw a result's pareto.png from its trial records, as `flexseg tune` draws it."""
    from flexseg.tune.records import TrialRecord
    from flexseg.tune.results import pareto_front, plot_front

    records = [TrialRecord(**t) for t in report["trials"]]
    best = next(r for r in records if r.trial == report["best"]["trial"])
    plot_front(records, pareto_front(records), best, "val_fg_miou", plot)


def table(report: dict) -> str:
    machine, settings = report["machine"], report["settings"]
    trials = report["trials"]
    done = [t for t in trials if t["status"] == "completed"]
    lines = [
        f"Machine: {machine['cpu']}, {machine['cores']} cores; backend {report['backend']}, "
        f"precision {report.get('precision', 'auto')}. "
        f"Search: {', '.join(settings['architectures'].split(','))} on the demo's synthetic "
        f"data ({settings['count']} images of {settings['size']}x{settings['size']}), "
        f"{settings['trial_epochs']} epochs a trial, a {settings['budget']:g}-minute budget, "
        f"{shapes_text(settings)}{budgets_text(report)}: "
        f"{len(trials)} trials in {report['search_minutes']:.1f} min, {len(done)} completed.",
        "",
        "| trial | status | architecture | val fg mIoU | parameters | ms/image | front | reason |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    if settings.get("start_from_preset"):
        lines[0] += (" Trial 0 was the preset's own shape and recipe (--start-from-preset; "
                     "tune.start_from_config).")  # fmt: skip
    for t in trials:
        score = "" if t["score"] is None else f"{t['score']:.3f}"
        params = "" if t["params"] is None else f"{t['params']:,}"
        latency = "" if t["latency_ms"] is None else f"{t['latency_ms']:.1f}"
        mark = "yes" if t["trial"] in report["front"] else ""
        lines.append(
            f"| {t['trial']} | {t['status']} | {t['architecture']} | {score} | {params} "
            f"| {latency} | {mark} | {t['reason']} |"
        )
    lines += rescore_lines(report)
    seeds = ", ".join(str(seed) for seed in settings["seeds"])
    lines += [
        "",
        *recipe_lines(report),
        f"Then both trained {settings['epochs']} epochs with each seed ({seeds}) and scored "
        "by flexseg's evaluator on the held-out test split:",
        "",
        "| seed | model | best val fg mIoU | test miou_foreground | train min |",
        "|---:|---|---:|---:|---:|",
    ]
    winner = report.get("winner", report["best"])  # results before re-scoring: the best
    labels = {
        "winner": f"search winner (trial {winner['trial']}, `{winner['architecture']}`)",
        "demo_preset": "demo preset `flexunet_cpu_demo`",
    }
    runs = report["runs"]
    for winner_run, preset_run in zip(runs["winner"], runs["demo_preset"], strict=True):
        for key, r in (("winner", winner_run), ("demo_preset", preset_run)):
            lines.append(
                f"| {r['seed']} | {labels[key]} | {r['best_val_fg_miou']:.3f} "
                f"| {r['test_miou_foreground']:.3f} | {r['train_seconds'] / 60:.1f} |"
            )
    costs = report["costs"]
    rounds = len(costs["latency_ratio"])
    order = ", the order reversed every other round" if alternating(report) else ""
    lines += [
        "",
        f"Costs; ms/image is the median of {rounds} rounds (min-max), the two models timed "
        f"in turn in each round{order}:",
        "",
        "| model | parameters | GMACs | ms/image |",
        "|---|---:|---:|---:|",
    ]
    for key, label in labels.items():
        c = costs[key]
        times = c["latency_ms"]
        lines.append(
            f"| {label} | {c['params']:,} | {c['macs'] / 1e9:.2f} "
            f"| {statistics.median(times):.1f} ({min(times):.1f}-{max(times):.1f}) |"
        )
    gap, ratios = report["test_gap"], costs.get("latency_pair_ratio", costs["latency_ratio"])
    spread = spread_text(gap)
    over = "pairs of rounds" if alternating(report) else "rounds"
    lines += [
        "",
        f"Winner minus preset, test miou_foreground: mean {gap['mean']:+.3f} ({spread}). "
        f"Winner's ms/image over the preset's: {statistics.median(ratios):.2f}x median "
        f"({min(ratios):.2f}-{max(ratios):.2f}x over the {over}).",
        *same_correction_lines(report),
        *repeat_lines(report),
    ]
    return "\n".join(lines) + "\n"


def same_correction_lines(report: dict) -> list[str]:
    """The winner against the preset's checkpoints scored with the winner's class-weight
    correction (results without a correction: none)."""
    if "test_gap_same_correction" not in report:
        return []
    scores = ", ".join(
        f"{r['test_miou_foreground_corrected']:.3f}" for r in report["runs"]["demo_preset"]
    )
    gap = report["test_gap_same_correction"]
    return [
        "",
        f"The preset's checkpoints scored again with the winner's class-weight correction "
        f"{report['preset_correction']:g} (inference only, no new training): test "
        f"miou_foreground {scores} by seed. Winner minus them: mean {gap['mean']:+.3f} "
        f"({spread_text(gap)}).",
    ]


def repeat_lines(report: dict) -> list[str]:
    """Whether the winner's final runs repeated the search's and the re-scoring's runs of
    the same seed (results before the check: none)."""
    repeats = report.get("repeats")
    if not repeats:
        return []
    pairs = "; ".join(f"seed {r['seed']}: {r['earlier']:.4f} then {r['final']:.4f}"
                      for r in repeats)  # fmt: skip
    largest = max(abs(r["final"] - r["earlier"]) for r in repeats)
    return [
        "",
        "The winner's final runs with the seeds it was trained with in the search (trial "
        "seed) and the re-scoring, best validation fg mIoU then and in the final run: "
        f"{pairs} (largest difference {largest:.4f}).",
    ]


def recipe_lines(report: dict) -> list[str]:
    """The winner's [train] values and the preset's (results before them: none)."""
    if "winner_train" not in report:
        return []

    def text(values: dict) -> str:
        return ", ".join(f"{key} {values[key]:g}" if isinstance(values[key], int | float)
                         else f"{key} {values[key]}" for key in RECIPE)  # fmt: skip

    return [
        f"The winner trains with {text(report['winner_train'])}; the preset with "
        f"{text(report['preset_train'])}.",
        "",
    ]


def rescore_lines(report: dict) -> list[str]:
    """The re-scoring of the front's fastest best points, when the run did it."""
    if "rescored" not in report:
        return []
    settings = report["settings"]
    seeds = ", ".join(str(seed) for seed in settings["rescore_seeds"])
    paired = any("latency_ratio" in r for r in report["rescored"])
    if paired and alternating(report):  # the order reversed every other round
        speed = (
            f"preset (each candidate and the preset timed in turn over "
            f"{settings['latency_rounds']} rounds, the order reversed every other round, the "
            f"median ratio over the pairs of rounds at most {1 + settings['latency_slack']:.2f})"
        )
    elif paired:  # each candidate timed in turn with the preset, always first
        speed = (
            f"preset (each candidate and the preset timed in turn over "
            f"{settings['latency_rounds']} rounds, the median ratio at most "
            f"{1 + settings['latency_slack']:.2f})"
        )
    else:  # results before the paired timing: the preset's one timing before the search
        speed = (
            f"preset ({report['preset_search_latency_ms']:.1f} ms/image timed as a trial"
            f"{slack_text(settings)})"
        )
    lines = [
        "",
        f"Re-scored: the {settings['rescore']} best {rescored_kind(settings)} no slower than "
        f"the demo {speed}, "
        f"each trained again for {settings['trial_epochs']} epochs with seeds {seeds}; best "
        f"validation fg mIoU of the trial itself, then of each seed "
        f"({report['rescore_minutes']:.1f} min):",
        "",
        f"| trial | architecture | {'over the preset' if paired else 'ms/image'} "
        "| val fg mIoU: trial, seeds | mean |",
        "|---|---|---:|---|---:|",
    ]
    for r in report["rescored"]:
        scores = ", ".join(f"{score:.3f}" for score in r["scores"])
        speed = f"{r['latency_ratio']:.2f}x" if paired else f"{r['latency_ms']:.1f}"
        lines.append(
            f"| {r['trial']} | {r['architecture']} | {speed} | {scores} | {r['mean']:.3f} |"
        )
    if not report["rescored"]:
        lines.append("| no front point was as fast as the preset: the search's best is used ||||")
    slower = report.get("passed_over_as_slower")  # older results do not keep it
    if slower:
        lines += ["", "Passed over as slower than the preset (paired median ratio): " + ", ".join(
            f"trial {r['trial']} ({r['architecture']}, {r['score']:.3f}, "
            f"{r['latency_ratio']:.2f}x)" for r in slower
        ) + "."]  # fmt: skip
    return lines


def alternating(report: dict) -> bool:
    """Whether the run timed its models in turn with the order reversed every other round
    (benchmarks.paired); earlier runs kept one order."""
    return "latency_pair_ratio" in report.get("costs", {})


def shapes_text(settings: dict) -> str:
    """The widths and depths the search was narrowed to, in words (none before it was)."""
    if "base_filters" not in settings:
        return ""
    widths = "/".join(str(w) for w in settings["base_filters"])
    depths = "/".join(str(n) for n in settings["num_layers"])
    corrections = settings.get("class_weight_corrections")
    searched = (
        f"class-weight corrections {'/'.join(f'{t:g}' for t in corrections)}, "
        if corrections
        else ""
    )
    return f"{widths} base filters, {depths} levels, {searched}"


def budgets_text(report: dict) -> str:
    """The search's budgets in words: params, the latency bound, MACs where one was set."""
    settings = report["settings"]
    parts = [f"params<={settings['max_params']:g}"]
    if "search_latency" in settings:  # before, MACs stood in for latency
        limit = report["preset_search_latency_ms"] * settings["search_latency"]
        parts.append(
            f"latency_ms<={limit:.2f} ({settings['search_latency']:.2f}x the preset's "
            f"{report['preset_search_latency_ms']:.2f}, timed before the search)"
        )
    if settings.get("max_macs") is not None:
        parts.append(f"macs<={settings['max_macs']:g}")
    return ", ".join(parts)


def rescored_kind(settings: dict) -> str:
    """What the re-scoring chose from, in words (the front, before --rescore-from)."""
    return "trials" if settings.get("rescore_from", "front") == "trials" else "front points"


def slack_text(settings: dict) -> str:
    """The timing slack of the re-scoring's latency filter, in words (none before it had one)."""
    slack = settings.get("latency_slack", 0.0)
    return f", give or take {slack:.0%} of timing noise" if slack else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tune", description=__doc__)
    parser.add_argument("--architectures", default=ARCHITECTURES)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--count", type=int, default=400)
    parser.add_argument(
        "--trial-epochs", type=int, default=None, help="epochs a search trial (default: --epochs)"
    )
    parser.add_argument(
        "--max-trials", type=int, default=60, help="trials over a budget cost seconds"
    )
    parser.add_argument(
        "--budget", type=float, default=25, help="search minutes (re-scoring comes after)"
    )
    parser.add_argument("--rescore", type=int, default=3, help="trials to re-score")
    parser.add_argument(
        "--rescore-from",
        choices=("trials", "front"),
        default="trials",
        help="re-score the best trials as fast as the preset, or only the front's points",
    )
    parser.add_argument(
        "--rescore-seeds", type=seed_list, default=[1, 2], help="seeds of the re-scoring runs"
    )
    parser.add_argument(
        "--base-filters",
        type=int_list,
        default=[16, 32],
        help="widths searched (comma-separated)",
    )
    parser.add_argument(
        "--num-layers", type=int_list, default=[3, 4], help="depths searched (comma-separated)"
    )
    parser.add_argument(
        "--class-weight-corrections",
        type=float_list,
        default=None,
        help="train.class_weight_correction values searched, e.g. 0,0.5,1 (default: none, "
        "as in the committed results)",
    )
    parser.add_argument(
        "--latency-slack",
        type=float,
        default=0.05,
        help="re-score trials up to this fraction slower than the preset, timed in turn",
    )
    parser.add_argument("--max-params", type=float, default=2e6, help="a params<= budget")
    parser.add_argument(
        "--search-latency",
        type=float,
        default=1.15,
        help="refuse trials slower than this times the preset before they train (one timing "
        "each: looser than --latency-slack's paired timing)",
    )
    parser.add_argument(
        "--max-macs", type=float, default=None, help="a macs<= budget (the demo preset: 5.8e8)"
    )
    parser.add_argument("--epochs", type=int, default=24, help="epochs of each final run")
    parser.add_argument("--seed", type=int, default=0, help="of the data and the search")
    parser.add_argument(
        "--seeds", type=seed_list, default=[0, 1, 2], help="training seeds of the final runs"
    )
    parser.add_argument(
        "--latency-rounds",
        type=even_rounds,
        default=32,
        help="rounds of timing a candidate with the preset, and the two final models, in "
        "turn, the order reversed every other round (even; benchmarks.paired_timing measured "
        "what 8, 16, 32 and 64 rounds say of the preset against itself)",
    )
    parser.add_argument(
        "--start-from-preset",
        action="store_true",
        help="make trial 0 the preset's own shape and recipe (with the first of "
        "--class-weight-corrections): tune.start_from_config",
    )
    parser.add_argument("--smoke", action="store_true", help="tiny, to test every step")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    parser.add_argument("--plot", type=Path, help="copy the search's pareto.png here")
    parser.add_argument(
        "--redraw",
        type=Path,
        metavar="JSON",
        help="no run: write --markdown and --plot again from a result's JSON",
    )
    args = parser.parse_args(argv)
    if args.redraw:
        report = json.loads(args.redraw.read_text(encoding="utf-8"))
        if args.plot:
            replot(report, args.plot)
        publish(report, table(report), None, args.markdown)
        return 0
    if args.smoke:
        args.architectures, args.size, args.count = "flexunet,unet", 64, 24
        args.trial_epochs, args.max_trials, args.budget, args.epochs = 1, 2, 5, 1
        args.seeds, args.latency_rounds, args.rescore, args.rescore_seeds = [0], 2, 1, [1]
    if args.trial_epochs is None:
        args.trial_epochs = args.epochs
    with tempfile.TemporaryDirectory() as folder:
        report = run(args, Path(folder))
        if args.plot:
            args.plot.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(Path(folder) / "pareto.png", args.plot)
    publish(report, table(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
