"""The nights of ``tests/test_five_nights.py`` on the scale-out set-up (issue 15):
``verifier run --workers 2`` against a PostgreSQL history, the shipped config.toml (Wayback
on) with the same listed deviations, the history's URL given as ``$VERIFIER_HISTORY_URL``,
half the corpus (every second event file: the single-process test covers its scale).

A first night, an incremental one, a night whose run is SIGKILLed mid-check (its workers must
end with it and the restart resume the night), and a night SIGTERMed mid-archive. Each night
checks every due URL exactly once (one observation per URL and run), no host ever has more
requests in flight than ``per_host`` (counted by the server: two workers sending to one host
at once would show), and reaches the verdicts a single process reaches.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.nightly_support import Night, Nights, NightsOptions
from tests.test_five_nights import SHIPPED, STOP_BOUND, Record, completed, finished, on_hosts
from verifier.cli import ExitCode

pytestmark = [pytest.mark.corpus, pytest.mark.postgres]

WORKERS = 2


def checked_once(nights: Nights) -> None:
    """Every URL of the newest run was observed once (none twice, by two workers or by a
    restart that checked again what the killed run had stored)."""
    repeated = nights.query(
        "SELECT url, COUNT(*) FROM observations WHERE run_id = (SELECT MAX(id) FROM runs) "
        "GROUP BY url HAVING COUNT(*) > 1"
    )
    assert not repeated, f"checked more than once: {repeated[:5]}"


def polite(nights: Nights, night: Night) -> None:
    most = max(nights.web.max_inflight_by_host.values(), default=0)
    assert most <= SHIPPED.http.per_host, f"{most} requests in flight on one host: {night.label}"


def test_nights_with_workers_on_postgresql(
    tmp_path: Path, postgres_url: str, record_property: Record
) -> None:
    options = NightsOptions(stride=2, history_url=postgres_url, workers=WORKERS)
    with Nights(tmp_path, options) as nights:
        tracked, specials = nights.tracked, nights.specials

        # Night 1: everything is due; the workers check, the run archives.
        first = nights.first_night()
        polite(nights, first)
        statuses = completed(nights, first, record_property)
        checked_once(nights)
        sources = nights.sources()
        assert statuses[tracked["always_dead"]] == "suspect"
        assert sources[tracked["always_dead"]]["verdict"] == "dead"
        assert sources[tracked["refused"]]["verdict"] == "unreachable"
        ok = sum(1 for url in nights.base_urls if statuses.get(url) == "ok")
        assert ok >= 0.95 * len(nights.base_urls), f"{ok} of {len(nights.base_urls)} ok"
        for kind in ("soft404", "home_redirect"):  # each such site lost one page
            on_them = [url for url in nights.base_urls if on_hosts(url, specials[kind])]
            soft = [url for url in on_them if sources[url]["verdict"] == "soft-dead"]
            assert len(soft) == len(specials[kind]), (kind, soft)
        assert first.wayback_by_family.get("spn_submit", 0) > 0, "captures are requested"
        summary = nights.summary()
        assert summary["run"]["checked"] == summary["run"]["due"] == len(nights.base_urls)

        # Night 2, incremental: only what is due; archiving goes on.
        second = nights.second_night()
        polite(nights, second)
        statuses = completed(nights, second, record_property)
        checked_once(nights)
        assert statuses[tracked["new_alive"]] == "ok"
        assert statuses[tracked["new_dead"]] == "suspect"
        assert second.web_targets[tracked["dies"]] == 0  # checked OK yesterday: not due
        assert second.web_requests < first.web_requests / 10

        # Night 4: a batch arrives; the run is SIGKILLed mid-check; its workers end with it
        # and the restart resumes the night without checking a stored URL again.
        killed, after_kill, restart = nights.killed_night()
        finished(killed, record_property)
        assert killed.code == -9, killed.diagnosis()
        assert not killed.process.survivors, "a worker of the killed run lives on"
        assert after_kill == 0, f"{after_kill} requests reached the web after the SIGKILL"
        polite(nights, restart)
        statuses = completed(nights, restart, record_property)
        checked_once(nights)
        run = nights.summary()["run"]
        assert run["resumed"] is True, restart.diagnosis()
        assert run["resumed_with"] > 0, "the killed run's observations were kept"
        assert run["checked"] == run["due"] - run["resumed_with"]
        assert [state for _, state, _ in nights.runs()] == ["complete"] * 3
        new = nights.batch_urls[0]
        assert sum(1 for url in new if statuses.get(url) == "ok") >= 0.9 * len(new)

        # Night 5: another batch; SIGTERM once capture jobs are being polled.
        stopped = finished(nights.stopped_night(), record_property)
        assert stopped.code == ExitCode.COULD_NOT_CHECK, stopped.diagnosis()
        assert not stopped.process.survivors, "a worker of the stopped run lives on"
        assert stopped.process.stop_to_exit is not None
        assert stopped.process.stop_to_exit <= STOP_BOUND, stopped.diagnosis()
        assert stopped.web_after_signal == 0, stopped.diagnosis()
        assert stopped.wayback_after_signal == 0, stopped.diagnosis()
        assert nights.summary()["run"]["state"] == "interrupted"
        assert nights.runs()[-1][1] == "interrupted"
