"""Page facts read from the first bytes of a page: one test per source of each fact."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from verifier.citation.extract import page_facts
from verifier.citation.facts import DateSource, PageFacts, PageKind, SiteSource, TitleSource

TODAY = dt.date(2024, 6, 1)
URL = "https://www.example.com/news/senate-passes-bill"
ARTICLE_TEXT = (
    "<p>" + "The Senate voted on Tuesday to pass the bill after a long debate. " * 8 + "</p>"
)


def html(head: str = "", body: str = "") -> str:
    return f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"


def facts_of(
    head: str = "",
    body: str = "",
    *,
    url: str = URL,
    content_type: str | None = "text/html",
    today: dt.date = TODAY,
) -> PageFacts:
    facts = page_facts(html(head, body).encode(), url, content_type, today=today)
    assert facts is not None
    return facts


def title(text: str) -> str:
    return f"<title>{text}</title>"


def meta(key: str, content: str, attr: str = "property") -> str:
    return f'<meta {attr}="{key}" content="{content}">'


def ld(data: Any) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def titles(facts: PageFacts) -> list[tuple[str, str]]:
    return [(seen.source, seen.text) for seen in facts.titles]


def sites(facts: PageFacts) -> list[tuple[str, str]]:
    return [(seen.source, seen.text) for seen in facts.site_names]


def dates(facts: PageFacts) -> list[tuple[DateSource, dt.date]]:
    return [(seen.source, seen.date) for seen in facts.dates]


FEB_3 = dt.date(2021, 2, 3)


# Titles and site names


def test_title_suffix_named_by_og_site_name_is_removed() -> None:
    facts = facts_of(
        title("Senate passes bill | Example News") + meta("og:site_name", "Example News")
    )
    assert titles(facts) == [
        (TitleSource.TITLE, "Senate passes bill"),
        (TitleSource.TITLE_FULL, "Senate passes bill | Example News"),
    ]
    assert sites(facts) == [(SiteSource.OG, "Example News")]


def test_title_suffix_without_site_name_is_removed_when_short() -> None:
    facts = facts_of(title("Senate passes bill | Example News"))
    assert titles(facts) == [
        (TitleSource.TITLE, "Senate passes bill"),
        (TitleSource.TITLE_FULL, "Senate passes bill | Example News"),
    ]
    assert sites(facts) == [(SiteSource.TITLE_SUFFIX, "Example News")]


def test_long_trailing_part_without_site_name_is_kept() -> None:
    text = "Senate passes bill - and the House follows suit"
    facts = facts_of(title(text))
    assert titles(facts) == [(TitleSource.TITLE, text)]
    assert facts.site_names == []


def test_trailing_part_longer_than_the_rest_is_kept() -> None:
    facts = facts_of(title("Vote | Example Daily News"))
    assert titles(facts) == [(TitleSource.TITLE, "Vote | Example Daily News")]


def test_known_site_name_goes_from_the_end_only_once_matched() -> None:
    facts = facts_of(
        title("Senate passes bill | Politics | Example News") + meta("og:site_name", "Example News")
    )
    assert titles(facts)[0] == (TitleSource.TITLE, "Senate passes bill | Politics")


def test_site_name_matches_ignoring_the_and_punctuation() -> None:
    facts = facts_of(
        title("Senate passes bill — The Washington Post") + meta("og:site_name", "Washington Post"),
        url="https://www.washingtonpost.com/politics/2021/02/03/senate/",
    )
    assert titles(facts)[0] == (TitleSource.TITLE, "Senate passes bill")
    assert sites(facts) == [
        (SiteSource.OG, "Washington Post"),
        (SiteSource.TITLE_SUFFIX, "The Washington Post"),
    ]


@pytest.mark.parametrize(
    ("url", "written", "expected", "removed"),
    [
        ("https://www.politico.com/x", "POLITICO | Senate votes", "Senate votes", "POLITICO"),
        ("https://www.nytimes.com/2021/x.html", "Vote | NYTimes.com", "Vote", "NYTimes.com"),
        ("https://www.npr.org/x", "NPR: Senate passes bill", "Senate passes bill", "NPR"),
        ("https://www.npr.org/x", "Senate passes bill : NPR", "Senate passes bill", "NPR"),
        ("https://text.npr.org/x", "Senate passes bill: npr.org", "Senate passes bill", "npr.org"),
        ("https://news.bbc.co.uk/x", "BBC » Senate passes bill", "Senate passes bill", "BBC"),
    ],
)  # fmt: skip
def test_part_that_names_the_host_is_removed(
    url: str, written: str, expected: str, removed: str
) -> None:
    facts = facts_of(title(written), url=url)
    assert titles(facts) == [(TitleSource.TITLE, expected), (TitleSource.TITLE_FULL, written)]
    assert sites(facts) == [(SiteSource.TITLE_SUFFIX, removed)]


def test_colon_kept_when_no_site_name_is_on_either_side() -> None:
    facts = facts_of(title("Analysis: Senate passes bill"))
    assert titles(facts) == [(TitleSource.TITLE, "Analysis: Senate passes bill")]


def test_title_that_is_only_the_site_name_is_kept() -> None:
    facts = facts_of(title("Example News") + meta("og:site_name", "Example News"), ARTICLE_TEXT)
    assert titles(facts) == [(TitleSource.TITLE, "Example News")]


def test_og_title_from_property_or_name() -> None:
    by_property = facts_of(title("Senate passes bill") + meta("og:title", "Senate passes the bill"))
    by_name = facts_of(meta("og:title", "Senate passes the bill", attr="name"))
    assert titles(by_property) == [
        (TitleSource.TITLE, "Senate passes bill"),
        (TitleSource.OG, "Senate passes the bill"),
    ]
    assert titles(by_name) == [(TitleSource.OG, "Senate passes the bill")]


def test_twitter_title() -> None:
    facts = facts_of(meta("twitter:title", "Senate passes the bill", attr="name"))
    assert titles(facts) == [(TitleSource.TWITTER, "Senate passes the bill")]


def test_titles_keep_their_order_and_drop_case_insensitive_repeats() -> None:
    facts = facts_of(
        title("Senate passes bill - Example News")
        + meta("og:site_name", "Example News")
        + meta("og:title", "SENATE PASSES BILL")
        + meta("twitter:title", "Senate passes the bill", attr="name")
        + ld({"@type": "NewsArticle", "headline": "Senate Passes Bill"}),
        "<h1>The Senate passes the bill</h1>",
    )
    assert titles(facts) == [
        (TitleSource.TITLE, "Senate passes bill"),
        (TitleSource.TITLE_FULL, "Senate passes bill - Example News"),
        (TitleSource.TWITTER, "Senate passes the bill"),
        (TitleSource.H1, "The Senate passes the bill"),
    ]


def test_json_ld_object_headline_and_publisher() -> None:
    facts = facts_of(
        ld(
            {
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": "Senate passes bill",
                "publisher": {"@type": "Organization", "name": "Example News"},
            }
        )
    )
    assert titles(facts) == [(TitleSource.JSON_LD, "Senate passes bill")]
    assert sites(facts) == [(SiteSource.JSON_LD, "Example News")]


def test_json_ld_list_prefers_the_article_to_the_web_page() -> None:
    facts = facts_of(
        ld(
            [
                {"@type": "WebPage", "name": "Senate passes bill - Example News"},
                {"@type": ["ReportageNewsArticle"], "headline": "Senate passes bill"},
            ]
        )
    )
    assert titles(facts) == [(TitleSource.JSON_LD, "Senate passes bill")]


def test_json_ld_graph_resolves_the_publisher_reference() -> None:
    facts = facts_of(
        ld(
            {
                "@context": "https://schema.org",
                "@graph": [
                    {"@type": "WebSite", "@id": "https://example.com/#site", "name": "Site"},
                    {"@type": "Organization", "@id": "https://example.com/#org", "name": "Ex"},
                    {
                        "@type": "schema:BlogPosting",
                        "headline": "Senate passes bill",
                        "publisher": {"@id": "https://example.com/#org"},
                    },
                ],
            }
        )
    )
    assert titles(facts) == [(TitleSource.JSON_LD, "Senate passes bill")]
    assert sites(facts) == [(SiteSource.JSON_LD, "Ex")]


def test_json_ld_web_page_name_when_there_is_no_article() -> None:
    facts = facts_of(ld({"@type": "WebPage", "name": "Senate passes bill"}))
    assert titles(facts) == [(TitleSource.JSON_LD, "Senate passes bill")]


def test_json_ld_first_headline_when_no_type_is_known() -> None:
    facts = facts_of(
        ld([{"@type": "Person", "name": "A. Senator"}, {"@type": "Thing", "headline": "Vote"}])
    )
    assert titles(facts) == [(TitleSource.JSON_LD, "Vote")]


def test_json_ld_publisher_list() -> None:
    facts = facts_of(
        ld(
            {
                "@type": "Article",
                "headline": "Senate passes bill",
                "publisher": [{"name": "Example News"}, {"name": "Example Wire"}],
            }
        )
    )
    assert sites(facts) == [
        (SiteSource.JSON_LD, "Example News"),
        (SiteSource.JSON_LD, "Example Wire"),
    ]


def test_json_ld_in_the_body_is_read() -> None:
    facts = facts_of(body=ARTICLE_TEXT + ld({"@type": "Article", "headline": "Senate passes bill"}))
    assert titles(facts) == [(TitleSource.JSON_LD, "Senate passes bill")]


@pytest.mark.parametrize(
    "block",
    [
        '{"@type": "Article", "headline": ',
        "not json at all",
        "[" * 100_000,
        '"just a string"',
        '{"@type": "Article", "headline": {"text": "nested"}, "datePublished": 20210203}',
    ],
)
def test_bad_json_ld_is_ignored(block: str) -> None:
    facts = facts_of(
        title("Senate passes bill") + f'<script type="application/ld+json">{block}</script>'
    )
    assert titles(facts) == [(TitleSource.TITLE, "Senate passes bill")]
    assert facts.dates == []


def test_json_ld_wrapped_in_cdata_is_read() -> None:
    block = '//<![CDATA[\n{"@type": "Article", "headline": "Senate passes bill"}\n//]]>'
    facts = facts_of(f'<script type="application/ld+json">{block}</script>')
    assert titles(facts) == [(TitleSource.JSON_LD, "Senate passes bill")]


def test_first_h1_with_inline_markup() -> None:
    facts = facts_of(body='<h1 class="headline">Senate <em>passes</em> bill</h1><h1>Other</h1>')
    assert titles(facts) == [(TitleSource.H1, "Senate passes bill")]


def test_h1_that_is_a_logo_or_the_site_name_is_skipped() -> None:
    facts = facts_of(
        meta("og:site_name", "Example News"),
        '<h1><a href="/"><img alt="Example News" src="/logo.png"></a></h1>'
        "<h1>Example News</h1><h1>Senate passes bill</h1>",
    )
    assert titles(facts) == [(TitleSource.H1, "Senate passes bill")]


def test_h1_inside_a_script_or_comment_is_not_an_h1() -> None:
    facts = facts_of(
        body="<script>var t = '<h1>Loading</h1>';</script><!-- <h1>Old</h1> -->"
        "<h1>Senate passes bill</h1>"
    )
    assert titles(facts) == [(TitleSource.H1, "Senate passes bill")]


def test_h1_ignores_icons_inside_it() -> None:
    facts = facts_of(body="<h1><svg><title>icon</title></svg>Senate passes bill</h1>")
    assert titles(facts) == [(TitleSource.H1, "Senate passes bill")]


def test_application_name() -> None:
    facts = facts_of(meta("application-name", "Example News", attr="name"))
    assert sites(facts) == [(SiteSource.APPLICATION, "Example News")]


def test_site_names_in_order_without_repeats() -> None:
    facts = facts_of(
        title("Senate passes bill | Example")
        + meta("og:site_name", "Example News")
        + meta("application-name", "example news", attr="name")
        + ld({"@type": "Article", "headline": "Vote", "publisher": {"name": "Example Media"}})
    )
    assert sites(facts) == [
        (SiteSource.OG, "Example News"),
        (SiteSource.JSON_LD, "Example Media"),
        (SiteSource.TITLE_SUFFIX, "Example"),
    ]


# Dates


def test_json_ld_date_published() -> None:
    facts = facts_of(ld({"@type": "NewsArticle", "datePublished": "2021-02-03T10:00:00Z"}))
    assert dates(facts) == [(DateSource.JSON_LD_PUBLISHED, FEB_3)]


def test_article_published_time() -> None:
    facts = facts_of(meta("article:published_time", "2021-02-03T10:00:00+00:00"))
    assert dates(facts) == [(DateSource.ARTICLE_PUBLISHED, FEB_3)]


@pytest.mark.parametrize(
    ("attr", "name"),
    [
        ("name", "date"),
        ("name", "pubdate"),
        ("name", "publishdate"),
        ("name", "publish-date"),
        ("name", "publish_date"),
        ("name", "DC.date"),
        ("name", "DC.date.issued"),
        ("name", "dcterms.created"),
        ("name", "citation_publication_date"),
        ("name", "parsely-pub-date"),
        ("name", "sailthru.date"),
        ("property", "og:pubdate"),
        ("name", "article.published"),
        ("itemprop", "datePublished"),
    ],
)
def test_meta_date(attr: str, name: str) -> None:
    facts = facts_of(meta(name, "2021-02-03", attr=attr))
    assert dates(facts) == [(DateSource.META, FEB_3)]


def test_first_readable_meta_date_wins() -> None:
    facts = facts_of(meta("date", "soon", "name") + meta("pubdate", "2021/02/03", "name"))
    assert dates(facts) == [(DateSource.META, FEB_3)]


def test_first_time_element() -> None:
    facts = facts_of(
        body='<p>By A. Reporter</p><time class="x" datetime="2021-02-03T10:00">Feb 3</time>'
        '<time datetime="2021-02-04">Feb 4</time>'
    )
    assert dates(facts) == [(DateSource.TIME, FEB_3)]


def test_time_without_a_readable_datetime_is_passed_over() -> None:
    facts = facts_of(
        body='<time data-datetime="2020-01-01">x</time><time datetime="P3D">3 days</time>'
        "<time datetime='2021-02-03'>Feb 3</time>"
    )
    assert dates(facts) == [(DateSource.TIME, FEB_3)]


MASTHEAD = '<header><time class="masthead-date" datetime="2024-06-01">Saturday</time></header>'


@pytest.mark.parametrize(
    "logo",
    ["", '<h1 class="logo"><a href="/">Example News</a></h1>'],
)
def test_time_before_the_heading_is_a_masthead_not_the_page_date(logo: str) -> None:
    facts = facts_of(
        meta("og:site_name", "Example News"),
        logo + MASTHEAD + '<article><h1>Senate passes bill</h1><time datetime="2021-02-03">'
        "Feb 3</time></article>",
    )
    assert dates(facts) == [(DateSource.TIME, FEB_3)]


def test_time_only_before_the_heading_is_not_read() -> None:
    facts = facts_of(body=MASTHEAD + "<h1>Senate passes bill</h1>" + ARTICLE_TEXT)
    assert facts.dates == []


def test_time_is_read_anywhere_in_a_page_without_a_heading() -> None:
    facts = facts_of(body=MASTHEAD + ARTICLE_TEXT)
    assert dates(facts) == [(DateSource.TIME, TODAY)]


@pytest.mark.parametrize(
    "path",
    [
        "/2021/02/03/senate-passes-bill",
        "/news/20210203/senate",
        "/news/senate-passes-bill-20210203",
        "/news/2021-02-03",
        "/news/2021-02-03-senate-passes-bill.html",
    ],
)
def test_date_in_the_url(path: str) -> None:
    facts = facts_of(url=f"https://www.example.com{path}")
    assert dates(facts) == [(DateSource.URL, FEB_3)]


@pytest.mark.parametrize(
    "path",
    [
        "/2021/02/senate-passes-bill",
        "/story/123456789/senate",
        "/news/2021/02/1234567/senate",
        "/news/20211399/senate",
        "/news/senate?date=2021-02-03",
    ],
)
def test_url_without_a_full_date(path: str) -> None:
    assert facts_of(url=f"https://www.example.com{path}").dates == []


def test_json_ld_date_modified_and_article_modified_time() -> None:
    facts = facts_of(
        meta("article:modified_time", "2021-02-05")
        + ld({"@type": "Article", "headline": "x", "dateModified": "2021-02-04"})
    )
    assert dates(facts) == [
        (DateSource.JSON_LD_MODIFIED, dt.date(2021, 2, 4)),
        (DateSource.ARTICLE_MODIFIED, dt.date(2021, 2, 5)),
    ]
    assert facts.published is None


def test_dates_one_per_source_in_declared_order() -> None:
    facts = facts_of(
        meta("article:modified_time", "2021-02-09")
        + meta("date", "2021-02-06", "name")
        + meta("pubdate", "2021-01-01", "name")
        + meta("article:published_time", "2021-02-05")
        + ld({"@type": "Article", "datePublished": "2021-02-04", "dateModified": "2021-02-08"}),
        '<time datetime="2021-02-07">x</time>',
        url="https://www.example.com/2021/02/03/senate",
    )
    assert dates(facts) == [
        (DateSource.JSON_LD_PUBLISHED, dt.date(2021, 2, 4)),
        (DateSource.ARTICLE_PUBLISHED, dt.date(2021, 2, 5)),
        (DateSource.META, dt.date(2021, 2, 6)),
        (DateSource.TIME, dt.date(2021, 2, 7)),
        (DateSource.URL, FEB_3),
        (DateSource.JSON_LD_MODIFIED, dt.date(2021, 2, 8)),
        (DateSource.ARTICLE_MODIFIED, dt.date(2021, 2, 9)),
    ]


@pytest.mark.parametrize(
    "written",
    [
        "2021-02-03",
        "2021-02-03T10:00:00Z",
        "2021-02-03T23:30:00-05:00",
        "2021-02-03T10:00:00+00:00",
        "2021-02-03T10:00:00.000Z",
        "2021-02-03 10:00",
        "2021/02/03",
        "2021-2-3",
        "Wed, 03 Feb 2021 10:00:00 GMT",
        "3 February 2021",
        "February 3, 2021",
        "Feb. 3, 2021",
        "Wednesday, February 3rd, 2021 10:00 AM",
        "Sept 3, 2021",
    ],
)
def test_date_forms(written: str) -> None:
    facts = facts_of(meta("date", written, "name"))
    expected = dt.date(2021, 9, 3) if written.startswith("Sept") else FEB_3
    assert dates(facts) == [(DateSource.META, expected)]


@pytest.mark.parametrize(
    "written", ["2021-02", "2021", "02/03/2021", "yesterday", "2021-02-30", "Smarch 3, 2021", ""]
)
def test_unreadable_dates_are_skipped(written: str) -> None:
    assert facts_of(meta("date", written, "name")).dates == []


@pytest.mark.parametrize(
    ("written", "kept"),
    [
        ("1989-12-31", False),
        ("1990-01-01", True),
        ("2024-06-03", True),  # TODAY + 2 days: a time zone ahead, or a scheduled post
        ("2024-06-04", False),
    ],
)
def test_dates_before_1990_or_after_two_days_from_now_are_rejected(
    written: str, kept: bool
) -> None:
    facts = facts_of(meta("date", written, "name"))
    expected = [(DateSource.META, dt.date.fromisoformat(written))] if kept else []
    assert dates(facts) == expected


def test_url_date_in_the_future_is_rejected() -> None:
    assert facts_of(url="https://www.example.com/2030/01/01/x").dates == []


# Canonical


def test_canonical_relative_href_is_resolved() -> None:
    facts = facts_of('<link rel="canonical" href="/news/senate-passes-bill?ref=x">')
    assert facts.canonical == "https://www.example.com/news/senate-passes-bill?ref=x"


def test_canonical_rel_among_other_tokens() -> None:
    facts = facts_of('<link rel="alternate canonical" href="https://example.org/a">')
    assert facts.canonical == "https://example.org/a"


def test_og_url_when_there_is_no_canonical_link() -> None:
    facts = facts_of('<link rel="stylesheet" href="/a.css">' + meta("og:url", "//example.org/b"))
    assert facts.canonical == "https://example.org/b"


def test_no_canonical() -> None:
    assert facts_of('<link rel="canonical" href="javascript:void(0)">').canonical is None


# Decoding and bodies that are cut or not HTML


def test_meta_charset_windows_1252() -> None:
    body = '<html><head><meta charset="windows-1252"><title>Café “bill”</title></head>'
    facts = page_facts(body.encode("cp1252"), URL, "text/html", today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Café “bill”")]


def test_http_equiv_charset_latin1_means_windows_1252() -> None:
    body = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1">'
        "<title>Caf\xe9 \x93bill\x94</title></head>"
    ).encode("latin-1")
    facts = page_facts(body, URL, None, today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Café “bill”")]


def test_header_charset_is_used_before_meta() -> None:
    body = '<meta charset="utf-8"><title>Café</title>'.encode("cp1252")
    facts = page_facts(body, URL, "text/html; charset=windows-1252", today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Café")]


def test_undecodable_bytes_are_replaced() -> None:
    facts = page_facts(b"<title>Caf\xe9 bill</title>", URL, "text/html", today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Caf\ufffd bill")]


def test_unknown_charset_falls_back_to_utf8() -> None:
    body = '<meta charset="hex"><title>Café</title>'.encode()
    facts = page_facts(body, URL, "text/html", today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Café")]


def test_utf8_byte_order_mark() -> None:
    facts = page_facts(b"\xef\xbb\xbf<title>Caf\xc3\xa9</title>", URL, None, today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Café")]


def test_body_cut_inside_a_tag() -> None:
    head = title("Senate passes bill") + meta("og:site_name", "Example News")
    cut = f'<html><head>{head}<meta property="og:title" content="Senate pas'
    facts = page_facts(cut.encode(), URL, "text/html", today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Senate passes bill")]
    assert sites(facts) == [(SiteSource.OG, "Example News")]


@pytest.mark.parametrize(
    "cut",
    [
        "<html><head><title>Senate passes b",
        "<html><head><title>Senate passes bill</ti",
        "<html><head></head><body><h1>Senate passes b",
    ],
)
def test_text_cut_before_its_end_tag_is_not_read(cut: str) -> None:
    facts = page_facts(cut.encode(), URL, "text/html", today=TODAY)
    assert facts is not None
    assert facts.titles == []


def test_head_without_end_tag_is_read_whole() -> None:
    body = "<title>Senate passes bill</title><h1>The Senate passes the bill</h1>"
    facts = page_facts(body.encode(), URL, None, today=TODAY)
    assert facts is not None
    assert titles(facts) == [
        (TitleSource.TITLE, "Senate passes bill"),
        (TitleSource.H1, "The Senate passes the bill"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"%PDF-1.7\n<</Type /Catalog>>", "application/pdf"),
        (b"%PDF-1.7\n<</Type /Catalog>>", "text/html"),
        (b"<html><title>x</title></html>", "application/pdf"),
        (b'{"title": "<b>x</b>"}', "application/json"),
        (b'{"title": "<b>x</b>"}', None),
        (b"[1, 2]", "text/html"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "image/svg+xml"),
        (b"\x89PNG\r\n\x1a\n<a", "image/png"),
        (b"Just words, 1 < 2, no markup.", "text/html"),
        (b"<p>some markup</p>", "text/plain"),
        (b"", None),
    ],
)
def test_not_html_gives_none(body: bytes, content_type: str | None) -> None:
    assert page_facts(body, URL, content_type, today=TODAY) is None


def test_vague_content_type_with_an_html_document_is_read() -> None:
    body = html(title("Senate passes bill")).encode()
    facts = page_facts(body, URL, "application/octet-stream", today=TODAY)
    assert facts is not None
    assert titles(facts) == [(TitleSource.TITLE, "Senate passes bill")]


# Text


def test_entities_are_decoded_once_more_and_whitespace_collapsed() -> None:
    facts = facts_of(
        title("Tom &amp; Jerry\n  win &#8220;big&#8221;")
        + meta("og:title", "Tom &amp;amp; Jerry&nbsp;win")
        + ld({"@type": "Article", "headline": "Tom &amp; Jerry&#039;s\tday"})
    )
    assert titles(facts) == [
        (TitleSource.TITLE, "Tom & Jerry win “big”"),
        (TitleSource.OG, "Tom & Jerry win"),
        (TitleSource.JSON_LD, "Tom & Jerry's day"),
    ]


def test_very_long_title_is_capped() -> None:
    facts = facts_of(title("word " * 100))
    assert titles(facts) == [(TitleSource.TITLE, ("word " * 60).strip())]
    assert len(facts.titles[0].text) == 299


def test_probe_title_is_left_to_the_checker() -> None:
    assert facts_of(title("Senate passes bill")).probe_title is None


# Kind


def test_ordinary_article_is_an_article() -> None:
    facts = facts_of(title("Senate passes bill"), "<h1>Senate passes bill</h1>" + ARTICLE_TEXT)
    assert facts.kind == PageKind.ARTICLE


@pytest.mark.parametrize(
    "written",
    [
        "Before you continue",
        "Before you continue to Google",
        "Before you continue to YouTube",
        "We value your privacy",
        "Privacy consent",
        "Cookie consent | Example News",
    ],
)
def test_consent_wall_by_title(written: str) -> None:
    assert facts_of(title(written), ARTICLE_TEXT).kind == PageKind.CONSENT_WALL


@pytest.mark.parametrize(
    "host",
    ["consent.google.com", "consent.youtube.com", "consent.yahoo.com", "guce.yahoo.com"],
)
def test_consent_wall_by_host(host: str) -> None:
    facts = facts_of(
        title("Yahoo is part of the Yahoo family of brands"), url=f"https://{host}/v2/"
    )
    assert facts.kind == PageKind.CONSENT_WALL


CONSENT_FORM = (
    '<div id="cmp"><p>We and our partners use cookies to store and access information on '
    "your device. With your consent we show personalised ads.</p><form>"
    "<button>Accept all</button><button>Reject all</button>"
    "<a href='/prefs'>Manage preferences</a></form></div>"
)


def test_consent_wall_by_a_body_that_is_a_consent_form() -> None:
    facts = facts_of(title("Example News"), CONSENT_FORM)
    assert facts.kind == PageKind.CONSENT_WALL


def test_article_with_a_cookie_banner_is_an_article() -> None:
    facts = facts_of(
        title("Senate passes bill | Example News") + meta("og:title", "Senate passes bill"),
        CONSENT_FORM + "<h1>Senate passes bill</h1>" + ARTICLE_TEXT,
    )
    assert facts.kind == PageKind.ARTICLE


def test_short_page_with_a_heading_and_a_cookie_banner_is_an_article() -> None:
    facts = facts_of(title("Contact us"), "<h1>Contact us</h1><p>Call 555-0100.</p>" + CONSENT_FORM)
    assert facts.kind == PageKind.ARTICLE


SPA_SCRIPT = '<script src="/static/js/main.4f2a.js"></script>'


def test_script_shell_with_an_empty_mount() -> None:
    facts = facts_of(
        title("React App") + SPA_SCRIPT,
        '<noscript>You need to enable JavaScript to run this app.</noscript><div id="root"></div>',
    )
    assert facts.kind == PageKind.SCRIPT_SHELL


def test_script_shell_titled_with_the_site_name() -> None:
    facts = facts_of(
        title("Example News") + meta("og:site_name", "Example News"),
        '<div id="__next"></div>' + SPA_SCRIPT,
    )
    assert facts.kind == PageKind.SCRIPT_SHELL


def test_script_shell_that_is_mostly_script() -> None:
    facts = facts_of(body="<script>" + "window.boot({a: 1});" * 200 + "</script><p>Loading</p>")
    assert facts.kind == PageKind.SCRIPT_SHELL


@pytest.mark.parametrize("mount", ['<div id="app"></div>', "<app-root></app-root>"])
def test_script_shell_titled_with_an_unknown_site_name_keeps_its_title(mount: str) -> None:
    facts = facts_of(
        title("The Mountain Sentinel") + SPA_SCRIPT,
        "<noscript>You need to enable JavaScript to run this app.</noscript>"
        + mount
        + '<script>window.__CONFIG__={"api":"/api/v2"}</script>',
    )
    assert facts.kind == PageKind.SCRIPT_SHELL
    assert titles(facts) == [(TitleSource.TITLE, "The Mountain Sentinel")]


def test_titled_page_without_a_heading_over_an_empty_mount_is_a_script_shell() -> None:
    # a line of text beside the mount may be the app's own chrome: the judge still accepts
    # the title when it matches the citation
    facts = facts_of(
        title("Office hours") + SPA_SCRIPT,
        '<div id="root"></div><p>Open Monday to Friday, 9 to 5.</p>',
    )
    assert facts.kind == PageKind.SCRIPT_SHELL
    assert titles(facts) == [(TitleSource.TITLE, "Office hours")]


def test_page_cut_before_its_end_is_not_a_script_shell() -> None:
    start = "<html><head><title>Senate passes bill</title><script>" + "boot({a: 1});" * 200
    whole = start + '</script></head><body><div id="root"></div></body></html>'
    cut = page_facts(start.encode(), URL, "text/html", today=TODAY)
    shell = page_facts(whole.encode(), URL, "text/html", today=TODAY)
    assert cut is not None and shell is not None
    assert (cut.kind, shell.kind) == (PageKind.ARTICLE, PageKind.SCRIPT_SHELL)


def test_small_real_page_with_a_heading_is_an_article() -> None:
    facts = facts_of(
        title("Office hours") + SPA_SCRIPT,
        '<div id="root"></div><h1>Office hours</h1><p>Open Monday to Friday, 9 to 5.</p>',
    )
    assert facts.kind == PageKind.ARTICLE


@pytest.mark.parametrize(
    "named_by",
    [
        meta("og:title", "Office hours"),
        ld({"@type": "WebPage", "name": "Office hours"}),
    ],
)
def test_small_page_named_by_its_metadata_is_an_article(named_by: str) -> None:
    facts = facts_of(title("Office hours") + named_by + SPA_SCRIPT, '<div id="root"></div>')
    assert facts.kind == PageKind.ARTICLE


def test_untitled_page_with_a_heading_is_not_a_script_shell() -> None:
    facts = facts_of(SPA_SCRIPT, '<div id="app"></div><h1>Senate passes bill</h1>')
    assert facts.kind == PageKind.ARTICLE


def test_untitled_page_without_scripts_is_not_a_script_shell() -> None:
    assert facts_of(body="<p>Hello.</p>").kind == PageKind.ARTICLE


def test_control_characters_from_a_page_never_reach_the_facts() -> None:
    facts = page_facts(
        b"<html><head><title>Senate \x1b[31mpasses\x07 bill\x00</title></head><body></body></html>",
        "https://a.example/x",
    )
    assert facts is not None
    [title] = [seen.text for seen in facts.titles]
    assert title.startswith("Senate [31mpasses bill")  # the parser shows a NUL as U+FFFD
    assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in title)
