"""The collector held off while a large view is computed, and only then."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from services.metrics.api.collector import collector_paused


@pytest.fixture(autouse=True)
def collector_restored() -> Iterator[None]:
    was = gc.isenabled()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def test_the_collector_is_off_inside_and_on_again_after() -> None:
    gc.enable()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_stays_off_until_the_last_of_overlapping_views_is_done() -> None:
    gc.enable()
    first_in, second_done, release = threading.Event(), threading.Event(), threading.Event()

    def second_view() -> None:
        first_in.wait()
        with collector_paused():
            pass
        second_done.set()
        release.wait()

    other = threading.Thread(target=second_view)
    other.start()
    with collector_paused():
        first_in.set()
        second_done.wait()
        assert not gc.isenabled()  # the second view left; this one still computes
    release.set()
    other.join()
    assert gc.isenabled()


def test_a_collector_already_off_is_left_off() -> None:
    gc.disable()
    with collector_paused():
        pass
    assert not gc.isenabled()


def test_the_collector_runs_again_after_a_view_that_failed() -> None:
    gc.enable()
    with pytest.raises(ValueError, match="bad input"), collector_paused():
        raise ValueError("bad input")
    assert gc.isenabled()
