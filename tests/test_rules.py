"""Each tier rule, on small events built in the test."""

from __future__ import annotations

from typing import Any

import pytest

from verifier.config import DEFAULT_TIER1, DEFAULT_TIER2, DEFAULT_TIER3, RulesSettings
from verifier.events.registry import DomainRegistry
from verifier.events.rules import RuleContext, check_rules
from verifier.models import Event, LoadedEvent, Severity

REGISTRY = DomainRegistry({1: DEFAULT_TIER1, 2: DEFAULT_TIER2, 3: DEFAULT_TIER3})


def source(url: str, tier: Any = 2, publisher: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"url": url, "title": "t", "publisher": publisher or url, "tier": tier, **extra}


def event(sources: list[dict[str, Any]], **fields: Any) -> LoadedEvent:
    raw = {"id": "2021-02-03--e", "date": "2021-02-03", "title": "E", "sources": sources, **fields}
    return LoadedEvent(
        path="e.md",
        stem=str(raw["id"]),
        event=Event.model_validate(raw),
        raw=raw,
        lines={("sources",): 7, ("sources", 1, "url"): 12},
    )


GOOD = [source("https://www.justice.gov/a", 1, "DOJ"), source("https://apnews.com/b", 2, "AP")]


def rules_hit(loaded: LoadedEvent, **settings: Any) -> dict[str, Severity]:
    ctx = RuleContext.build(RulesSettings(**settings), REGISTRY)
    return {violation.rule: violation.severity for violation in check_rules(ctx, loaded)}


def test_good_event_has_no_violations() -> None:
    assert rules_hit(event(GOOD)) == {}


def test_event_without_any_url_fails_source_required() -> None:
    hits = rules_hit(event([source("", 1), source("", 2)]))
    assert hits["source-required"] is Severity.ERROR


@pytest.mark.parametrize("url", ["ftp://example.com/x", "example.com/x", "https://", "not a url"])
def test_non_http_url_fails_url_valid(url: str) -> None:
    assert rules_hit(event([*GOOD, source(url)]))["url-valid"] is Severity.ERROR


@pytest.mark.parametrize("tier", [0, 4, "1", "high", True])
def test_tier_outside_1_to_3_fails_tier_valid(tier: Any) -> None:
    assert rules_hit(event([*GOOD, source("https://x.org/", tier)]))["tier-valid"] is Severity.ERROR


def test_missing_tier_is_one_warning_per_event() -> None:
    loaded = event([*GOOD, source("https://x.org/a", None), source("https://x.org/b", None)])
    ctx = RuleContext.build(RulesSettings(), REGISTRY)
    found = [v for v in check_rules(ctx, loaded) if v.rule == "tier-missing"]
    assert len(found) == 1
    assert found[0].severity is Severity.WARNING
    assert "#2, 3" in found[0].message


def test_one_credible_source_fails_min_credible() -> None:
    hits = rules_hit(event([GOOD[0], source("https://medium.com/x", 3, "Blog")]))
    assert hits["min-credible-sources"] is Severity.ERROR


def test_the_same_url_twice_counts_once_as_credible() -> None:
    twice = [GOOD[0], source("https://WWW.JUSTICE.GOV:443/a#top", 1, "DOJ2")]
    hits = rules_hit(event(twice))
    assert hits["min-credible-sources"] is Severity.ERROR
    assert hits["duplicate-url"] is Severity.WARNING


def test_legacy_sources_take_their_tier_from_the_registry() -> None:
    legacy = [source("https://www.justice.gov/a", None), source("https://www.npr.org/b", None)]
    assert "min-credible-sources" not in rules_hit(event(legacy))
    assert "min-credible-sources" in rules_hit(event(legacy), infer_missing_tier=False)


def test_high_importance_needs_tier1() -> None:
    two_tier2 = [source("https://apnews.com/a", 2, "AP"), source("https://npr.org/b", 2, "NPR")]
    assert rules_hit(event(two_tier2, importance=8))["high-importance-tier1"] is Severity.ERROR
    assert "high-importance-tier1" not in rules_hit(event(two_tier2, importance=7))
    assert "high-importance-tier1" not in rules_hit(event(GOOD, importance=10))


def test_single_publisher_warns() -> None:
    same = [source("https://justice.gov/a", 1, "DOJ"), source("https://justice.gov/b", 1, "doj ")]
    assert rules_hit(event(same))["publisher-diversity"] is Severity.WARNING


def test_id_must_match_file_and_start_with_date() -> None:
    loaded = event(GOOD)
    loaded.stem = "2021-02-03--other-name"
    assert "id-matches-file" in rules_hit(loaded)
    hits = rules_hit(event(GOOD, id="2020-01-01--e"))
    assert "id-date-prefix" in hits


@pytest.mark.parametrize("date", ["2021-02-30", "2021-2-3", "February 3, 2021", "2021-13-01"])
def test_impossible_dates_fail(date: str) -> None:
    assert "date-valid" in rules_hit(event(GOOD, date=date, id=f"{date}--e"))


def test_blog_declared_tier1_warns_against_registry() -> None:
    blog = source("https://someone.substack.com/p/post", 1, "Someone")
    hits = rules_hit(event([*GOOD, blog]))
    assert hits["tier-registry"] is Severity.WARNING


def test_archive_url_must_be_a_capture_of_the_same_url() -> None:
    url = "https://apnews.com/b"
    good = source(url, 2, "AP", archive_url=f"https://web.archive.org/web/20210203000000/{url}")
    assert rules_hit(event([GOOD[0], good])) == {}
    for bad in (
        "https://example.org/web/20210203000000/https://apnews.com/b",
        "https://web.archive.org/about",
        "https://web.archive.org/web/20210203000000/https://apnews.com/other",
    ):
        hits = rules_hit(event([GOOD[0], source(url, 2, "AP", archive_url=bad)]))
        assert hits["archive-url-format"] is Severity.ERROR, bad


def test_links_the_index_resolves_or_other_archives_are_no_format_error() -> None:
    url = "https://apnews.com/b"
    for fine in (
        "https://web.archive.org/web/2021/https://apnews.com/b",  # partial: Wayback resolves it
        "https://web.archive.org/web/20210203000000*/https://apnews.com/b",  # calendar link
        "http://web.archive.org/web/20200101000000id_/http://www.apnews.com/b/",  # SURT-equal
        "https://wayback.archive.org/web/20210203000000/https://apnews.com/b",
        "https://archive.ph/abc",  # another archive
        "https://archive.org/details/some-item",
    ):
        hits = rules_hit(event([GOOD[0], source(url, 2, "AP", archive_url=fine)]))
        assert "archive-url-format" not in hits, fine


def test_severity_config_changes_and_disables_rules() -> None:
    same = [source("https://justice.gov/a", 1, "DOJ"), source("https://justice.gov/b", 1, "DOJ")]
    error = rules_hit(event(same), severity={"publisher-diversity": "error"})
    assert error["publisher-diversity"] is Severity.ERROR
    assert "publisher-diversity" not in rules_hit(
        event(same), severity={"publisher-diversity": "off"}
    )


def test_thresholds_are_configurable() -> None:
    assert "min-credible-sources" in rules_hit(event(GOOD), min_credible_sources=3)


def test_violation_lines_point_at_the_source() -> None:
    ctx = RuleContext.build(RulesSettings(), REGISTRY)
    [violation] = [
        v for v in check_rules(ctx, event([GOOD[0], source("ftp://x")])) if v.rule == "url-valid"
    ]
    assert violation.line == 12
    assert violation.source_index == 1


def test_registry_longest_suffix_wins() -> None:
    registry = DomainRegistry({1: ["gov"], 3: ["blog.example.gov"]})
    assert registry.tier_of("www.justice.gov") == 1
    assert registry.tier_of("x.blog.example.gov") == 3
    assert registry.tier_of("example.com") is None
