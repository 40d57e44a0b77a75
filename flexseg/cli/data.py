"""Dataset tools: synthetic, mvtec, augment, stats, check (flexseg data TOOL --help)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from flexseg.cli import common

DESCRIPTION = __doc__
# A bad --split or number is a ValueError from the tools' parsers: one line too.
ERRORS = (*common.USER_ERRORS, ValueError)
PALETTE_HELP = "palette preset, TOML or ini file (default: the dataset's dataset.toml)"


def _synthetic(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, type=Path, help="new or empty output folder")
    parser.add_argument("--size", type=int, default=256, help="image side in pixels (default 256)")
    parser.add_argument("--count", type=int, default=240, help="number of images (default 240)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default 0)")
    parser.add_argument("--split", default="0.6,0.2,0.2", help="train,valid,test fractions")


def run_synthetic(args: argparse.Namespace) -> int:
    from flexseg.data.splits import parse_fractions
    from flexseg.data.synthetic import write_dataset

    written = write_dataset(
        args.out,
        size=args.size,
        count=args.count,
        seed=args.seed,
        split=parse_fractions(args.split),
        progress=True,
    )
    for part, kinds in sorted(written.counts.items()):
        print(f"{part:5s} " + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items())))
    print(f"Wrote {args.out}/{{train,valid,test}} and {args.out}/mvtec_ad/screw")
    return 0


def _mvtec(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", required=True, type=Path, help="the MVTec AD folder")
    parser.add_argument("--category", required=True, help="e.g. screw")
    parser.add_argument("--out", required=True, type=Path, help="new or empty output folder")
    parser.add_argument("--include-good", action="store_true", help="add test/good images")
    parser.add_argument("--split", default="0.6,0.2,0.2", help="train,valid,test fractions")
    parser.add_argument("--seed", type=int, default=0, help="split seed (default 0)")
    parser.add_argument("--palette", help="palette preset or file (default mvtec_<category>)")


def run_mvtec(args: argparse.Namespace) -> int:
    from flexseg.data.mvtec import convert
    from flexseg.data.palette import Palette
    from flexseg.data.splits import SPLITS, parse_fractions

    counts = convert(
        args.root,
        args.category,
        args.out,
        palette=Palette.load(args.palette) if args.palette else None,
        include_good=args.include_good,
        split=parse_fractions(args.split),
        seed=args.seed,
        progress=True,
    )
    for part in SPLITS:
        print(f"{part:5s} " + ", ".join(f"{k} {n}" for k, n in sorted(counts[part].items())))
    return 0


def _augment(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--in", dest="source", required=True, type=Path, help="dataset root")
    parser.add_argument("--out", required=True, type=Path, help="new or empty output folder")
    parser.add_argument("--palette", help=PALETTE_HELP)
    parser.add_argument("--splits", default="train,valid", help="splits to augment")
    parser.add_argument(
        "--ops",
        default="all",
        help="comma-separated operations: hflip, vflip, rotate, shrink, shear, elastic, "
        "barrel, or all (default)",
    )
    parser.add_argument("--angles", default="90,180,270", help="rotation angles in degrees")
    parser.add_argument("--shrink", default="0.8", help="shrink ratios")
    parser.add_argument("--shear", default="0.2", help="shear factors")
    parser.add_argument("--elastic", type=int, default=1, help="elastic copies per image")
    parser.add_argument("--elastic-alpha", type=float, default=8.0, help="displacement, pixels")
    parser.add_argument("--elastic-sigma", type=float, default=6.0, help="smoothness, pixels")
    parser.add_argument("--barrel", default="0.3", help="barrel distortion strengths")
    parser.add_argument("--seed", type=int, default=0)


def run_augment(args: argparse.Namespace) -> int:
    from flexseg.data.augment import OPERATIONS, augment_dataset, build_transforms
    from flexseg.data.palette import Palette

    operations = OPERATIONS if args.ops == "all" else [op for op in args.ops.split(",") if op]
    transforms = build_transforms(
        operations,
        angles=_floats(args.angles),
        shrink_ratios=_floats(args.shrink),
        shear_factors=_floats(args.shear),
        elastic_count=args.elastic,
        elastic_alpha=args.elastic_alpha,
        elastic_sigma=args.elastic_sigma,
        barrel_ks=_floats(args.barrel),
        seed=args.seed,
    )
    counts = augment_dataset(
        args.source,
        args.out,
        Palette.of_dataset(args.source, args.palette),
        transforms,
        splits=tuple(s for s in args.splits.split(",") if s),
        progress=True,
    )
    print(", ".join(f"{part} {n} images" for part, n in counts.items()))
    return 0


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _stats(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="dataset root, or one split folder")
    parser.add_argument("--palette", help=PALETTE_HELP)
    parser.add_argument("--json", required=True, type=Path, help="write the statistics here")
    parser.add_argument("--plot", type=Path, help="write a PNG bar chart here")
    parser.add_argument("--mask-format", choices=("color", "index"), default="color")


def run_stats(args: argparse.Namespace) -> int:
    from flexseg.data.palette import Palette
    from flexseg.data.stats import dataset_stats, plot_stats
    from flexseg.outputs import write_text_atomically

    stats = dataset_stats(args.root, Palette.of_dataset(args.root, args.palette), args.mask_format)
    write_text_atomically(args.json, json.dumps(stats, indent=2) + "\n")
    if args.plot:
        plot_stats(stats, args.plot)
    for split, data in stats["splits"].items():
        print(f"{split}: {data['images']} images, {data['off_palette_pixels']} off-palette pixels")
    return 0


def _check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("root", type=Path, help="dataset root holding train/, valid/, test/")
    parser.add_argument("--palette", help=PALETTE_HELP)
    parser.add_argument("--splits", help="comma-separated splits (default: those present)")
    parser.add_argument("--mask-format", choices=("color", "index"), default="color")
    parser.add_argument(
        "--off-palette",
        choices=("error", "nearest", "ignore"),
        default="error",
        help="colors of no class: a problem (default), or what data.off_palette would do",
    )
    parser.add_argument(
        "--one-size", action="store_true", help="also require one image size per split"
    )


def run_check(args: argparse.Namespace) -> int:
    from flexseg.data.check import check_dataset
    from flexseg.data.palette import Palette

    report = check_dataset(
        args.root,
        Palette.of_dataset(args.root, args.palette),
        splits=[s for s in args.splits.split(",") if s] if args.splits else None,
        mask_format=args.mask_format,
        off_palette=args.off_palette,
        one_size=args.one_size,
        progress=True,
    )
    report.raise_on_problems()
    print(report.message())
    return 0


# Tool -> (what it does, its arguments, what it runs).
TOOLS = {
    "synthetic": (
        "Write the synthetic screw-defect dataset (split layout + MVTec AD layout).",
        _synthetic,
        run_synthetic,
    ),
    "mvtec": (
        "Convert an MVTec AD category into train/valid/test with colorized masks.",
        _mvtec,
        run_mvtec,
    ),
    "augment": (
        "Offline augmentation of train/valid (never test), masks in class-index space.",
        _augment,
        run_augment,
    ),
    "stats": ("Class statistics of a dataset, as JSON and a bar chart.", _stats, run_stats),
    "check": (
        "Check every image and mask before training: pairing, decoding, sizes, colors; "
        "exit status 2 listing every problem.",
        _check,
        run_check,
    ),
}


def configure(parser: argparse.ArgumentParser) -> None:
    tools = parser.add_subparsers(dest="tool", required=True, metavar="TOOL")
    for name, (description, arguments, _) in TOOLS.items():
        tool = tools.add_parser(name, help=description, description=description)
        arguments(tool)
        common.add_verbose_argument(tool)


def run(args: argparse.Namespace) -> int:
    return TOOLS[args.tool][2](args)


def main(tool: str, argv: list[str] | None = None) -> int:
    """`python -m flexseg.data.TOOL ARGS`: the tool as a program of its own."""
    description, arguments, run_tool = TOOLS[tool]
    prog = f"python -m flexseg.data.{tool}"
    parser = argparse.ArgumentParser(prog=prog, description=description)
    arguments(parser)
    common.add_verbose_argument(parser)
    return common.execute(prog, run_tool, parser.parse_args(argv), ERRORS)
