"""Pytest set-up shared by tests/ and the docstring examples under flexseg/."""

import keras
import pytest

from flexseg.models.catalogue import registry


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
