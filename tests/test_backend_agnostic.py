"""The package never imports a backend framework directly and never runs text as code."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "flexseg"
FRAMEWORKS = {"tensorflow", "jax", "jaxlib", "torch", "tf_keras"}
# Optional adapters that may import a framework, each with its reason.
ADAPTERS: set[str] = {
    "export/tensorflow_runtime.py",  # runs SavedModel exports, which only TensorFlow loads
    "run/distribution.py",  # data-parallel training through tf.distribute and JAX's processes
    "run/torch_speedups.py",  # kernel memory layout and an in-place Adam step on torch
    "run/jax_speedups.py",  # small-map convolutions as one matrix product on JAX
    "run/tensorflow_speedups.py",  # Adam as TensorFlow's fused kernel
}
SOURCES = sorted(
    p for p in PACKAGE.rglob("*.py") if p.relative_to(PACKAGE).as_posix() not in ADAPTERS
)


def imported_modules(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", "") == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            yield node.args[0].value


def test_sources_are_found():
    assert PACKAGE / "models" / "flexunet.py" in SOURCES


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_framework_imports(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    bad = [m for m in imported_modules(tree) if m.split(".")[0] in FRAMEWORKS]
    assert not bad, f"{path} imports {bad}: use keras.ops / keras.layers / keras.random"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(PACKAGE).as_posix())
def test_no_eval_or_exec(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls = [
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"eval", "exec", "compile", "__import__"}
    ]
    assert not calls, f"{path} calls {calls}"
