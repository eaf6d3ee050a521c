"""Pure classification: outcomes → verdicts, soft-404 and bot-wall signs (retry decisions:
``test_retry``)."""

from __future__ import annotations

import datetime as dt

import pytest

from verifier.models import Verdict
from verifier.web.answers import Failure, Outcome, Response
from verifier.web.classify import bot_wall, classify
from verifier.web.soft404 import probe_facts

URL = "https://news.example/2024/05/story"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def answer(
    status: int, url: str = URL, body: bytes = b"", method: str = "GET", **headers: str
) -> Outcome:
    response = Response(method, url, status, {k.replace("_", "-"): v for k, v in headers.items()})
    response = Response(method, url, status, response.headers, body)
    chain = (URL,) if url == URL else (URL, url)
    return Outcome(URL, response, chain=chain)


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (200, Verdict.ALIVE),
        (204, Verdict.ALIVE),
        (404, Verdict.DEAD),
        (410, Verdict.DEAD),
        (401, Verdict.BLOCKED),
        (403, Verdict.BLOCKED),
        (429, Verdict.BLOCKED),
        (999, Verdict.BLOCKED),
        (500, Verdict.UNREACHABLE),
        (503, Verdict.UNREACHABLE),
        (400, Verdict.UNREACHABLE),
    ],
)
def test_status_codes_map_to_verdicts(status: int, verdict: Verdict) -> None:
    assert classify(answer(status))[0] is verdict


@pytest.mark.parametrize(
    ("failure", "verdict"),
    [
        (Failure.DNS_NOT_FOUND, Verdict.DEAD),
        (Failure.REDIRECT_LOOP, Verdict.DEAD),
        (Failure.TOO_MANY_REDIRECTS, Verdict.DEAD),
        (Failure.TIMEOUT, Verdict.UNREACHABLE),
        (Failure.RESET, Verdict.UNREACHABLE),
        (Failure.REFUSED, Verdict.UNREACHABLE),
        (Failure.TLS, Verdict.UNREACHABLE),
        (Failure.DNS_TEMPORARY, Verdict.UNREACHABLE),
        (Failure.POLICY, Verdict.INVALID),
        (Failure.BAD_URL, Verdict.INVALID),
    ],
)
def test_failures_map_to_verdicts(failure: Failure, verdict: Verdict) -> None:
    assert classify(Outcome(URL, failure=failure, detail="x"))[0] is verdict


def test_deep_url_redirected_to_home_is_soft_dead() -> None:
    verdict, detail = classify(answer(200, url="https://news.example/"))
    assert verdict is Verdict.SOFT_DEAD
    assert "home page" in detail


def test_redirect_to_error_page_is_soft_dead() -> None:
    assert classify(answer(200, url="https://news.example/errors/404.html"))[0] is Verdict.SOFT_DEAD


def test_redirect_to_another_article_is_alive() -> None:
    assert (
        classify(answer(200, url="https://news.example/2024/05/story-updated"))[0] is Verdict.ALIVE
    )


def test_not_found_title_is_soft_dead() -> None:
    body = b"<html><head><title>Page not found | News</title></head></html>"
    assert classify(answer(200, body=body))[0] is Verdict.SOFT_DEAD


def test_not_found_heading_is_soft_dead() -> None:
    body = b"<title>News</title><h1>Sorry, this page doesn't exist</h1>"
    assert classify(answer(200, body=body))[0] is Verdict.SOFT_DEAD


def test_sibling_answering_the_same_page_makes_it_soft_dead() -> None:
    body = b"<title>Welcome to News</title>"
    sibling = probe_facts(Response("GET", "https://news.example/2024/zz9", 200, {}, body), NOW)
    assert classify(answer(200, body=body), sibling)[0] is Verdict.SOFT_DEAD
    real = answer(200, body=b"<title>Story of the day</title>")
    assert classify(real, sibling)[0] is Verdict.ALIVE
    honest = probe_facts(Response("GET", "https://news.example/2024/zz9", 404, {}, body), NOW)
    assert classify(answer(200, body=body), honest)[0] is Verdict.ALIVE


def test_cloudflare_challenge_is_blocked_never_dead() -> None:
    outcome = answer(403, cf_mitigated="challenge", server="cloudflare")
    assert classify(outcome)[0] is Verdict.BLOCKED
    challenge_200 = answer(200, body=b"<title>Just a moment...</title>")
    assert classify(challenge_200)[0] is Verdict.BLOCKED


@pytest.mark.parametrize(
    "page",
    [
        b"<html><head><title>Attention Required! | Cloudflare</title>",
        b"<script src='/cdn-cgi/challenge-platform/h/b/orchestrate/jsch/v1'></script>",
        b"<p>DDoS-Guard</p>",
        b"<p>CHECKING YOUR BROWSER before accessing</p>",
        b"<iframe src='https://geo.Captcha-Delivery.com/captcha/'></iframe>",
    ],
)
def test_a_challenge_marker_counts_in_any_case_in_the_pages_head(page: bytes) -> None:
    head = b"<!doctype html>" + b" " * 1000 + page
    assert bot_wall(Response("GET", URL, 200, {}, head)) == "bot challenge page"
    late = b"<!doctype html>" + b"<p>an article</p>" * 2000 + page  # beyond the first 16 KiB
    assert bot_wall(Response("GET", URL, 200, {}, late)) is None


def test_bot_wall_is_not_claimed_for_an_ordinary_404() -> None:
    assert bot_wall(Response("GET", URL, 404, {"server": "nginx"}, b"Not Found")) is None
