"""What each install of flexseg puts on disk: the core, each backend, the search and the
test tools, as installed in this environment with the pins of constraints.txt.

    python -m benchmarks.install_size --json benchmarks/results/install_size.json \\
        --markdown benchmarks/results/install_size.md

Each group is what it adds to the core (a distribution two backends share counts in both);
"everything" is `make install` (`make test`). Sizes are the files pip recorded, in MiB.
"""

from __future__ import annotations

import argparse
import re
import sys
from importlib import metadata
from pathlib import Path

from benchmarks.machine import describe_machine, publish

# Group -> the requirements it adds (pyproject.toml's dependencies and extras).
GROUPS = {
    "core (keras, numpy, pillow, h5py, scipy, matplotlib)": ["flexseg"],
    "tensorflow backend": ["tensorflow", "tensorboard"],
    "jax backend": ["jax", "jaxlib"],
    "torch backend (CPU build)": ["torch"],
    "search (keras-tuner, scikit-learn for its Bayesian tuner)": ["keras-tuner", "scikit-learn"],
    "export (onnx, onnxruntime, tf2onnx, onnxscript, openvino, ai-edge-litert)": [
        "onnx", "onnxruntime", "tf2onnx", "onnxscript", "openvino", "ai-edge-litert",
    ],
    "test tools (pytest, hypothesis, ruff, tf-keras)": [
        "pytest", "hypothesis", "pytest-xdist", "ruff", "hatchling", "tf-keras",
    ],
}  # fmt: skip


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def closure(names: list[str], seen: set[str]) -> list[str]:
    """The installed distributions `names` need, not already in `seen` (which grows)."""
    found, stack = [], list(names)
    while stack:
        name = _name(stack.pop())
        if name in seen:
            continue
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        found.append(name)
        for requirement in dist.requires or []:
            if "extra ==" not in requirement:  # optional parts are not installed by it
                stack.append(requirement)
    return found


def size_mib(name: str) -> float:
    total = 0
    for file in metadata.distribution(name).files or []:
        path = Path(file.locate())
        if path.is_file():
            total += path.stat().st_size
    return total / 2**20


def table(report: dict) -> str:
    lines = [
        f"Python {report['python']}, {report['machine']['cpu']}: installed sizes in this "
        "environment (make install); each group is what it adds to the core.",
        "",
        "| what | distributions | MiB |",
        "|---|---:|---:|",
    ]
    for group in report["groups"]:
        lines.append(f"| {group['group']} | {len(group['distributions'])} | {group['mib']:,.0f} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.install_size", description=__doc__)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    (core_group, core_names), *others = GROUPS.items()
    core = set()
    members = {core_group: closure(core_names, core)}
    for group, names in others:
        members[group] = closure(names, set(core))
    members["everything (make install, make test)"] = sorted(
        {name for group in members.values() for name in group}
    )
    groups = [
        {"group": group, "distributions": sorted(names), "mib": sum(map(size_mib, names))}
        for group, names in members.items()
    ]
    report = {
        "command": "python -m benchmarks.install_size " + " ".join(sys.argv[1:]),
        "machine": describe_machine(),
        "python": sys.version.split()[0],
        "groups": groups,
    }
    publish(report, table(report), args.json, args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
