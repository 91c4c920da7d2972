"""The cyclic garbage collector held off while a large view is computed.

A view of 2,000 children makes ~90,000 container objects (rows, counts, flags, items),
nearly all freed by reference counting once the response is written. Left running, the
collector walked them ~140 times while they were being made, ~35 ms of a ~200 ms request
(benchmarks/children_view_bench.py). Reference counting is never paused, so only garbage
cycles made meanwhile wait, and the collector finds them once the last view is done.
Hold it until the view's objects are gone (the response written, its builder returned):
objects still alive when it runs again are all walked at once, by the first collection.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class _Pause:
    """Who holds the collector off: it runs again when the last holder is done, unless it
    was already off when the first one came."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.resume = False


_pause = _Pause()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Hold off the cyclic collector for the block; safe across threads and nesting."""
    with _pause.lock:
        if _pause.holders == 0:
            _pause.resume = gc.isenabled()
            gc.disable()
        _pause.holders += 1
    try:
        yield
    finally:
        with _pause.lock:
            _pause.holders -= 1
            if _pause.holders == 0 and _pause.resume:
                gc.enable()
