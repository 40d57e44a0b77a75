"""One run from a config: what every command builds before its work starts (datasets, the
model under its precision, its optimizer, loss and metrics, its callbacks, a trained model).

`RunSetup` (in `setup.py`) is that one place; train, tune, evaluate, infer and the demo use it.
"""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(__name__, {"RunSetup": "flexseg.run.setup"})

if TYPE_CHECKING:
    from flexseg.run.setup import RunSetup

__all__ = ["RunSetup"]
