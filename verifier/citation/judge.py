"""Pure: the citation verdict of one source — is the live page the page cited?

In order: a page that cannot speak for itself is ``unverifiable`` (with the reason); a page
whose title matches is ``matches`` (or ``date-mismatch`` when its date is far from the cited
one); otherwise the capture from the cited date decides: it matched then → ``drifted`` (the
page changed since it was cited); else the site's home page or a section front is
``generic-page`` and any other page ``wrong-page``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from verifier.citation.facts import MODIFIED, PageFacts, PageKind, SeenDate
from verifier.citation.matching import (
    best_title,
    cited_title_is_site,
    days_apart,
    is_generic_title,
    publisher_matches,
)
from verifier.config_sections import CitationSettings
from verifier.models import (
    CitationInfo,
    CitationVerdict,
    Citing,
    Observation,
    Source,
    Unverifiable,
    Verdict,
)
from verifier.urls import host_of


@dataclass(frozen=True, slots=True)
class CaptureHead:
    """The facts of a Wayback capture of the source from the cited time (``None`` facts:
    read, but not an HTML page)."""

    url: str
    facts: PageFacts | None


@dataclass(frozen=True, slots=True)
class CitationCheck:
    """The citation check of one fold: its settings, and the capture heads read this run
    (by archive key, as ``verifier.reports.fold.source_archive_key`` names sources)."""

    settings: CitationSettings
    captures: Mapping[str, CaptureHead] = field(default_factory=dict)

    def judge(
        self, source: Source, observation: Observation | None, key: str
    ) -> CitationInfo | None:
        return judge_citation(source, observation, self.settings, self.captures.get(key))


def cited_of(source: Source) -> Citing:
    return Citing(title=source.title, publisher=source.publisher, date=source.date)


def publication_date(page: PageFacts, checked_on: dt.date | None = None) -> SeenDate | None:
    """The page's publication date: the first date that claims to be one, passing over
    dates of the day it was checked (a masthead's "today", a feed's build time) — a page
    cited long before cannot have been published that day."""
    for seen in page.dates:
        if seen.source in MODIFIED:
            continue
        if checked_on is not None and abs((seen.date - checked_on).days) <= 1:
            continue
        return seen
    return None


def seen_of(page: PageFacts | None, checked_on: dt.date | None = None) -> Citing:
    if page is None:
        return Citing()
    published = publication_date(page, checked_on)
    return Citing(
        title=page.titles[0].text if page.titles else None,
        publisher=page.site_names[0].text if page.site_names else None,
        date=published.date.isoformat() if published is not None else None,
    )


def _unverifiable(
    source: Source, page: PageFacts | None, reason: Unverifiable, detail: str
) -> CitationInfo:
    return CitationInfo(
        verdict=CitationVerdict.UNVERIFIABLE,
        reason=reason,
        detail=detail,
        cited=cited_of(source),
        seen=seen_of(page),
    )


def _unverifiable_page(
    source: Source, page: PageFacts | None, settings: CitationSettings
) -> CitationInfo | None:
    """Why ``page`` cannot be compared with the citation, or None when it can."""
    if page is None:
        return _unverifiable(source, None, Unverifiable.NOT_HTML, "not an HTML page")
    if page.kind is PageKind.CONSENT_WALL:
        return _unverifiable(
            source, page, Unverifiable.CONSENT_WALL, "a consent wall stands before the page"
        )
    title = (source.title or "").strip()
    if page.kind is PageKind.SCRIPT_SHELL and not (title and title_matches(source, page, settings)):
        # an empty document scripts fill in: a title that matches still speaks for it, one
        # that does not may be the app's title for every page
        return _unverifiable(
            source, page, Unverifiable.SCRIPT_SHELL, "the page is an empty shell scripts fill in"
        )
    if not page.titles:
        return _unverifiable(source, page, Unverifiable.NO_METADATA, "the page names no title")
    if not title or cited_title_is_site(title, source.publisher, source.url):
        return _unverifiable(
            source, page, Unverifiable.NO_CITED_TITLE, "the citation's title names only the site"
        )
    return None


def title_matches(source: Source, page: PageFacts, settings: CitationSettings) -> bool:
    return best_title(source.title or "", page.titles).score >= settings.title_match


def needs_capture(
    source: Source, observation: Observation | None, settings: CitationSettings
) -> bool:
    """Whether the verdict waits on a capture from the cited time: the live page is
    readable and does not match."""
    if observation is None or observation.verdict is not Verdict.ALIVE:
        return False
    page = observation.page
    if page is None or _unverifiable_page(source, page, settings) is not None:
        return False
    return not title_matches(source, page, settings)


def judge_citation(
    source: Source,
    observation: Observation | None,
    settings: CitationSettings,
    capture: CaptureHead | None = None,
) -> CitationInfo | None:
    """The ``citation`` block for one source; None when the source was not read alive
    (liveness says why) or the check is off."""
    if not settings.enabled or observation is None:
        return None
    if observation.verdict is Verdict.BLOCKED:
        detail = f"the site refuses automated clients: {observation.detail}"
        return _unverifiable(source, None, Unverifiable.BLOCKED, detail)
    if observation.verdict is not Verdict.ALIVE:
        return None
    page = observation.page
    cannot = _unverifiable_page(source, page, settings)
    if cannot is not None:
        return cannot
    assert page is not None
    url = observation.final_url or source.url
    match = best_title(source.title or "", page.titles)
    seen = seen_of(page, observation.checked_at.date())
    if match.seen is not None and match.score >= settings.title_match:
        seen = seen.model_copy(update={"title": match.seen.text})
    info = CitationInfo(
        verdict=CitationVerdict.MATCHES,
        cited=cited_of(source),
        seen=seen,
        title_score=round(match.score, 1),
        publisher_matches=publisher_matches(
            source.publisher, page, url, settings.publisher_aliases
        ),
    )
    if match.seen is not None and match.score >= settings.title_match:
        return _dated(
            source, page, settings, info, where=match.seen.source, checked_at=observation.checked_at
        )
    read_capture = capture is not None and capture.facts is not None
    if capture is not None and capture.facts is not None:
        info.capture_url, info.capture_title = capture.url, seen_of(capture.facts).title
        if best_title(source.title or "", capture.facts.titles).score >= settings.title_match:
            info.verdict = CitationVerdict.DRIFTED
            info.detail = (
                "the page has changed since it was cited: its capture from the cited time "
                "shows the cited title"
            )
            return info
    if is_generic_title(page, host_of(url)):
        info.verdict = CitationVerdict.GENERIC_PAGE
        info.detail = "the URL answers with the site's home page or a section front"
        return info
    evidence = (
        "and its capture from the cited time does not either"
        if read_capture
        else "and no capture from the cited time was read"
    )
    info.verdict = CitationVerdict.WRONG_PAGE
    info.detail = f"the page's title does not match the cited title, {evidence}"
    return info


def _dated(
    source: Source,
    page: PageFacts,
    settings: CitationSettings,
    info: CitationInfo,
    *,
    where: str,
    checked_at: dt.datetime,
) -> CitationInfo:
    """A matching page: ``matches``, or ``date-mismatch`` when its date is far off."""
    published = publication_date(page, checked_at.date())
    apart = days_apart(source.date, published.date if published is not None else None)
    if apart is not None and published is not None and apart > settings.date_mismatch_days:
        info.verdict = CitationVerdict.DATE_MISMATCH
        info.detail = (
            f"the page is dated {published.date.isoformat()} ({published.source.value}), "
            f"{apart} days from the cited date"
        )
        return info
    info.detail = f"the title matches ({where})"
    if apart is not None and apart > settings.date_tolerance_days:
        info.detail += f"; the page's date is {apart} days from the cited date"
    return info
