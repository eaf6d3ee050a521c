"""Citation benchmark: is the live page the page cited? Planted truth against the verdicts of
the real ``verifier run``.

    python -m benchmarks.citation [--seed N] [--sites 40] [--events 400] [--latency-ms 0]
                                  [--wayback-budget 1] [--timeout 300] [--keep DIR]

A loopback web of ``--sites`` news sites (each its own 127.x address, name, CMS template
and mix of head shapes from ``tests.fakes.article_pages``; Zipf-sized, so the busiest site
holds about a sixth of the citations, and the five busiest run rich templates) serves
articles, home pages and section fronts; unknown paths answer 404. Event files (Markdown
with YAML front matter, as ``examples/events``) cite them: each event is one story (its
sources' headlines share a topic, published within days of the event). Most citations are
correct, written as people and LLMs write them: the title as published or lightly edited
(case changed, subtitle dropped, ’ written ', the site suffix copied from ``<title>``,
spacing, the other headline of a rewritten page), the publisher as named or as an alias
("NYT", "New York Times"), the date as published, a month, or none. Planted wrong (the
variant in parentheses is printed with the figures):

- ``home``: the URL is the site's home page (teaser-listed: it lists the cited headline);
- ``section``: the URL is a section front (teaser-listed or not);
- ``other-article``: the URL is another article of the same site (same-story: an earlier
  or later one on the same topic; unrelated); some list the cited headline as "related";
- ``date-off``: the right page, a date more than 30 days off (a year, or months), only on
  pages that say their date (in the page or the URL);
- ``drifted-archived``: the live page now carries an unrelated headline (new-date: and a
  new publication date; same-date: the old one); the fake Wayback holds the original page,
  captured between its publication and the cited date, and on half of them the new page
  captured later; ``archive_url`` names the original capture (30 % at a timestamp rounded
  to the day, which the Wayback resolves);
- ``drifted-found``: the same without ``archive_url``: the verifier must find the capture;
- ``consent-wall`` / ``script-shell``: sites whose every article answers a consent
  interstitial (in place, or on one site after a 302 to a consent host) or a single-page
  app's shell; expected ``unverifiable``.

Half of the other cited pages have a capture too (of the page as it was), and a fifth of
the correct citations carry an ``archive_url`` naming theirs. ``verifier --config config.toml run
--now`` runs as its own process on the shipped ``config.toml`` with a few overrides
(``deviations``; the file is kept with ``--keep``): the scenario's folders, ``[security]
allow_private_networks``, the fake Wayback's endpoints (replay included), and Wayback time
scaled by ``NIGHT_SCALE`` as in ``benchmarks.nights`` (so a run sends a real night's
Wayback requests; ``--wayback-budget`` multiplies the time budget). No Wayback keys are
passed: no captures are requested. Each source of ``reports/events/<id>.json`` should
carry a ``citation`` object with a ``verdict``; sources without one count as "citation
block missing".

Printed: the planted-vs-verdict table; "wrong pages caught" (planted home, section,
other-article and date-off citations whose verdict is neither ``matches`` nor ``drifted``)
by variant; "false alarms" (correct citations called ``wrong-page``, ``generic-page`` or
``date-mismatch``) by edit; drifted recall; the run's wall time, the requests the servers
saw and how many sources the archive stage reached; the CPU time of
``verifier.citation.extract.page_facts`` per served page (the first ``max_body_bytes`` of
each body, as the liveness GET keeps them, timed in this process), and what those facts
read of the live pages: the headline, the publication date, walls and shells recognised.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import json
import os
import random
import re
import sys
import tempfile
import time
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from tests.fakes import article_pages as pages
from tests.fakes.loopweb import LoopWeb, Page, loopback_addresses
from tests.fakes.wayback import FakeWayback, FakeWaybackConfig, serve_fake_wayback, ts_of
from tests.nightly_support import (
    NIGHT_SCALE,
    TickingClock,
    merge_tables,
    run_process,
    shipped_config,
    toml_text,
)
from verifier.config import WaybackSettings

NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)
FIRST_DAY = dt.date(2019, 1, 1)
VERDICTS = ("matches", "drifted", "wrong-page", "generic-page", "date-mismatch", "unverifiable")
PLANTS = {
    # planted kind: (weight, expected verdict)
    "correct": (68, "matches"),
    "home": (4, "generic-page"),
    "section": (4, "generic-page"),
    "other-article": (5, "wrong-page"),
    "date-off": (5, "date-mismatch"),
    "drifted-archived": (4, "drifted"),
    "drifted-found": (4, "drifted"),
    "consent-wall": (3, "unverifiable"),
    "script-shell": (3, "unverifiable"),
}
WRONG = ("home", "section", "other-article", "date-off")
FALSE_ALARMS = ("wrong-page", "generic-page", "date-mismatch")
MAX_BODY = 65_536
"""What the liveness GET keeps of a body (``[http] max_body_bytes`` as shipped)."""

SITES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("The New York Times", ("NYT", "New York Times", "nytimes.com")),
    ("The Washington Post", ("Washington Post", "WaPo")),
    ("NPR", ("National Public Radio", "npr.org")),
    ("Reuters", ("Thomson Reuters", "reuters.com")),
    ("Associated Press", ("AP", "AP News", "The Associated Press")),
    ("The Guardian", ("Guardian", "theguardian.com")),
    ("BBC News", ("BBC", "bbc.co.uk")),
    ("CNN", ("CNN.com",)),
    ("Politico", ("POLITICO",)),
    ("ProPublica", ("Pro Publica",)),
    ("Los Angeles Times", ("LA Times", "L.A. Times")),
    ("The Wall Street Journal", ("WSJ", "Wall Street Journal")),
    ("Financial Times", ("FT", "The Financial Times")),
    ("Bloomberg", ("Bloomberg News",)),
    ("Axios", ("axios.com",)),
    ("The Atlantic", ("Atlantic",)),
    ("Wired", ("WIRED",)),
    ("The Intercept", ("Intercept",)),
    ("Al Jazeera", ("Al Jazeera English",)),
    ("PolitiFact", ("Politifact",)),
    ("The Harbor City Ledger", ("Harbor City Ledger",)),
    ("Northfield Daily Press", ("Northfield Press",)),
    ("Valley Courier", ("The Valley Courier",)),
    ("Lakeshore Tribune", ("The Lakeshore Tribune",)),
    ("Capitol Report", ("CapitolReport",)),
    ("The Mountain Sentinel", ("Mountain Sentinel",)),
    ("Metro Business Journal", ("MBJ",)),
    ("Riverside Gazette", ("The Riverside Gazette",)),
    ("Bay Area Observer", ("The Observer",)),
    ("Prairie Public Radio", ("PPR",)),
    ("Coastal Record", ("The Coastal Record",)),
    ("Statehouse News Service", ("Statehouse News",)),
    ("The Civic Monitor", ("Civic Monitor",)),
    ("Eastside Weekly", ("The Eastside Weekly",)),
    ("Tech Ledger", ("TechLedger",)),
    ("Frontier Times", ("The Frontier Times",)),
    ("Global Wire", ("GlobalWire",)),
    ("The Standard-Post", ("Standard-Post", "Standard Post")),
    ("Island Herald", ("The Island Herald",)),
    ("Midland Chronicle", ("The Midland Chronicle",)),
)
"""Site names and how citations also spell them."""
URL_STYLES = ("dated", "section-id", "wordpress", "id", "dated-id", "query")
RICH_SHAPES = ("full", "og", "json-ld", "json-ld-graph", "rewritten", "h1-variant")
DATED_URL_STYLES = frozenset({"dated", "wordpress", "dated-id"})
"""URL styles whose path holds the publication date (``wordpress``: year and month)."""


# --------------------------------------------------------------------------- the world


@dataclass(slots=True)
class Site:
    addr: str
    name: str
    aliases: tuple[str, ...]
    template: pages.Template
    kind: str  # "news", "consent-wall" (in place or "redirect"), "script-shell"
    url_style: str
    shapes: tuple[str, ...]
    shape_weights: tuple[float, ...]
    weight: float
    consent_redirect: bool = False
    articles: list[Article] = field(default_factory=list)
    home_teasers: list[str] = field(default_factory=list)
    section_teasers: dict[str, list[str]] = field(default_factory=dict)


@dataclass(slots=True)
class Article:
    site: Site
    path: str
    headline: str
    published: dt.date
    shape: str
    section: str
    alt: str | None = None
    modified: dt.date | None = None
    drift: tuple[str, dt.date, dt.date] | None = None
    """(new headline, new published date, drift date) when the live page was rewritten."""
    teasers: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Citation:
    event: str
    index: int
    plant: str
    url: str
    title: str
    publisher: str
    date: str | None
    tier: int
    edit: str = "-"
    archive_url: str | None = None
    article: Article | None = None


@dataclass(slots=True)
class World:
    """Everything planted: sites, their pages, captures and the citations of the events."""

    port: int
    consent_host: str
    sites: list[Site]
    citations: list[Citation] = field(default_factory=list)
    events: dict[str, tuple[str, str, list[Citation]]] = field(default_factory=dict)
    """event id → (date, title, citations)."""
    served: dict[str, bytes] = field(default_factory=dict)
    """URL → body the loopback web serves."""
    captures: list[tuple[str, str, bytes]] = field(default_factory=list)
    """(url, timestamp, body) of every capture in the fake Wayback."""

    def url(self, addr: str, path: str) -> str:
        return f"http://{addr}:{self.port}{path}"


def _day(rng: random.Random, first: dt.date, last: dt.date) -> dt.date:
    return first + dt.timedelta(days=rng.randint(0, max(0, (last - first).days)))


def _ts(day: dt.date, rng: random.Random) -> str:
    moment = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)
    return ts_of(moment + dt.timedelta(seconds=rng.randint(0, 86_399)))


def make_sites(rng: random.Random, count: int, addrs: list[str]) -> list[Site]:
    names = list(SITES) + [(f"Site {n}", (f"Site{n}",)) for n in range(len(SITES), count)]
    names = names[:count]
    rng.shuffle(names)
    walls = max(1, count // 20)
    sites = []
    for rank, ((name, aliases), addr) in enumerate(zip(names, addrs, strict=False)):
        kind = "news"
        if rank >= count - 2 * walls:
            kind = "consent-wall" if rank >= count - walls else "script-shell"
        # the busiest sites run rich templates (as npr.org, washingtonpost.com, cnn.com do)
        main = rng.choice(RICH_SHAPES if rank < 5 else pages.SHAPES)
        others = rng.sample([s for s in pages.SHAPES if s != main], rng.randint(1, 2))
        shapes = (main, *others)
        weights = (0.8, *([0.2 / len(others)] * len(others)))
        sites.append(
            Site(
                addr,
                name,
                aliases,
                pages.Template.draw(rng),
                kind,
                rng.choice(URL_STYLES),
                shapes,
                weights,
                1 / (rank + 1) ** 0.9,
                consent_redirect=kind == "consent-wall" and rank % 2 == 0,
            )
        )
    return sites


def article_path(site: Site, rng: random.Random, headline: str, day: dt.date, section: str) -> str:
    slug, sec, ident = pages.slug(headline), pages.slug(section), rng.randrange(10**6, 10**9)
    match site.url_style:
        case "dated":
            return f"/{day:%Y/%m/%d}/{sec}/{slug}.html"
        case "section-id":
            return f"/{sec}/{slug}-n{ident}"
        case "wordpress":
            return f"/{day:%Y/%m}/{slug}/"
        case "id":
            return f"/news/articles/c{ident:x}o"
        case "dated-id":
            return f"/{day:%Y/%m/%d}/{ident}/{slug}"
        case _:
            return f"/story?id={ident}"


def new_article(
    rng: random.Random,
    site: Site,
    day: dt.date,
    *,
    about: str | None = None,
    dated: bool = False,
) -> Article:
    """A new article of ``site`` published on ``day`` (about ``about``: a topic of
    ``pages.topic``); ``dated``: one whose page or URL says its date."""
    case = site.template.headline_case
    text = pages.headline(rng, about, headline_case=case)
    while any(a.headline == text for a in site.articles):
        text = pages.headline(rng, about, headline_case=case)
    shape = rng.choices(site.shapes, site.shape_weights)[0]
    if dated and shape in pages.UNDATED_SHAPES and site.url_style not in DATED_URL_STYLES:
        shape = "full"
    section = rng.choice(site.template.sections)
    alt = None
    if shape == "h1-variant":
        alt = pages.variant(rng, text)
    elif shape == "rewritten":
        alt = pages.rewrite(rng, text)
    modified = None
    if rng.random() < 0.3:  # updated later, sometimes much later
        modified = min(day + dt.timedelta(days=rng.choice((0, 1, 3, 90, 400))), NOW.date())
    article = Article(
        site, article_path(site, rng, text, day, section), text, day, shape, section, alt, modified
    )
    site.articles.append(article)
    return article


def _recased(text: str) -> str:
    """Headline Case → Sentence case, and the other way round (acronyms kept)."""
    words = text.split(" ")
    if sum(w[:1].isupper() for w in words) > len(words) / 2:
        return " ".join([words[0], *(w if w.isupper() else w.lower() for w in words[1:])])
    return " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in words)


def edited_title(rng: random.Random, article: Article) -> tuple[str, str]:
    """How a person (or an LLM) cites the headline: (edit name, title)."""
    text, site = article.headline, article.site
    options: list[tuple[str, Callable[[], str], float]] = [
        ("exact", lambda: text, 40),
        ("case", lambda: _recased(text), 12),
        ("suffix", lambda: pages.title_text(site.name, text, site.template.title_style), 10),
        ("spacing", lambda: "  ".join(text.split(" ", 1)) + rng.choice((".", " ", "")), 4),
    ]  # fmt: skip
    main = re.split(r": | — ", text, maxsplit=1)
    if len(main) == 2 and len(main[0].split()) >= 4:
        options.append(("subtitle-dropped", lambda: main[0], 10))
    if "’" in text:
        options.append(("apostrophe", lambda: text.replace("’", "'"), 10))
    if article.alt is not None:
        options.append(("other-headline", lambda: article.alt or text, 6))
    name, make, _ = rng.choices(options, [w for *_, w in options])[0]
    return name, make()


def publisher_of(rng: random.Random, site: Site) -> str:
    return rng.choice(site.aliases) if rng.random() < 0.35 else site.name


def build_world(rng: random.Random, args: argparse.Namespace, port: int, addrs: list[str]) -> World:
    """Sites, then events: each about one story (its sources' headlines share a topic),
    published within days of the event, every source planted as some kind."""
    sites = make_sites(rng, args.sites, addrs[:-1])
    world = World(port, addrs[-1], sites)
    news = [s for s in sites if s.kind == "news"]
    by_kind = {
        kind: [s for s in sites if s.kind == kind] for kind in ("consent-wall", "script-shell")
    }
    kinds = list(PLANTS)
    weights = [PLANTS[k][0] for k in kinds]
    cited_ok: list[Article] = []
    for n in range(args.events):
        count = rng.choices((1, 2, 3, 4), (20, 40, 28, 12))[0]
        plants = rng.choices(kinds, weights, k=count)
        drifts = any(p.startswith("drifted") for p in plants)
        day = _day(rng, FIRST_DAY, NOW.date() - dt.timedelta(days=200 if drifts else 45))
        story = Story(day, pages.topic(rng))
        used: set[str] = set()
        citations: list[Citation] = []
        for index, plant in enumerate(plants):
            pool = by_kind.get(plant) or news
            choices = [s for s in pool if s.addr not in used] or pool
            site = rng.choices(choices, [s.weight for s in choices])[0]
            used.add(site.addr)
            citations.append(
                plant_citation(rng, world, site, plant, story=story, index=index, cited_ok=cited_ok)
            )
        first = citations[0].article
        title = first.headline if first is not None else story.topic
        event_id = f"{day.isoformat()}--{pages.slug(title, 7)}-{n}"
        for citation in citations:
            citation.event = event_id
        world.events[event_id] = (day.isoformat(), title, citations)
        world.citations.extend(citations)
    render(rng, world)
    return world


@dataclass(frozen=True, slots=True)
class Story:
    """What an event is about: its day and topic (``pages.topic``)."""

    day: dt.date
    topic: str

    def published(self, rng: random.Random) -> dt.date:
        """When one of its articles came out: that day or soon after, a few much later."""
        lag = rng.choice((0, 0, 0, 1, 1, 2, 3, 7, 20))
        return min(self.day + dt.timedelta(days=lag), NOW.date() - dt.timedelta(days=40))


def plant_citation(
    rng: random.Random,
    world: World,
    site: Site,
    plant: str,
    *,
    story: Story,
    index: int,
    cited_ok: list[Article],
) -> Citation:
    """One citation of the planted kind on ``site``; its ``edit`` names how a correct one
    was edited, or the variant of a planted one."""
    tier = rng.choices((1, 2, 3), (2, 8, 1))[0]
    reuse = [a for a in cited_ok if a.site is site]
    if plant == "correct" and reuse and rng.random() < 0.06:  # one URL, several citations
        article = rng.choice(reuse)
    else:
        published = story.published(rng)
        article = new_article(rng, site, published, about=story.topic, dated=plant == "date-off")
    url = world.url(site.addr, article.path)
    captured_page = article
    edit, title = "-", article.headline
    date: str | None = article.published.isoformat()
    archive_url = None
    match plant:
        case "correct":
            edit, title = edited_title(rng, article)
            draw = rng.random()
            if draw < 0.1:
                date = None
            elif draw < 0.15:
                date = article.published.strftime("%Y-%m")
            cited_ok.append(article)
        case "home":
            url = world.url(site.addr, "/" if rng.random() < 0.7 else "")
            edit = "teaser-listed" if rng.random() < 0.4 else "not-listed"
            if edit == "teaser-listed":
                site.home_teasers.append(article.headline)
        case "section":
            url = world.url(site.addr, f"/{pages.slug(article.section)}/")
            edit = "teaser-listed" if rng.random() < 0.4 else "not-listed"
            if edit == "teaser-listed":
                site.section_teasers.setdefault(article.section, []).append(article.headline)
        case "other-article":
            edit = rng.choice(("same-story", "unrelated"))
            if edit == "same-story":  # an earlier or later story on the same topic
                lag = dt.timedelta(days=rng.choice((-200, -60, -14, -3, 5, 30, 90)))
                when = min(max(article.published + lag, FIRST_DAY), NOW.date())
                other = new_article(rng, site, when, about=story.topic)
            else:
                others = [a for a in site.articles if a is not article and a.drift is None]
                picked = rng.choice(others) if others and rng.random() < 0.5 else None
                other = picked or new_article(rng, site, _day(rng, FIRST_DAY, NOW.date()))
            url = world.url(site.addr, other.path)
            captured_page = other
            if rng.random() < 0.3:
                other.teasers.append(article.headline)  # its "related" list names the cited one
        case "date-off":
            edit = rng.choice(("year", "months"))
            shift = rng.choice((365, -365))
            if edit == "months":
                shift = rng.choice((1, -1)) * (31 * rng.randint(2, 30) + rng.randint(-15, 15))
            day = min(article.published + dt.timedelta(days=shift), NOW.date())
            if abs((day - article.published).days) <= 30:
                day = article.published - dt.timedelta(days=60)
            date = day.isoformat()
        case "drifted-archived" | "drifted-found":
            cited = article.published + dt.timedelta(days=rng.randint(1, 10))
            date = cited.isoformat()
            offset = rng.randint(1, (cited - article.published).days)
            stamp = _ts(article.published + dt.timedelta(days=offset), rng)
            drift_day = _day(rng, cited + dt.timedelta(days=60), NOW.date() - dt.timedelta(days=20))
            edit = "new-date" if rng.random() < 0.5 else "same-date"
            new_day = drift_day if edit == "new-date" else article.published
            article.drift = (pages.headline(rng), new_day, drift_day)
            world.captures.append((url, stamp, b""))  # the original page: rendered later
            if rng.random() < 0.5:  # the new page, captured after the drift
                later = _ts(drift_day + dt.timedelta(days=rng.randint(1, 15)), rng)
                world.captures.append((url, later, b"drifted"))
            if plant == "drifted-archived":
                shown = stamp if rng.random() < 0.7 else stamp[:8] + "000000"
                archive_url = f"https://web.archive.org/web/{shown}/{url}"
        case "consent-wall" | "script-shell":
            pass
    if plant in ("home", "section", "other-article", "correct") and rng.random() < 0.5:
        day = max(article.published, captured_page.published)
        world.captures.append((url, _ts(_near(rng, day), rng), b""))
        if plant == "correct" and rng.random() < 0.4:
            archive_url = f"https://web.archive.org/web/{world.captures[-1][1]}/{url}"
    return Citation(
        "", index, plant, url, title, publisher_of(rng, site), date, tier, edit, archive_url,
        article,
    )  # fmt: skip


def _near(rng: random.Random, day: dt.date) -> dt.date:
    return min(day + dt.timedelta(days=rng.randint(0, 20)), NOW.date() - dt.timedelta(days=1))


# --------------------------------------------------------------------------- rendering


def render(rng: random.Random, world: World) -> None:
    """Every served body, and every capture's body (the page as it was then)."""
    today = NOW.date()
    by_url: dict[str, Article] = {}
    for site in world.sites:
        headlines = [a.headline for a in site.articles]
        base = world.url(site.addr, "")
        for article in site.articles:
            url = base + article.path
            by_url[url] = article
            world.served[url] = live_body(rng, world, article, headlines, today)
        if site.kind != "news":
            continue
        recent = rng.sample(headlines, min(12, len(headlines)))
        world.served[base + "/"] = pages.home_page(
            rng, site.name, [*site.home_teasers, *recent], template=site.template, today=today
        )
        for section in site.template.sections:
            teasers = [
                *site.section_teasers.get(section, []),
                *rng.sample(recent, len(recent) // 2),
            ]
            world.served[f"{base}/{pages.slug(section)}/"] = pages.section_front(
                rng, site.name, section, teasers, template=site.template, today=today
            )
    rendered = []
    for url, stamp, marker in world.captures:
        page = by_url.get(url)
        then = dt.datetime.strptime(stamp, "%Y%m%d%H%M%S").date()
        if page is None:  # a home page or section front, as it was then
            site = next(s for s in world.sites if s.addr == urlsplit(url).hostname)
            teasers = rng.sample([a.headline for a in site.articles], min(10, len(site.articles)))
            front = next(
                (x for x in site.template.sections if urlsplit(url).path == f"/{pages.slug(x)}/"),
                None,
            )
            if front is None:
                body = pages.home_page(rng, site.name, teasers, template=site.template, today=then)
            else:
                body = pages.section_front(
                    rng, site.name, front, teasers, template=site.template, today=then
                )
        elif marker == b"drifted":
            body = live_body(rng, world, page, [], then)
        else:
            headlines = [a.headline for a in page.site.articles]
            body = original_body(rng, world, page, headlines, then)
        rendered.append((url, stamp, body))
    world.captures = rendered


def original_body(
    rng: random.Random, world: World, article: Article, headlines: list[str], today: dt.date
) -> bytes:
    """The article as published (and as served until it drifted, if it did)."""
    site = article.site
    teasers = [*article.teasers, *rng.sample(headlines, min(9, len(headlines)))]
    teasers = [t for t in teasers if t != article.headline][:9]
    return pages.article_page(
        rng, site.name, article.headline, article.published, article.shape,
        template=site.template, url=world.url(site.addr, article.path), section=article.section,
        modified=article.modified,
        alt=article.alt, teasers=teasers, today=today,
    )  # fmt: skip


def live_body(
    rng: random.Random, world: World, article: Article, headlines: list[str], today: dt.date
) -> bytes:
    site = article.site
    if site.kind == "script-shell":
        return pages.script_shell(rng, site.name)
    if site.kind == "consent-wall":
        return pages.consent_wall(rng, site.name)
    if article.drift is None:
        return original_body(rng, world, article, headlines, today)
    new, new_day, drift_day = article.drift
    return pages.article_page(
        rng, site.name, new, new_day, article.shape, template=site.template,
        url=world.url(site.addr, article.path), section=article.section, modified=drift_day,
        teasers=rng.sample(headlines, min(9, len(headlines))), today=today,
    )  # fmt: skip


def serve(web: LoopWeb, world: World) -> None:
    """Publish every body; consent sites on a redirect answer every article with a 302 to the
    consent host."""
    sessions = iter(range(10**6))
    for url, body in world.served.items():
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        host = parts.hostname or ""
        site = next(s for s in world.sites if s.addr == host)
        if site.consent_redirect:
            consent = f"/v2/collectConsent?sessionId={next(sessions)}"
            web.publish(world.consent_host, [consent], Page(body=body))
            to = world.url(world.consent_host, consent)
            web.alias(host, target, f"/redirect-to?url={quote(to, safe='')}&code=302")
        else:
            web.publish(host, [target], Page(body=body))


# --------------------------------------------------------------------------- files


def _yaml(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def write_events(folder: Path, world: World) -> None:
    folder.mkdir(parents=True)
    for event_id, (day, title, citations) in world.events.items():
        lines = [
            "---",
            f"id: {event_id}",
            f"date: '{day}'",
            f"title: {_yaml(title)}",
            f"importance: {1 + zlib.crc32(event_id.encode()) % 10}",
            "sources:",
        ]
        for c in citations:
            lines.append(f"- url: {_yaml(c.url)}")
            lines.append(f"  title: {_yaml(c.title)}")
            lines.append(f"  publisher: {_yaml(c.publisher)}")
            if c.date is not None:
                lines.append(f"  date: '{c.date}'")
            lines.append(f"  tier: {c.tier}")
            if c.archive_url is not None:
                lines.append(f"  archive_url: {_yaml(c.archive_url)}")
        lines += ["---", "What happened, in a few sentences.", ""]
        (folder / f"{event_id}.md").write_text("\n".join(lines), encoding="utf-8")


def deviations(wayback_base: str, budget: float = 1.0) -> dict[str, Any]:
    """Every change to the shipped config.toml, and why (``budget``: ``--wayback-budget``)."""
    shipped = WaybackSettings()
    return {
        "paths": {"events": "events", "reports": "reports"},
        # The loopback web stands in for the news sites; the shipped policy refuses it.
        "security": {"allow_private_networks": True},
        "wayback": {
            # The fake Wayback, over a real socket, stands in for web.archive.org; replay
            # requests (capture heads) go to it too, links are still written as public ones.
            "cdx_url": f"{wayback_base}/cdx/search/cdx",
            "save_url": f"{wayback_base}/save",
            "status_url": f"{wayback_base}/save/status",
            "replay_request_url": f"{wayback_base}/web",
            # Wayback time scaled as in benchmarks.nights (the fake's clock runs as much
            # faster): requests per run and the share of each limit stay as shipped
            # (time_budget times --wayback-budget, 1 by default).
            "rate_window": shipped.rate_window * NIGHT_SCALE,
            "time_budget": shipped.time_budget * NIGHT_SCALE * budget,
            "poll_interval": shipped.poll_interval * NIGHT_SCALE,
            "poll_timeout": shipped.poll_timeout * NIGHT_SCALE,
        },
    }


# --------------------------------------------------------------------------- figures


def read_reports(
    root: Path, world: World
) -> tuple[dict[tuple[str, int], str | None], Counter[str]]:
    """(event id, source index) → the report's citation verdict (None: no citation block;
    "no report" when the event has no report); and the sources' archive states ("none":
    the archive stage did not reach the source)."""
    found: dict[tuple[str, int], str | None] = {}
    archive: Counter[str] = Counter()
    for event_id, (_, _, citations) in world.events.items():
        path = root / "reports" / "events" / f"{event_id}.json"
        try:
            report = json.loads(path.read_text())
        except (OSError, ValueError):
            for c in citations:
                found[event_id, c.index] = "no report"
            continue
        for position, source in enumerate(report.get("sources", [])):
            index = source.get("index", position)
            citation = source.get("citation")
            verdict = citation.get("verdict") if isinstance(citation, dict) else None
            found[event_id, index] = verdict
            record = source.get("archive")
            archive[record.get("state", "?") if isinstance(record, dict) else "none"] += 1
    return found, archive


def _share(part: int, whole: int) -> str:
    return f"{part}/{whole} ({part / whole:.1%})" if whole else "0/0 (n/a)"


def print_table(world: World, verdicts: dict[tuple[str, int], str | None]) -> None:
    columns = [*VERDICTS, "missing", "other"]
    header = f"{'planted':<17} {'n':>5} " + " ".join(f"{c[:13]:>13}" for c in columns)
    print(header + "  expected")
    for plant, (_, expected) in PLANTS.items():
        row = Counter(
            _column(verdicts.get((c.event, c.index))) for c in world.citations if c.plant == plant
        )
        n = sum(row.values())
        cells = " ".join(f"{row.get(col, 0):>13}" for col in columns)
        print(f"{plant:<17} {n:>5} {cells}  {expected}")


def _column(verdict: str | None) -> str:
    if verdict is None or verdict == "no report":
        return "missing"
    return verdict if verdict in VERDICTS else "other"


def print_figures(world: World, verdicts: dict[tuple[str, int], str | None]) -> None:
    def of(plants: tuple[str, ...]) -> list[str | None]:
        return [verdicts.get((c.event, c.index)) for c in world.citations if c.plant in plants]

    missing = sum(1 for v in verdicts.values() if v is None)
    absent = sum(1 for v in verdicts.values() if v == "no report")
    if missing or absent:
        print(
            f"citation block missing: {missing + absent} of {len(world.citations)} sources"
            + (f" ({absent} in events the run wrote no report for)" if absent else "")
        )
    wrong = of(WRONG)
    caught = sum(1 for v in wrong if v in VERDICTS and v not in ("matches", "drifted"))
    print(f"wrong pages caught: {_share(caught, len(wrong))}  (verdict not matches/drifted)")
    parts = []
    for plant in WRONG:
        planted = [c for c in world.citations if c.plant == plant]
        if not planted:
            continue
        variants = Counter(c.edit for c in planted)
        hit = Counter(
            c.edit
            for c in planted
            if verdicts.get((c.event, c.index)) in VERDICTS
            and verdicts.get((c.event, c.index)) not in ("matches", "drifted")
        )
        parts.append(
            f"{plant} " + ", ".join(f"{v} {hit[v]}/{n}" for v, n in sorted(variants.items()))
        )
    print("  by variant: " + "; ".join(parts))
    correct = [c for c in world.citations if c.plant == "correct"]
    alarms = [verdicts.get((c.event, c.index)) in FALSE_ALARMS for c in correct]
    print(
        f"false alarms: {_share(sum(alarms), len(correct))}  "
        "(wrong-page/generic-page/date-mismatch)"
    )
    edits = Counter(c.edit for c in correct)
    raised = Counter(c.edit for c, alarm in zip(correct, alarms, strict=True) if alarm)
    print(
        "  by edit: " + ", ".join(f"{edit} {raised[edit]}/{n}" for edit, n in edits.most_common())
    )
    matched = sum(1 for c in correct if verdicts.get((c.event, c.index)) == "matches")
    print(f"correct citations verified (matches): {_share(matched, len(correct))}")
    for plants, label in ((("drifted-archived",), "archived"), (("drifted-found",), "found")):
        found = of(plants)
        print(f"drifted recall ({label}): {_share(found.count('drifted'), len(found))}")
    both = [c for c in world.citations if c.plant.startswith("drifted")]
    recalled = [c for c in both if verdicts.get((c.event, c.index)) == "drifted"]
    print(f"drifted recall: {_share(len(recalled), len(both))}")
    variants, hit = Counter(c.edit for c in both), Counter(c.edit for c in recalled)
    print(
        "  by live page: "
        + ", ".join(f"{v} {hit[v]}/{n}" for v, n in sorted(variants.items()))
        + "  (new-date: the rewritten page has a new publication date)"
    )
    walls = of(("consent-wall", "script-shell"))
    print(f"walls and shells unverifiable: {_share(walls.count('unverifiable'), len(walls))}")


def extraction(world: World) -> list[str]:
    """CPU per page of ``page_facts`` over every served body (its first MAX_BODY bytes, as
    the liveness GET keeps them), and what it read of the served article pages."""
    label = "extraction CPU per page (page_facts)"
    try:
        from verifier.citation.extract import page_facts  # noqa: PLC0415 (may not exist yet)
    except ImportError as exc:
        return [f"{label}: n/a ({exc})"]
    bodies = [(url, body[:MAX_BODY]) for url, body in world.served.items()]
    call = _caller(page_facts, bodies[0])
    if isinstance(call, str):
        return [f"{label}: {call}"]
    for url, body in bodies[:20]:  # warm up (imports, caches)
        call(url, body)
    per_page, facts = [], {}
    started = time.process_time()
    for url, body in bodies:
        one = time.process_time()
        facts[url] = call(url, body)
        per_page.append(time.process_time() - one)
    total = time.process_time() - started
    per_page.sort()
    p99 = per_page[min(len(per_page) - 1, int(len(per_page) * 0.99))]
    lines = [
        f"{label}: {total / len(bodies) * 1e3:.2f} ms mean, p99 {p99 * 1e3:.2f} ms, max "
        f"{per_page[-1] * 1e3:.2f} ms over {len(bodies)} pages ({total:.2f} s CPU)"
    ]
    try:
        lines.append(_facts_read(world, facts))
    except (AttributeError, TypeError) as exc:  # the facts model changed under us
        lines.append(f"facts read: n/a ({exc!r})")
    return lines


def _norm(text: str) -> str:
    return " ".join(text.replace("’", "'").casefold().split())


def _facts_read(world: World, facts: dict[str, Any]) -> str:
    """How many served articles' facts hold their live headline and publication date, and
    how many walls and shells the facts call so."""
    titled = dated = articles = dated_pages = 0
    kinds: Counter[str] = Counter()
    walls: Counter[str] = Counter()
    for site in world.sites:
        for article in site.articles:
            url = world.url(site.addr, article.path)
            seen = facts.get(url)
            kind = str(getattr(getattr(seen, "kind", None), "value", "none"))
            if site.kind != "news":
                walls[site.kind] += 1
                kinds[site.kind] += kind == site.kind
                continue
            text, day, shape = article.headline, article.published, article.shape
            alts = {_norm(text)} | ({_norm(article.alt)} if article.alt else set())
            if article.drift is not None:
                text, day, _ = article.drift
                alts = {_norm(text)}
            articles += 1
            titles = {_norm(t.text) for t in getattr(seen, "titles", [])}
            titled += bool(titles & alts)
            url_only = shape in pages.UNDATED_SHAPES  # the URL's date is the original's
            if not url_only or (site.url_style in DATED_URL_STYLES and article.drift is None):
                dated_pages += 1
                published = getattr(seen, "published", None)
                dated += published is not None and abs((published.date - day).days) <= 1
    return (
        f"facts read: headline among titles {_share(titled, articles)}; publication date "
        f"(±1 day) {_share(dated, dated_pages)} of dated pages; consent walls "
        f"{_share(kinds['consent-wall'], walls['consent-wall'])}, script shells "
        f"{_share(kinds['script-shell'], walls['script-shell'])} recognised"
    )


def _caller(
    page_facts: Callable[..., Any], sample: tuple[str, bytes]
) -> Callable[[str, bytes], Any] | str:
    """Call ``page_facts`` however its signature asks (bytes or text; the URL, content type
    and clock when it takes them): the extractor is being written while this benchmark is."""
    try:
        names = set(inspect.signature(page_facts).parameters)
    except (TypeError, ValueError):
        names = set()
    extra: dict[str, Any] = {}
    if "content_type" in names:
        extra["content_type"] = "text/html; charset=utf-8"
    if "today" in names:
        extra["today"] = NOW.date()
    attempts: list[Callable[[str, bytes], Any]] = []
    for as_text in (False, True):

        def call(url: str, body: bytes, as_text: bool = as_text) -> Any:
            data: bytes | str = body.decode("utf-8", "replace") if as_text else body
            if "url" in names:
                return page_facts(data, url=url, **extra)
            return page_facts(data, **extra)

        attempts.append(call)
    problems = []
    for attempt in attempts:
        try:
            attempt(*sample)
        except Exception as exc:  # any failure: try the next way, then report them all
            problems.append(repr(exc))
            continue
        return attempt
    return f"n/a (page_facts{inspect.signature(page_facts)} failed: {'; '.join(problems)})"


# --------------------------------------------------------------------------- main


@contextlib.contextmanager
def _folder(keep: str | None) -> Iterator[Path]:
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=False)
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="citation-bench-") as tmp:
        yield Path(tmp)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--sites", type=int, default=40)
    parser.add_argument("--events", type=int, default=400)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds the run may take")
    parser.add_argument(
        "--wayback-budget",
        type=float,
        default=1.0,
        help="times the shipped [wayback] time_budget (1: a real night's Wayback requests)",
    )
    parser.add_argument("--keep", help="build the scenario in this (new) folder and keep it")
    args = parser.parse_args()
    if args.sites < 4:
        parser.error("--sites must be at least 4")
    rng = random.Random(args.seed)
    addrs = loopback_addresses(args.sites + 1)
    started = time.perf_counter()
    with (
        _folder(args.keep) as root,
        LoopWeb(hosts=addrs, latency_ms=args.latency_ms).running_in_thread() as web,
    ):
        world = build_world(rng, args, web.port, addrs)
        serve(web, world)
        fake = FakeWayback(FakeWaybackConfig(seed=args.seed), TickingClock(NOW, 1 / NIGHT_SCALE))
        for url, stamp, body in world.captures:
            fake.add_capture(url, stamp, body=body)
        write_events(root / "events", world)
        built = time.perf_counter() - started
        with serve_fake_wayback(fake) as wayback_base:
            config = merge_tables(shipped_config(), deviations(wayback_base, args.wayback_budget))
            (root / "config.toml").write_text(toml_text(config))
            describe(world, args, built)
            env = {k: v for k, v in os.environ.items() if not k.startswith("WAYBACK_")}
            fake.clock.set(NOW)
            web.reset_counters()
            since = time.monotonic()
            process = run_process(
                [sys.executable, "-m", "verifier", "--config", "config.toml", "run", "--now",
                 NOW.isoformat()],
                cwd=root, env={**env, "CI": "true"}, output=root / "logs" / "run",
                timeout=args.timeout,
            )  # fmt: skip
            families = Counter(r.family for r in fake.requests() if r.received >= since)
        last = (process.stdout.strip().splitlines() or ["(no output)"])[-1]
        state = "HUNG (killed)" if process.timed_out else f"exit {process.code}"
        print(f"run: {state} in {process.wall:.1f} s, peak {process.peak_rss_mib:.0f} MiB: {last}")
        print(
            f"requests: web {web.total_requests}; wayback "
            + (", ".join(f"{f} {n}" for f, n in families.most_common()) or "none")
        )
        if process.code not in (0, 1) or process.timed_out or not (root / "reports").is_dir():
            print(f"the run failed; its stderr ends: {process.stderr.strip()[-1500:]}")
        verdicts, archive = read_reports(root, world)
        reached = sum(n for state, n in archive.items() if state != "none")
        if archive:
            print(
                f"archive records: {reached} of {archive.total()} sources ("
                + ", ".join(f"{s} {n}" for s, n in archive.most_common() if s != "none")
                + f"); {archive['none']} not reached this run ([wayback] time_budget)"
            )
        print()
        print_table(world, verdicts)
        print()
        print_figures(world, verdicts)
        for line in extraction(world):
            print(line)
        if args.keep:
            print(f"scenario kept in {root}")


def describe(world: World, args: argparse.Namespace, built: float) -> None:
    sites = Counter(s.kind for s in world.sites)
    news = {world.url(s.addr, "") for s in world.sites if s.kind == "news"}
    heads = sorted(
        body.index(b"</head>") // 1024
        for url, body in world.served.items()
        if url[: url.index("/", 8)] in news
    )
    urls = {c.url for c in world.citations}
    busiest = Counter(urlsplit(c.url).hostname for c in world.citations).most_common(1)[0][1]
    shapes = Counter(a.shape for s in world.sites if s.kind == "news" for a in s.articles)
    print(
        f"seed {args.seed}: {len(world.sites)} sites ({sites['consent-wall']} behind consent "
        f"walls, {sites['script-shell']} script shells), {len(world.events)} events citing "
        f"{len(world.citations)} sources on {len(urls)} URLs (busiest site {busiest}); "
        f"{len(world.served)} pages served, heads {heads[0]}-{heads[-1]} KiB "
        f"(median {heads[len(heads) // 2]}); {len(world.captures)} captures; built in "
        f"{built:.1f} s"
    )
    print("article shapes: " + ", ".join(f"{s} {n}" for s, n in shapes.most_common()))


if __name__ == "__main__":
    main()
