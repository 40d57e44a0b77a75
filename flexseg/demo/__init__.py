"""The demo: the whole job on the embedded synthetic dataset, from data to report
(`python -m flexseg.demo`, `flexseg demo`, `make demo`)."""

from typing import TYPE_CHECKING

from flexseg.lazy import lazy_exports

__getattr__, __dir__ = lazy_exports(
    __name__, {"demo_config": "flexseg.demo.run", "run_demo": "flexseg.demo.run"}
)

if TYPE_CHECKING:
    from flexseg.demo.run import demo_config, run_demo

__all__ = ["demo_config", "run_demo"]
