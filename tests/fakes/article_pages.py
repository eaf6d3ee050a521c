"""Realistic news pages, as bytes, for the citation check ("is the live page the page cited?").

Every function takes a ``random.Random`` and is deterministic from it, so a seed reproduces a
whole web. Serve the bytes with ``LoopWeb.publish(host, [path], Page(body=...))`` or store
them as Wayback captures (``FakeWayback.add_capture(url, ts, body=...)``).

Article heads vary the way real CMS templates do (``SHAPES``):

==================  ===========================================================================
``full``            Open Graph, twitter:title, JSON-LD ``NewsArticle`` (headline,
                    datePublished, dateModified, publisher.name), ``article:published_time``
``og``              Open Graph and ``article:published_time`` only
``json-ld``         JSON-LD ``NewsArticle`` only, no Open Graph
``json-ld-graph``   a Yoast-style ``@graph`` (WebPage, Organization, NewsArticle); its
                    ``og:title`` keeps the site suffix
``json-ld-list``    a JSON-LD list (``BreadcrumbList``, ``NewsArticle``), in the body
``twitter``         twitter:title only, the date in a ``<time datetime>`` of the article
``meta-date``       one of the common date meta tags (``date``, ``pubdate``, ``dc.date``,
                    ``parsely-pub-date``, ``sailthru.date``, ...), no Open Graph
``time``            ``<title>`` and a ``<time datetime>`` in the article, nothing else
``title-only``      ``<title>`` alone: no metadata and no date anywhere (``UNDATED_SHAPES``)
``h1-variant``      the ``<h1>`` differs slightly from the title (a clause added or cut)
``rewritten``       og:title/twitter:title carry another headline than ``<title>`` (or the
                    other way round): ``alt`` is the other headline
==================  ===========================================================================

``<title>`` follows the template's ``title_style`` (``TITLE_STYLES``): ``Headline | Site``,
``Headline - Site``, ``Headline — Site``, ``Headline : Site``, ``Site: Headline``, the bare
headline, or ``Headline | Section | Site``. Heads are 10-60 KiB (inline CSS, a preloaded
state script that lists *other* headlines, analytics) with the metadata before, after or
around the bulk; bodies carry the chrome: a logo (an ``<h1>`` on some sites), a masthead
with today's date in a ``<time>``, navigation, a "most read" list, related links, a footer.

Other page kinds: ``home_page`` (title = site name, or ``Site - Breaking News, ...``; teasers
that may include the cited headline), ``section_front`` (``Politics - Site``), ``consent_wall``
("Before you continue", a consent form instead of the page) and ``script_shell`` (a
single-page app: ``<div id="root"></div>`` and scripts, an empty title or the site name).
"""

from __future__ import annotations

import datetime as dt
import html
import json
import random
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "SHAPES",
    "TITLE_STYLES",
    "UNDATED_SHAPES",
    "Template",
    "article_page",
    "consent_wall",
    "headline",
    "home_page",
    "rewrite",
    "script_shell",
    "section_front",
    "slug",
    "title_text",
    "topic",
    "variant",
]

SHAPES = (
    "full",
    "og",
    "json-ld",
    "json-ld-graph",
    "json-ld-list",
    "twitter",
    "meta-date",
    "time",
    "title-only",
    "h1-variant",
    "rewritten",
)
UNDATED_SHAPES = frozenset({"title-only"})
"""Shapes whose page says no date (only the URL may)."""
TITLE_STYLES = ("pipe", "dash", "emdash", "colon", "prefix", "bare", "section-pipe")

_SUBJECTS = (
    "Senate panel", "House committee", "Federal judge", "State attorney general", "City council",
    "Justice Department", "Regulators", "Lawmakers", "Police department", "Pentagon",
    "Supreme Court", "Treasury", "Election officials", "Auditors", "Governor", "FTC",
    "European Commission", "Hospital network", "School board", "Inspector general",
    "Whistleblower", "Mayor", "Port authority", "Pension fund", "Appeals court",
)  # fmt: skip
_SINGULAR_S = frozenset({"Justice Department", "Treasury"})
_VERBS = (
    "subpoenas", "blocks", "approves", "rejects", "investigates", "sues", "fines", "warns",
    "delays", "expands", "quietly ends", "reverses course on", "weighs", "backs",
    "questions", "halts", "probes", "settles with", "audits", "clears",
)  # fmt: skip
_ORGS = (
    "Clearview AI", "Palantir", "Northwind Energy", "Acme Logistics", "Harbor Capital",
    "Meridian Health", "Bluegate Security", "Crestline Mining", "Orion Telecom",
    "Silverline Rail", "Pinnacle Bank", "Vantage Data", "Redwood Pharma", "Atlas Airways",
)  # fmt: skip
_OBJECTS = (
    "records from {org}", "{org}’s data deal", "contract with {org}", "{org} merger",
    "plan to sell voter data", "surveillance program", "facial recognition pilot",
    "tariff on steel imports", "review of prison healthcare", "{org}’s lobbying push",
    "emergency housing budget", "water utility rate hike", "drone program at the border",
    "{org} over billing practices", "police use of license-plate readers",
    "no-bid contract for {org}", "{org}’s pension losses", "offshore wind lease",
)  # fmt: skip
_TAILS = (
    "", "", "", " after months of delays", " amid privacy concerns", " over police contracts",
    " in 5-4 decision", " as costs soar", " despite objections", " ahead of vote",
    " after audit", " following complaints",
)  # fmt: skip
_SUBTITLES = (
    "What we know", "Here’s what it means", "A timeline", "documents show", "sources say",
    "officials say", "report finds", "What comes next", "the key questions",
)  # fmt: skip
_FIRST_NAMES = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hiro", "Ines")
_LAST_NAMES = ("Ortiz", "Nakamura", "Walsh", "Okafor", "Lindqvist", "Haddad", "Moreau")
_KICKERS = ("Exclusive", "Analysis", "Live updates", "Explainer", "Opinion", "Watch")
_SECTIONS = ("Politics", "Business", "Technology", "World", "U.S.", "Health", "Local")
_WORDS = (
    "the", "a", "of", "and", "to", "in", "said", "officials", "documents", "reviewed", "by",
    "which", "was", "were", "according", "people", "familiar", "with", "matter", "records",
    "show", "that", "last", "year", "company", "payments", "through", "accounts", "contract",
    "spokesperson", "declined", "comment", "statement", "later", "added", "it", "has", "not",
    "been", "previously", "reported", "investigators", "agency", "filed", "court", "state",
)  # fmt: skip

_DATE_METAS = (
    ("name", "date", "%Y-%m-%d"),
    ("name", "pubdate", "%Y%m%d"),
    ("name", "publish-date", "%Y-%m-%d"),
    ("name", "dc.date", "%Y-%m-%d"),
    ("name", "DC.date.issued", "%Y-%m-%dT%H:%M:%S%z"),
    ("name", "citation_publication_date", "%Y/%m/%d"),
    ("name", "parsely-pub-date", "%Y-%m-%dT%H:%M:%SZ"),
    ("name", "sailthru.date", "%Y-%m-%d %H:%M:%S"),
    ("property", "og:pubdate", "%Y-%m-%dT%H:%M:%S%z"),
    ("itemprop", "datePublished", "%Y-%m-%dT%H:%M:%S%z"),
)
"""(attribute, name, strftime format) of the date meta tags sites use."""


# --------------------------------------------------------------------------- headlines


def topic(rng: random.Random) -> str:
    """What a story is about (``Clearview AI’s data deal``): headlines of one story share it."""
    return rng.choice(_OBJECTS).format(org=rng.choice(_ORGS))


def headline(
    rng: random.Random, about: str | None = None, *, headline_case: bool | None = None
) -> str:
    """A news headline (about ``topic`` ``about``, else a new one); some have a subtitle
    (``Main: subtitle``) or a kicker; ``headline_case`` capitalises every word, as many US
    sites do (None: drawn)."""
    obj = about or topic(rng)
    subject, verb = rng.choice(_SUBJECTS), rng.choice(_VERBS)
    if subject.endswith("s") and subject not in _SINGULAR_S:  # "Regulators sue", not "sues"
        verb = re.sub(r"^(\w+ )?(\w+)s\b", r"\1\2", verb, count=1)
    text = f"{subject} {verb} {obj}{rng.choice(_TAILS)}"
    draw = rng.random()
    if draw < 0.2:
        text += rng.choice((": ", " — ")) + rng.choice(_SUBTITLES)
    elif draw < 0.28:
        text = f"{rng.choice(_KICKERS)}: {text}"
    if headline_case is None:
        headline_case = rng.random() < 0.45
    if headline_case:
        text = " ".join(w if w.isupper() else w[:1].upper() + w[1:] for w in text.split(" "))
    return text


def rewrite(rng: random.Random, text: str) -> str:
    """The same story under another headline (a social or SEO rewrite): other words, the
    same names."""
    lowered = text.lower()
    things = [f"the {o}" for o in _OBJECTS if "{org}" not in o and o in lowered]
    names = [org for org in _ORGS if org in text] or things or ["the agency"]
    templates = (
        "How {name} landed at the center of a widening inquiry",
        "Why officials are suddenly scrutinizing {name}",
        "{Name} faces new questions after months of silence",
        "Inside the fight over {name}",
        "What the fight over {name} means for you",
        "The {name} story, explained",
    )
    name = names[0]
    return rng.choice(templates).format(name=name, Name=name[:1].upper() + name[1:])


def variant(rng: random.Random, text: str) -> str:
    """A slightly different headline (an ``<h1>`` beside its ``<title>``)."""
    draw = rng.random()
    if draw < 0.35 and (cut := re.split(r": | — ", text, maxsplit=1)) and len(cut) == 2:
        return cut[0]
    if draw < 0.7:
        return text + rng.choice((", officials say", ", records show", " — report"))
    changed = text.replace("’s", "'s").replace(" and ", " & ")
    return changed if changed != text else text + ", officials say"


def title_text(site: str, text: str, style: str, section: str = "News") -> str:
    """The ``<title>`` of a page headlined ``text`` on ``site`` in a title style."""
    match style:
        case "pipe":
            return f"{text} | {site}"
        case "dash":
            return f"{text} - {site}"
        case "emdash":
            return f"{text} — {site}"
        case "colon":
            return f"{text} : {site}"
        case "prefix":
            return f"{site}: {text}"
        case "section-pipe":
            return f"{text} | {section} | {site}"
        case _:
            return text


def slug(text: str, words: int = 9) -> str:
    """``Senate Panel Subpoenas Records From Clearview AI`` → ``senate-panel-subpoenas-...``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    parts = re.findall(r"[a-z0-9]+", ascii_text.lower())
    return "-".join(parts[:words]) or "story"


# --------------------------------------------------------------------------- templates


@dataclass(frozen=True, slots=True)
class Template:
    """A site's CMS template: what every page of the site shares."""

    title_style: str = "pipe"
    utc_offset: int = 0
    """Hours east of UTC of the site's timestamps (``-4``: ``2024-05-12T14:03:00-04:00``)."""
    head_kib: tuple[int, int] = (10, 60)
    """Range of the head's size in KiB (inline CSS, scripts, preloads)."""
    meta_position: str = "early"
    """Where title and metadata sit in the head: ``early``, ``late`` (after the bulk) or
    ``split`` (``<title>`` first, the rest after the bulk)."""
    logo_h1: bool = False
    """The logo is an ``<h1>`` on every page (before the headline's own ``<h1>``)."""
    masthead_date: bool = False
    """The masthead shows today's date in a ``<time datetime>`` (before the article's)."""
    sections: tuple[str, ...] = ("Politics", "Business", "Technology", "World")
    headline_case: bool = False
    """Headlines Capitalise Every Word (``headline(..., headline_case=...)``)."""

    @classmethod
    def draw(cls, rng: random.Random) -> Template:
        low = rng.choice((10, 14, 20, 30))
        return cls(
            title_style=rng.choice(TITLE_STYLES),
            utc_offset=rng.choice((0, 0, -4, -5, -7, 1, 2)),
            head_kib=(low, rng.randint(low, 60)),
            meta_position=rng.choice(("early", "early", "late", "split")),
            logo_h1=rng.random() < 0.2,
            masthead_date=rng.random() < 0.3,
            sections=tuple(rng.sample(_SECTIONS, rng.randint(3, 6))),
            headline_case=rng.random() < 0.45,
        )


def _iso(rng: random.Random, day: dt.date, offset: int, *, fmt: str | None = None) -> str:
    """``day`` at a random time of day in the site's zone, ISO 8601 (or ``fmt``)."""
    moment = dt.datetime(
        day.year, day.month, day.day, rng.randint(5, 22), rng.randrange(60), rng.randrange(60),
        tzinfo=dt.timezone(dt.timedelta(hours=offset)),
    )  # fmt: skip
    if fmt is not None:
        return moment.strftime(fmt)
    return moment.isoformat().replace("+00:00", "Z") if rng.random() < 0.5 else moment.isoformat()


def _sentence(rng: random.Random) -> str:
    words = rng.choices(_WORDS, k=rng.randint(12, 28))
    text = " ".join(words)
    return text[:1].upper() + text[1:] + "."


def _paragraphs(rng: random.Random, count: int) -> str:
    return "".join(
        f"<p>{' '.join(_sentence(rng) for _ in range(rng.randint(2, 4)))}</p>\n"
        for _ in range(count)
    )


def _bulk(rng: random.Random, size: int, teasers: Sequence[str]) -> str:
    """About ``size`` characters of what real heads carry before ``</head>``."""
    parts = ["<style>"]
    total = 0
    css_budget = size * rng.uniform(0.4, 0.8)
    while total < css_budget:
        rule = (
            f".css-{rng.getrandbits(32):08x}{{display:{rng.choice(('flex', 'block', 'grid'))};"
            f"margin:{rng.randint(0, 32)}px auto;max-width:{rng.randint(300, 1400)}px;"
            f"font:{rng.randint(12, 40)}px/1.{rng.randint(1, 6)} Georgia,serif;"
            f"color:#{rng.getrandbits(24):06x}}}\n"
        )
        parts.append(rule)
        total += len(rule)
    parts.append("</style>\n")
    state = {
        "config": {"env": "production", "build": f"{rng.getrandbits(40):010x}"},
        "mostRead": [
            {"id": rng.getrandbits(30), "headline": t, "url": f"/story/{slug(t)}"} for t in teasers
        ],
        "ads": {"slots": [f"div-gpt-ad-{rng.getrandbits(20)}" for _ in range(8)]},
    }
    parts.append(
        f"<script>window.__PRELOADED_STATE__ = {json.dumps(state, ensure_ascii=False)};</script>\n"
        "<script>(function(w,d,s,l,i){w[l]=w[l]||[];w[l].push({'gtm.start':new Date().getTime(),"
        "event:'gtm.js'});var f=d.getElementsByTagName(s)[0],j=d.createElement(s);j.async=true;"
        f"j.src='/gtm.js?id='+i;f.parentNode.insertBefore(j,f);}})(window,document,'script',"
        f"'dataLayer','GTM-{rng.getrandbits(24):06X}');</script>\n"
    )
    total += sum(len(p) for p in parts[-2:])
    filler = []
    while total < size:
        numbers = ",".join(str(rng.getrandbits(16)) for _ in range(24))
        line = (
            f"<script>!function(){{var a=[{numbers}];"
            "window.__bundle=(window.__bundle||[]).concat(a);}();</script>\n"
        )
        filler.append(line)
        total += len(line)
    return "".join(parts) + "".join(filler)


def _json_ld(data: object) -> str:
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>\n'


def _meta(attr: str, name: str, content: str) -> str:
    return f'<meta {attr}="{html.escape(name)}" content="{html.escape(content)}">\n'


def _document(
    rng: random.Random,
    template: Template,
    title: str,
    meta: str,
    body: str,
    *,
    teasers: Sequence[str] = (),
    lang: str = "en",
) -> bytes:
    """Assemble a page: the template places ``<title>``/``meta`` around a head bulk."""
    size = rng.randint(*template.head_kib) * 1024
    bulk = _bulk(rng, size, teasers)
    top = (
        f'<!DOCTYPE html>\n<html lang="{lang}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
    )
    title_tag = f"<title>{html.escape(title, quote=False)}</title>\n"
    match template.meta_position:
        case "late":
            head = top + bulk + title_tag + meta
        case "split":
            head = top + title_tag + bulk + meta
        case _:
            head = top + title_tag + meta + bulk
    return (head + "</head>\n" + body + "</html>\n").encode()


def _chrome_top(rng: random.Random, site: str, template: Template, today: dt.date | None) -> str:
    e = html.escape
    logo = f'<a class="logo" href="/">{e(site)}</a>'
    if template.logo_h1:
        logo = f'<h1 class="logo">{logo}</h1>'
    nav = "".join(f'<li><a href="/{slug(s)}/">{e(s)}</a></li>' for s in template.sections)
    masthead = ""
    if template.masthead_date and today is not None:
        masthead = (
            f'<time class="masthead-date" datetime="{today.isoformat()}">'
            f"{today.strftime('%A, %B %d, %Y')}</time>\n"
        )
    return (
        f'<body class="page-{rng.getrandbits(16)}">\n<header>{logo}\n{masthead}'
        f'<nav aria-label="Sections"><ul>{nav}</ul></nav>\n'
        '<form action="/search" role="search"><input name="q"><button>Search</button></form>\n'
        "</header>\n"
    )


def _teaser_list(label: str, teasers: Sequence[str], tag: str = "h3") -> str:
    if not teasers:
        return ""
    items = "".join(
        f'<li><{tag}><a href="/story/{slug(t)}">{html.escape(t)}</a></{tag}></li>' for t in teasers
    )
    return f'<aside class="{slug(label)}"><h2>{html.escape(label)}</h2><ol>{items}</ol></aside>\n'


def _footer(site: str, year: int) -> str:
    links = "".join(
        f'<li><a href="/{slug(x)}">{x}</a></li>'
        for x in ("About us", "Contact", "Privacy policy", "Terms of use", "Advertise", "Careers")
    )
    return f"<footer><ul>{links}</ul><p>© {year} {html.escape(site)}. All rights reserved.</p>"


# --------------------------------------------------------------------------- pages


def article_page(
    rng: random.Random,
    site_name: str,
    headline: str,
    published: dt.date,
    shape: str,
    *,
    template: Template | None = None,
    url: str = "",
    section: str = "News",
    modified: dt.date | None = None,
    alt: str | None = None,
    teasers: Sequence[str] = (),
    today: dt.date | None = None,
) -> bytes:
    """A news article headlined ``headline`` on ``site_name``, in head ``shape`` (``SHAPES``).

    ``alt`` is the other headline of ``h1-variant`` (the ``<h1>``) and ``rewritten`` (the
    social one); drawn with ``variant``/``rewrite`` when None. ``teasers`` are other
    headlines (most read, related, the preloaded state); ``today`` dates the masthead of
    templates that show one; ``modified`` is the last update (dateModified)."""
    if shape not in SHAPES:
        raise ValueError(f"unknown shape {shape!r} (have {SHAPES})")
    template = template or Template.draw(rng)
    e = html.escape
    offset = template.utc_offset
    when = _iso(rng, published, offset)
    changed = _iso(rng, modified, offset) if modified is not None else when
    title_head = h1 = social = headline
    if shape == "h1-variant":
        h1 = alt or variant(rng, headline)
    elif shape == "rewritten":
        other = alt or rewrite(rng, headline)
        if rng.random() < 0.5:
            social = other
        else:
            title_head = other
    title = title_text(site_name, title_head, template.title_style, section)
    author = f"{rng.choice(_FIRST_NAMES)} {rng.choice(_LAST_NAMES)}"
    description = f"{headline}. {_sentence(rng)}"
    article_ld: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": rng.choice(("NewsArticle", "NewsArticle", "Article", "ReportageNewsArticle")),
        "headline": headline,
        "datePublished": when,
        "dateModified": changed,
        "author": [{"@type": "Person", "name": author}],
        "publisher": {"@type": "NewsMediaOrganization", "name": site_name},
    }
    if url:
        article_ld["mainEntityOfPage"] = url
    meta = _meta("name", "description", description)
    if url:
        meta += f'<link rel="canonical" href="{e(url)}">\n'
    og = (
        _meta("property", "og:type", "article")
        + _meta("property", "og:title", social)
        + _meta("property", "og:site_name", site_name)
        + _meta("property", "og:description", description)
        + (_meta("property", "og:url", url) if url else "")
    )
    published_meta = _meta("property", "article:published_time", when) + (
        _meta("property", "article:modified_time", changed) if modified else ""
    )
    twitter = _meta("name", "twitter:card", "summary_large_image") + _meta(
        "name", "twitter:title", social
    )
    body_ld = ""
    match shape:
        case "full" | "rewritten" | "h1-variant":
            meta += og + twitter + published_meta + _json_ld(article_ld)
        case "og":
            meta += og + published_meta
        case "json-ld":
            meta += _json_ld(article_ld)
        case "json-ld-graph":
            graph = {
                "@context": "https://schema.org",
                "@graph": [
                    {"@type": "WebPage", "@id": f"{url}#webpage", "name": title, "url": url},
                    {"@type": "Organization", "@id": "/#org", "name": site_name},
                    {
                        **{k: v for k, v in article_ld.items() if k != "@context"},
                        "isPartOf": {"@id": f"{url}#webpage"},
                    },
                ],
            }
            yoast = og.replace(e(social), e(title_text(site_name, social, "dash")))
            meta += yoast + published_meta + _json_ld(graph)
        case "json-ld-list":
            crumbs = {
                "@context": "https://schema.org",
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": site_name, "item": "/"},
                    {
                        "@type": "ListItem",
                        "position": 2,
                        "name": section,
                        "item": f"/{slug(section)}/",
                    },
                ],
            }
            body_ld = _json_ld([crumbs, article_ld])
        case "twitter":
            meta += twitter
        case "meta-date":
            attr, name, fmt = rng.choice(_DATE_METAS)
            meta += _meta(attr, name, _iso(rng, published, offset, fmt=fmt))
        case "time" | "title-only":
            pass
    shown = published.strftime("%B %d, %Y").replace(" 0", " ")
    time_tag = f'<time datetime="{when}">{shown}</time>' if shape not in UNDATED_SHAPES else ""
    top = _chrome_top(rng, site_name, template, today)
    main = (
        f'<main>\n<article>\n<p class="kicker"><a href="/{slug(section)}/">{e(section)}</a></p>\n'
        f"<h1>{e(h1)}</h1>\n"
        f'<p class="byline">By <a href="/by/{slug(author)}">{e(author)}</a> {time_tag}</p>\n'
        f"{body_ld}{_paragraphs(rng, rng.randint(4, 12))}</article>\n"
        f"{_teaser_list('Most read', teasers[:5])}{_teaser_list('Related', teasers[5:9], 'h4')}"
        "</main>\n"
    )
    return _document(
        rng,
        template,
        title,
        meta,
        top + main + _footer(site_name, (today or published).year) + "\n</body>\n",
        teasers=teasers[:10],
    )


def home_page(
    rng: random.Random,
    site_name: str,
    teasers: Sequence[str],
    *,
    template: Template | None = None,
    today: dt.date | None = None,
) -> bytes:
    """A home page: title = the site name or ``Site - Breaking News, ...``; ``teasers`` are the
    headlines it lists (the cited one may be among them, as on real home pages)."""
    template = template or Template.draw(rng)
    tagline = rng.choice(
        (
            None,
            "Breaking News, Latest News and Videos",
            "Breaking News, US News, World News and Videos",
            "News, Sport and Opinion",
            "Local News, Weather and Sports",
        )
    )
    title = f"{site_name} - {tagline}" if tagline else site_name
    meta = (
        _meta("name", "description", f"The latest news from {site_name}.")
        + _meta("property", "og:type", "website")
        + _meta("property", "og:title", site_name)
        + _meta("property", "og:site_name", site_name)
        + _json_ld(
            {
                "@context": "https://schema.org",
                "@type": "WebSite",
                "name": site_name,
                "url": "/",
                "publisher": {"@type": "Organization", "name": site_name},
            }
        )
    )
    lead, *rest = [*teasers, "Weather: sunny spells"][: max(1, len(teasers))]
    link = f'<a href="/story/{slug(lead)}">{html.escape(lead)}</a>'
    body = (
        _chrome_top(rng, site_name, template, today)
        + f'<main>\n<section class="top-story"><h2>{link}</h2>'
        + f"{_paragraphs(rng, 1)}</section>\n"
        + _teaser_list("Latest", rest, "h3")
        + _paragraphs(rng, 2)
        + "</main>\n"
        + _footer(site_name, (today or dt.date(2026, 1, 1)).year)
        + "\n</body>\n"
    )
    return _document(rng, template, title, meta, body, teasers=teasers[:10])


def section_front(
    rng: random.Random,
    site_name: str,
    section: str,
    teasers: Sequence[str],
    *,
    template: Template | None = None,
    today: dt.date | None = None,
) -> bytes:
    """A section front: ``Politics - Site``, ``Politics | Site``, ``Politics News : Site``..."""
    template = template or Template.draw(rng)
    title = rng.choice(
        (
            f"{section} - {site_name}",
            f"{section} | {site_name}",
            f"{section} News : {site_name}",
            f"{section} News, Analysis and Opinion | {site_name}",
            f"Latest {section} News — {site_name}",
        )
    )
    meta = (
        _meta("name", "description", f"The latest {section.lower()} news from {site_name}.")
        + _meta("property", "og:type", "website")
        + _meta("property", "og:title", title)
        + _meta("property", "og:site_name", site_name)
    )
    if rng.random() < 0.5:
        meta += _json_ld(
            {"@context": "https://schema.org", "@type": "CollectionPage", "name": section}
        )
    body = (
        _chrome_top(rng, site_name, template, today)
        + f"<main>\n<h1>{html.escape(section)}</h1>\n"
        + _teaser_list(section, teasers, "h2")
        + "</main>\n"
        + _footer(site_name, (today or dt.date(2026, 1, 1)).year)
        + "\n</body>\n"
    )
    return _document(rng, template, title, meta, body, teasers=teasers[:10])


def consent_wall(rng: random.Random, site_name: str) -> bytes:
    """A consent interstitial where the page should be ("Before you continue", a form)."""
    e = html.escape
    title, heading = rng.choice(
        (
            ("Before you continue", f"Before you continue to {site_name}"),
            (f"{site_name} is part of the Yahoo family of brands", "We value your privacy"),
            ("Your privacy choices", "We care about your privacy"),
            (f"Cookie consent | {site_name}", "This site uses cookies"),
        )
    )
    text = (
        "We use cookies and data to deliver and maintain our services, measure audience "
        "engagement and site statistics, and show personalised content and ads. If you choose "
        "to 'Accept all', we will also use cookies and data to develop and improve new "
        "services. If you choose to 'Reject all', we will not use cookies for these purposes."
    )
    form = (
        f'<form method="post" action="/consent/save" class="consent-form">'
        f'<input type="hidden" name="sessionId" value="{rng.getrandbits(64):016x}">'
        '<button name="reject" value="1">Reject all</button>'
        '<button name="agree" value="1">Accept all</button>'
        '<a href="/consent/options">More options</a></form>'
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(title)}</title>"
        '<meta name="robots" content="noindex">'
        f"<style>.consent{{max-width:{rng.randint(480, 720)}px;margin:auto}}</style></head>\n"
        f'<body><div class="consent" role="dialog" aria-modal="true"><h1>{e(heading)}</h1>'
        f"<p>{e(text)}</p>{form}</div></body></html>\n"
    ).encode()


def script_shell(rng: random.Random, site_name: str, *, titled: bool | None = None) -> bytes:
    """A single-page app's document: a root ``<div>``, scripts, an empty ``<title>`` (or the
    site name when ``titled``; None draws)."""
    titled = rng.random() < 0.5 if titled is None else titled
    title = html.escape(site_name) if titled else ""
    root = rng.choice(('<div id="root"></div>', '<div id="app"></div>', "<app-root></app-root>"))
    build = f"{rng.getrandbits(32):08x}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1"><title>{title}</title>'
        f'<link rel="manifest" href="/manifest.json"><link href="/static/css/main.{build}.css" '
        'rel="stylesheet">'
        f'<script defer="defer" src="/static/js/main.{build}.js"></script></head>\n'
        "<body><noscript>You need to enable JavaScript to run this app.</noscript>"
        f'{root}<script>window.__CONFIG__={{"api":"/api/v2","build":"{build}"}}</script>'
        "</body></html>\n"
    ).encode()
