"""Pure soft-404 decisions: "not found" titles, slug corroboration, content-comparing probes."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.fakes.loopweb import NOT_FOUND_SHAPES
from verifier.web.answers import Outcome, Response
from verifier.web.soft404 import (
    corroborates,
    fingerprint,
    needs_probe,
    probe_facts,
    same_answer,
    says_not_found,
    similarity,
)

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
HTML = {"content-type": "text/html; charset=utf-8"}


def page(url: str, title: str, text: str, status: int = 200) -> Response:
    body = f"<html><head><title>{title}</title></head><body><p>{text}</p></body></html>"
    return Response("GET", url, status, HTML, body.encode())


@pytest.mark.parametrize(
    "title", [t.format(site="Site", path="/x") for t, _, _ in NOT_FOUND_SHAPES]
)
def test_every_not_found_title_or_heading_of_the_fake_web_is_recognised(title: str) -> None:
    shapes = {t.format(site="Site", path="/x"): h for t, h, _ in NOT_FOUND_SHAPES}
    assert says_not_found(title) or says_not_found(shapes[title])


@pytest.mark.parametrize(
    "title",
    [
        "Article (id=404)",
        "Flight 404 lands safely",
        "Why the deep state does not exist",
        "Error rates rise in audit",
        "Senate probe into fund | Daily",
    ],
)
def test_headlines_with_error_words_are_not_soft_404_signs(title: str) -> None:
    assert not says_not_found(title)


def test_a_title_that_repeats_the_slug_corroborates_the_url() -> None:
    url = "https://news.example/politics/2024/05/senate-probe-into-fund"
    assert corroborates(url, "Senate probe into fund | Daily")
    assert corroborates(url, "Senate opens probe into offshore fund")
    assert not corroborates(url, "Daily — Politics")  # a section front or home page
    assert not corroborates("https://news.example/article?id=123", "Senate probe")
    assert not corroborates("https://news.example/2024/05/12/123456", "Senate probe")


def test_only_html_pages_that_do_not_corroborate_their_url_need_a_probe() -> None:
    url = "https://news.example/politics/senate-probe-into-fund"
    told = Outcome(url, page(url, "Senate probe into fund", "..."), chain=(url,))
    silent = Outcome(url, page(url, "Daily", "..."), chain=(url,))
    pdf = Outcome(url, Response("GET", url, 200, {"content-type": "application/pdf"}), chain=(url,))
    gone = Outcome(url, page(url, "Not Found", "...", status=404), chain=(url,))
    assert not needs_probe(told)
    assert needs_probe(silent)
    assert not needs_probe(pdf)
    assert not needs_probe(gone)


def test_a_not_found_page_echoing_its_path_matches_the_probe_by_fingerprint() -> None:
    text = "We looked everywhere but nothing lives at {} any more. Try the search box above."
    missing = "https://news.example/world/a-story-that-moved"
    probe = "https://news.example/world/3fa9c2e1d0b7"
    a = Response(
        "GET", missing, 200, HTML, f"<p>{text.format('/world/a-story-that-moved')}</p>".encode()
    )
    b = Response("GET", probe, 200, HTML, f"<p>{text.format('/world/3fa9c2e1d0b7')}</p>".encode())
    assert a.body != b.body
    assert similarity(fingerprint(a.body, a.url), fingerprint(b.body, b.url)) == 1.0
    assert same_answer(a, probe_facts(b, NOW))


def test_a_section_answering_every_slug_with_another_article_is_not_the_same_answer() -> None:
    real = page("https://news.example/world/123", "Floods close the port", "Rain fell all week.")
    other = page("https://news.example/world/zz9", "Council approves budget", "Votes were cast.")
    assert not same_answer(real, probe_facts(other, NOW))
    same = page("https://news.example/world/zz9", "Floods close the port", "Rain fell all week.")
    assert same_answer(real, probe_facts(same, NOW))


def test_a_probe_that_is_not_2xx_proves_nothing() -> None:
    real = page("https://news.example/world/123", "Daily", "Anything.")
    gone = page("https://news.example/world/zz9", "Daily", "Anything.", status=404)
    assert not same_answer(real, probe_facts(gone, NOW))
