"""The collector during a check run: the heap of its start frozen, young collections rarer,
everything restored when the last overlapping run ends."""

from __future__ import annotations

import gc

from tests.fakes.loopweb import LoopWeb
from tests.test_liveness import fast_settings
from verifier.web.gc_tuning import YOUNG_EVERY, collector_set_for_a_run
from verifier.web.liveness import LinkChecker


def test_a_run_freezes_the_heap_it_starts_with_and_restores_the_collector() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    loaded = [{"event": n} for n in range(1000)]  # what a run loaded before it starts
    with collector_set_for_a_run():
        assert gc.get_threshold()[0] == max(YOUNG_EVERY, before[0])
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() >= frozen_before + len(loaded)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    assert loaded


def test_a_heap_frozen_by_someone_else_stays_frozen() -> None:
    gc.freeze()
    try:
        with collector_set_for_a_run():
            assert gc.get_threshold()[0] >= YOUNG_EVERY
        assert gc.get_freeze_count() > 0  # not thawed by the run
    finally:
        gc.unfreeze()


def test_overlapping_runs_leave_it_set_until_the_last_ends() -> None:
    before = gc.get_threshold()
    outer = collector_set_for_a_run()
    outer.__enter__()
    with collector_set_for_a_run():
        pass
    assert gc.get_threshold()[0] == max(YOUNG_EVERY, before[0])  # the outer run goes on
    assert gc.get_freeze_count() > 0
    outer.__exit__(None, None, None)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


async def test_check_all_runs_with_the_collector_set_and_restores_it() -> None:
    before = gc.get_threshold()
    during: list[int] = []
    paths = [f"/news/story-{n}" for n in range(3)]
    async with LoopWeb(hosts=1) as web:
        web.publish(0, paths)
        async with LinkChecker(fast_settings()) as checker:
            await checker.check_all(
                [web.url(0, p) for p in paths],
                on_result=lambda _: during.append(gc.get_threshold()[0]),
            )
    assert during == [max(YOUNG_EVERY, before[0])] * 3
    assert gc.get_threshold() == before
