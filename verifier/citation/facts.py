"""What a page says about itself: the facts the citation check compares with a citation.

Read once from the first decoded bytes of the liveness GET (``verifier.citation.extract``),
kept in the history with the observation, and compared later without the page.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class TitleSource(StrEnum):
    """Where a title candidate was read."""

    TITLE = "title"
    """``<title>`` with its site-name suffix (or prefix) removed."""
    TITLE_FULL = "title-full"
    """``<title>`` as written, when removing the site name changed it."""
    OG = "og:title"
    TWITTER = "twitter:title"
    JSON_LD = "json-ld"
    """A JSON-LD ``headline`` (or ``name`` of an article-like object)."""
    H1 = "h1"


class SiteSource(StrEnum):
    """Where a site name was read."""

    OG = "og:site_name"
    JSON_LD = "json-ld"
    """JSON-LD ``publisher.name``."""
    APPLICATION = "application-name"
    TITLE_SUFFIX = "title-suffix"
    """The part of ``<title>`` removed as the site's name."""


class DateSource(StrEnum):
    """Where a date was read, the most trustworthy first."""

    JSON_LD_PUBLISHED = "json-ld:datePublished"
    ARTICLE_PUBLISHED = "article:published_time"
    META = "meta"
    """Common date meta tags: ``date``, ``pubdate``, ``publish-date``, ``dc.date``,
    ``citation_publication_date``, ``parsely-pub-date``, ``sailthru.date``, ``og:pubdate``…"""
    TIME = "time"
    """The first ``<time datetime=…>``."""
    URL = "url"
    """A date in the URL's path (``/2021/02/03/``, ``/20210203/``, ``/2021-02-03-``)."""
    JSON_LD_MODIFIED = "json-ld:dateModified"
    ARTICLE_MODIFIED = "article:modified_time"


MODIFIED = frozenset({DateSource.JSON_LD_MODIFIED, DateSource.ARTICLE_MODIFIED})
"""Dates that say when a page changed, not when it was published."""


class Seen(BaseModel):
    """One text read from the page, and where."""

    model_config = ConfigDict(frozen=True)

    source: str
    text: str


class SeenDate(BaseModel):
    """One date read from the page (or its URL), and where."""

    model_config = ConfigDict(frozen=True)

    source: DateSource
    date: dt.date


class PageKind(StrEnum):
    """A page whose facts cannot say what it is about."""

    ARTICLE = "article"
    """An ordinary page: its facts speak for it."""
    SCRIPT_SHELL = "script-shell"
    """An empty document that scripts fill in (a single-page app): no heading, no text; its
    title, if any, may be the app's for every page."""
    CONSENT_WALL = "consent-wall"
    """A cookie or consent interstitial stands where the page should be."""


class PageFacts(BaseModel):
    """The facts of one page, in each list the most trustworthy first."""

    titles: list[Seen] = Field(default_factory=list)
    site_names: list[Seen] = Field(default_factory=list)
    dates: list[SeenDate] = Field(default_factory=list)
    canonical: str | None = None
    kind: PageKind = PageKind.ARTICLE
    probe_title: str | None = None
    """The title a random sibling path answered with, when the checker probed (a page that
    answers like a random path is the site's generic page)."""

    @property
    def published(self) -> SeenDate | None:
        """The first date that claims to be the publication date (not a modification)."""
        for seen in self.dates:
            if seen.source not in MODIFIED:
                return seen
        return None
