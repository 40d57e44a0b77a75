"""Progress bars on long work: Keras's `Progbar` over any sized sequence.

Keras is imported only when a bar is drawn, so a tool that runs without one stays light.

Example:
    >>> [item * 2 for item in progress([1, 2, 3], "item", enabled=False)]
    [2, 4, 6]
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

Item = TypeVar("Item")


def progress(
    items: Iterable[Item], label: str, enabled: bool = True, total: int | None = None
) -> Iterator[Item]:
    """Yield `items`; when enabled, a bar counts them in `label`s as each one is done.
    `total` counts an iterator that is consumed as it goes (e.g. a pool's results)."""
    if total is None:
        items = list(items)
        total = len(items)
    if not enabled:
        yield from items
        return
    import keras

    bar = keras.utils.Progbar(total, unit_name=label)
    for done, item in enumerate(items, start=1):
        yield item
        bar.update(done)
