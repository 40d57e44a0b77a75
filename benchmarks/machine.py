"""A description of the machine and library versions, stored with every benchmark result."""

from __future__ import annotations

import importlib.metadata
import json
import os
import platform
import shutil
import subprocess
from pathlib import Path

PACKAGES = (
    "flexseg",
    "keras",
    "tensorflow",
    "jax",
    "jaxlib",
    "torch",
    "numpy",
    "pillow",
    "scipy",
)


def gpus() -> list[str]:
    """GPU names and memory from nvidia-smi; empty without an NVIDIA GPU."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in listing.stdout.splitlines() if line.strip()]


def describe_machine() -> dict:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": cpu,
        "cores": cores,
        "gpus": gpus(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
    }


def run_json_worker(command: list[str], backend: str) -> dict:
    """Run a benchmark worker `command` in a fresh process on `backend`: the JSON object on
    the last line of its output, or {"error": ...} saying how it failed."""
    environment = dict(os.environ, KERAS_BACKEND=backend)
    environment.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if done.returncode < 0:  # killed: by the kernel when memory ran out, for SIGKILL
        return {"error": f"killed by signal {-done.returncode}" + (
            " (out of memory)" if done.returncode == -9 else "")}  # fmt: skip
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return {"error": " | ".join(lines[-2:])[-400:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def write_atomically(path: Path, text: str) -> None:
    """Write through a temporary name, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


def publish(
    report: dict, markdown: str, json_path: Path | None, markdown_path: Path | None
) -> None:
    """Print the Markdown table; write the report as JSON and the table, each where asked."""
    print(markdown)
    if json_path:
        write_atomically(json_path, json.dumps(report, indent=2) + "\n")
    if markdown_path:
        write_atomically(markdown_path, markdown)
