"""Pytest set-up shared by tests/ and the docstring examples under flexseg/."""

import gc
import tempfile

import keras
import pytest

from flexseg.models.catalogue import registry

# The files that take longest (`pytest --durations=0`, summed per file on each backend), slowest
# first: they are collected first, and `make test` passes --no-loadscope-reorder so that
# pytest-xdist hands files out in this order. A long file handed out last runs alone at the
# end while the other worker idles.
SLOWEST_FILES = (
    "tests/test_search.py",
    "tests/test_distribution.py",
    "tests/test_all_models.py",
    "tests/test_cross_backend.py",
    "tests/test_export.py",
    "tests/test_training.py",
    "tests/test_tune.py",
    "tests/test_benchmark_scripts.py",
    "tests/test_zoo.py",
    "tests/test_light_cli.py",
)


def pytest_collection_modifyitems(items):
    rank = {path: position for position, path in enumerate(SLOWEST_FILES)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))


def pytest_collection_finish(session):
    """Once every test module is imported (TensorFlow, JAX and torch among them), their
    objects move to a generation that garbage collection no longer scans. Keras's
    clear_session, KerasTuner and flexseg's training collect garbage at every model or trial,
    and each full collection spent about 0.3 s walking those objects: seven training and
    search tests on JAX took 106-116 s without this, 89 s with it. Objects made afterwards,
    by the tests, are collected as before."""
    gc.collect()
    gc.freeze()


def pytest_report_header(config):
    return f"keras {keras.__version__}, backend {keras.backend.backend()}"


@pytest.fixture(autouse=True)
def _restore_model_registry():
    """Models registered by a test or a docstring example do not leak into the next one."""
    registry.list_models()  # the built-in architectures register on first use
    saved = dict(registry._MODELS)
    yield
    registry._MODELS.clear()
    registry._MODELS.update(saved)


@pytest.fixture(autouse=True)
def _temporary_files_under_pytest(request, tmp_path_factory, monkeypatch):
    """The docstring examples' `tempfile.mkdtemp()` folders land under pytest's own temporary
    folder (which pytest prunes), not in the system's, where nothing would remove them."""
    if isinstance(request.node, pytest.DoctestItem):
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path_factory.mktemp("doctest")))
