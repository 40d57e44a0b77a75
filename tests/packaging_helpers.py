"""Build and install small distributions offline, for the packaging tests."""

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OFFLINE = ["--no-deps", "--no-build-isolation", "--no-index", "--quiet"]


def run(command, **kwargs):
    """Run a command; on failure, show what it printed."""
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, (
        f"{command} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
    )
    return result


def build_wheel(source: Path, out: Path) -> Path:
    run([sys.executable, "-m", "pip", "wheel", *OFFLINE, "--wheel-dir", out, source], timeout=300)
    (wheel,) = out.glob("*.whl")
    return wheel


def fresh_venv_seeing_our_packages(folder: Path) -> Path:
    """A new venv (--system-site-packages) that also sees this environment's installed packages.

    Our own environment's site-packages is appended with a .pth line, so packages installed
    into the new venv come first, and the editable flexseg of this checkout is not visible
    (.pth files in an appended folder are not processed).
    """
    run(
        [sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", folder],
        timeout=120,
    )
    python = folder / "bin" / "python"
    site = run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"])
    Path(site.stdout.strip(), "our-packages.pth").write_text(
        sysconfig.get_paths()["purelib"] + "\n"
    )
    return python


def install(python: Path, *requirements) -> None:
    run(
        [sys.executable, "-m", "pip", "--python", python, "install", *OFFLINE, *requirements],
        timeout=300,
    )
