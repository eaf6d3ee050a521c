"""Tests of the fake Wayback Machine (tests/fakes/wayback.py) itself: the scenario fixtures of
spec 6.8 plus the details archive code will rely on."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import pytest

from tests.fakes.wayback import (
    BLOCKED_ERROR,
    DEFAULT_ACCOUNT,
    ROBOTS_ERROR,
    Account,
    FakeWayback,
    FakeWaybackConfig,
    Fault,
    SpnOutcome,
    canonical_key,
    serve_fake_wayback,
    ts_of,
)

AUTH = {"Authorization": f"LOW {DEFAULT_ACCOUNT}", "Accept": "application/json"}
URL = "https://www.example.com/page"
TS = "20240101120000"


@asynccontextmanager
async def connect(fake: FakeWayback) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=fake.app)
    async with httpx.AsyncClient(transport=transport, base_url="https://web.archive.org") as c:
        yield c


@pytest.fixture
def fake() -> FakeWayback:
    return FakeWayback()


@pytest.fixture
async def client(fake: FakeWayback) -> AsyncIterator[httpx.AsyncClient]:
    async with connect(fake) as c:
        yield c


async def cdx(client: httpx.AsyncClient, url: str, **params: str | int) -> httpx.Response:
    return await client.get("/cdx/search/cdx", params={"url": url, "output": "json", **params})


async def submit(client: httpx.AsyncClient, url: str, **options: str) -> httpx.Response:
    return await client.post("/save", data={"url": url, **options}, headers=AUTH)


async def status(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    r = await client.get(f"/save/status/{job_id}")
    assert r.status_code == 200
    body: dict[str, Any] = r.json()
    return body


# --------------------------------------------------------------------------- 6.8 scenarios


async def test_exact_capture_is_confirmed_by_cdx_and_replay(fake, client):
    fake.add_capture(URL, TS, orig_headers={"Server": "nginx"}, body=b"<p>hello</p>")
    r = await cdx(
        client,
        "http://example.com/page",
        fl="timestamp,original,statuscode",
        **{"from": TS, "to": TS},
    )
    assert r.json() == [["timestamp", "original", "statuscode"], [TS, URL, "200"]]

    r = await client.get(f"/web/{TS}id_/{URL}")
    assert r.status_code == 200
    assert r.headers["memento-datetime"] == "Mon, 01 Jan 2024 12:00:00 GMT"
    assert f'<https://web.archive.org/web/{TS}/{URL}>; rel="memento"' in r.headers["link"]
    assert 'rel="prev memento"' not in r.headers["link"]
    assert r.headers["x-archive-orig-server"] == "nginx"
    assert r.content == b"<p>hello</p>"


async def test_fabricated_timestamp_redirects_to_the_nearest_capture(fake, client):
    fake.add_capture(URL, "20171124151315")
    fake.add_capture(URL, "20150101000000")
    r = await client.get(f"/web/20171124151310id_/{URL}")
    assert r.status_code == 302
    assert r.headers["location"] == f"https://web.archive.org/web/20171124151315id_/{URL}"
    assert r.headers["x-archive-redirect-reason"] == "found capture at 20171124151315"
    assert "memento-datetime" not in r.headers
    assert r.headers["content-length"] == "0"
    partial = await client.get(f"/web/2017/{URL}")
    assert partial.headers["location"] == f"https://web.archive.org/web/20171124151315/{URL}"

    exact = await cdx(client, URL, **{"from": "20171124151310", "to": "20171124151310"})
    assert exact.json() == []
    nearest = await cdx(
        client, URL, sort="closest", closest="20171124151310", limit=1, fl="timestamp"
    )
    assert nearest.json() == [["timestamp"], ["20171124151315"]]


async def test_never_archived_url_is_empty_everywhere(client):
    assert (await cdx(client, URL)).json() == []
    text = await client.get("/cdx/search/cdx", params={"url": URL})
    assert (text.status_code, text.text) == (200, "")
    replay = await client.get(f"/web/{TS}/{URL}")
    assert replay.status_code == 404
    assert "Hrm. The Wayback Machine has not archived that URL." in replay.text
    avail = await client.get("/wayback/available", params={"url": URL})
    assert avail.json() == {"url": URL, "archived_snapshots": {}}


@pytest.mark.parametrize(("robots", "error"), [(False, BLOCKED_ERROR), (True, ROBOTS_ERROR)])
async def test_blocked_url_is_403_in_cdx_and_excluded_in_replay(fake, client, robots, error):
    fake.add_capture("https://blocked.example/a", TS)
    fake.block("blocked.example", robots=robots)
    r = await cdx(client, "https://blocked.example/a")
    assert r.status_code == 403
    assert r.headers["x-archive-wayback-runtime-error"] == error
    assert r.text == error
    replay = await client.get(f"/web/{TS}id_/https://blocked.example/a")
    assert replay.status_code == 200
    assert "This URL has been excluded from the Wayback Machine." in replay.text
    assert "memento-datetime" not in replay.headers


async def test_spn2_happy_path_pending_then_success(fake, client):
    r = await submit(client, URL, capture_screenshot="1")
    job_id = r.json()["job_id"]
    assert r.json()["url"] == URL
    assert job_id.startswith("spn2-")
    assert (await status(client, job_id))["status"] == "pending"
    user = (await client.get("/save/status/user", params={"_t": "1"}, headers=AUTH)).json()
    assert user == {
        "available": 4,
        "processing": 1,
        "daily_captures": 1,
        "daily_captures_limit": 30000,
    }
    fake.advance(10)
    assert (await status(client, job_id))["status"] == "pending"
    fake.advance(15)
    done = await status(client, job_id)
    assert done["status"] == "success"
    assert done["original_url"] == URL
    assert done["first_archive"] is True
    assert done["http_status"] == 200
    assert done["timestamp"] == ts_of(fake.clock.now() - timedelta(seconds=25))
    assert str(done["screenshot"]).startswith("http://web.archive.org/screenshot/")

    replay = await client.get(f"/web/{done['timestamp']}id_/{done['original_url']}")
    assert replay.status_code == 200
    assert replay.headers["memento-datetime"] == "Tue, 01 Sep 2026 12:00:00 GMT"


async def test_spn2_refuses_anonymous_and_unknown_keys(client):
    r = await client.post("/save", data={"url": URL})
    assert r.status_code == 401
    assert "You need to be logged in to use Save Page Now." in r.text
    bad = await client.post("/save", data={"url": URL}, headers={"Authorization": "LOW x:y"})
    assert bad.status_code == 401
    lowercase = {**AUTH, "Authorization": f"low {DEFAULT_ACCOUNT}"}
    lower = await client.post("/save", data={"url": URL}, headers=lowercase)
    assert "job_id" in lower.json()
    assert (await client.get("/save/status/user")).status_code == 401


async def test_spn2_submit_errors_come_back_as_200():
    fake = FakeWayback(FakeWaybackConfig(per_url_daily=2))
    async with connect(fake) as client:
        invalid = await submit(client, "not a url")
        assert invalid.status_code == 200
        assert invalid.json() == {
            "message": "not a url URL syntax is not valid.",
            "status": "error",
            "status_ext": "error:invalid-url-syntax",
        }
        for _ in range(2):
            assert "job_id" in (await submit(client, URL, if_not_archived_within="0")).json()
        capped = (await submit(client, URL, if_not_archived_within="0")).json()
        assert capped["status_ext"] == "error:too-many-daily-captures"
        assert "already captured 2 times today" in capped["message"]
        assert "job_id" not in capped


async def test_spn2_account_gates_session_limit_daily_cap_and_rate():
    config = FakeWaybackConfig(
        accounts={DEFAULT_ACCOUNT: Account(daily_limit=2, per_minute=3, concurrent=1)}
    )
    fake = FakeWayback(config)
    async with connect(fake) as client:
        assert "job_id" in (await submit(client, "https://a.example/")).json()
        busy = (await submit(client, "https://b.example/")).json()
        assert busy["status_ext"] == "error:user-session-limit"
        fake.advance(30)
        assert "job_id" in (await submit(client, "https://c.example/")).json()
        fake.advance(30)
        daily = (await submit(client, "https://d.example/")).json()
        assert daily == {
            "status": "error",
            "message": "You cannot make more than 2 captures per day",
        }
        assert "per day" in (await submit(client, "https://e.example/")).json()["message"]
        limited = await submit(client, "https://f.example/")  # 4th in a minute of 3
        assert limited.status_code == 429
        assert limited.headers["x-ts"] == "429"


async def test_spn2_job_errors_at_status(fake, client):
    fake.script_spn("https://gone.example/", SpnOutcome(http_status=404))
    fake.script_spn("https://down.example/", SpnOutcome.error("no-captures"))
    fake.script_spn("https://odd.example/", SpnOutcome.error("error:brand-new", "New thing"))
    fake.script_spn("https://kept.example/", SpnOutcome(http_status=404))
    urls = ("https://gone.example/", "https://down.example/", "https://odd.example/")
    jobs = {u: (await submit(client, u)).json()["job_id"] for u in urls}
    kept = (await submit(client, "https://kept.example/", capture_all="1")).json()["job_id"]
    fake.advance(21)
    codes = {}
    for url, job_id in jobs.items():
        body = await status(client, job_id)
        assert body["status"] == "error"
        assert body["resources"] == []
        assert "exception" in body
        codes[url] = (body["status_ext"], body["message"])
    assert codes["https://gone.example/"][0] == "error:not-found"
    assert codes["https://down.example/"][0] == "error:no-captures"
    assert codes["https://odd.example/"] == ("error:brand-new", "New thing")
    ok = await status(client, kept)
    assert (ok["status"], ok["http_status"]) == ("success", 404)
    row = (await cdx(client, "https://kept.example/", fl="statuscode")).json()
    assert row == [["statuscode"], ["404"]]


async def test_spn2_recent_capture_returns_the_same_job_and_a_message(fake, client):
    first = (await submit(client, URL)).json()["job_id"]
    fake.advance(120)
    again = (await submit(client, URL)).json()
    assert again["job_id"] == first
    assert again["message"].startswith("The same snapshot had been made 2 minutes ago.")
    assert len(fake.captures_of(URL)) == 1
    assert (await status(client, first))["status"] == "success"

    ten_minutes_ago = ts_of(fake.clock.now() - timedelta(minutes=10))
    seeded = fake.add_capture("https://seeded.example/", ten_minutes_ago)
    reply = (await submit(client, "https://seeded.example/")).json()
    assert "10 minutes ago" in reply["message"]
    assert (await status(client, reply["job_id"]))["timestamp"] == seeded.timestamp


async def test_fresh_capture_is_invisible_until_index_lag_passes():
    fake = FakeWayback(FakeWaybackConfig(index_lag=3600))
    fake.add_capture(URL, "20200101000000")
    async with connect(fake) as client:
        job_id = (await submit(client, URL)).json()["job_id"]
        fake.advance(25)
        ts = (await status(client, job_id))["timestamp"]
        assert (await cdx(client, URL, **{"from": ts, "to": ts})).json() == []
        replay = await client.get(f"/web/{ts}id_/{URL}")
        assert replay.headers["x-archive-redirect-reason"] == "found capture at 20200101000000"
        fake.advance(3600)
        assert len((await cdx(client, URL, **{"from": ts, "to": ts})).json()) == 2
        assert (await client.get(f"/web/{ts}id_/{URL}")).status_code == 200

        delayed = (await submit(client, "https://slow.example/", delay_wb_availability="1")).json()
        fake.advance(25)
        assert (await status(client, delayed["job_id"]))["status"] == "success"
        fake.advance(3600)  # past index_lag, but delay_wb_availability means about 12 h
        assert (await cdx(client, "https://slow.example/")).json() == []
        fake.advance(12 * 3600 - 3600)
        assert len((await cdx(client, "https://slow.example/")).json()) == 2


@pytest.mark.parametrize("retry_after", [None, 60, "http-date"])
async def test_rate_limit_429_then_cooldown(retry_after):
    config = FakeWaybackConfig(rate_limits={"cdx": 2}, retry_after=retry_after)
    fake = FakeWayback(config)
    async with connect(fake) as client:
        assert [(await cdx(client, URL)).status_code for _ in range(2)] == [200, 200]
        r = await cdx(client, URL)
        assert r.status_code == 429
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["x-ts"] == "429"
        assert "memento-datetime" not in r.headers
        assert "Too Many Requests" in r.text
        if retry_after is None:
            assert "retry-after" not in r.headers
        elif retry_after == 60:
            assert r.headers["retry-after"] == "60"
        else:
            when = parsedate_to_datetime(r.headers["retry-after"])
            assert when == fake.clock.now() + timedelta(seconds=60)
        fake.advance(61)
        assert (await cdx(client, URL)).status_code == 200


async def test_requests_answered_with_429_still_count():
    fake = FakeWayback(FakeWaybackConfig(rate_limits={"cdx": 2}))
    async with connect(fake) as client:
        for _ in range(2):
            await cdx(client, URL)
        for step in (50, 5):
            fake.advance(step)
            assert (await cdx(client, URL)).status_code == 429
        fake.advance(6)  # the first two have left the window; the two 429'd ones have not
        assert (await cdx(client, URL)).status_code == 429
        other = await client.get(
            "/cdx/search/cdx", params={"url": URL}, headers={"X-Fake-Client": "someone-else"}
        )
        assert other.status_code == 200
        fake.advance(60)
        assert (await cdx(client, URL)).status_code == 200


async def test_ignoring_429s_escalates_to_dropped_connections():
    fake = FakeWayback(FakeWaybackConfig(rate_limits={"cdx": 1}))
    async with connect(fake) as client:
        for block_s in (3600, 7200):  # a second offence doubles the block
            assert (await cdx(client, URL)).status_code == 200
            for step in (1, 30, 31):  # still hammering 61 s after the first 429
                fake.advance(step)
                assert (await cdx(client, URL)).status_code == 429
            with pytest.raises(httpx.RemoteProtocolError):
                await cdx(client, URL)
            with pytest.raises(httpx.RemoteProtocolError):  # the firewall blocks everything
                await client.get(f"/web/{TS}/{URL}")
            assert fake.requests()[-1].status is None
            fake.advance(block_s - 1)
            with pytest.raises(httpx.RemoteProtocolError):
                await cdx(client, URL)
            fake.advance(1)


async def test_spn2_post_reports_523_but_the_capture_still_happens(fake, client):
    fake.add_fault(r"^/save$", Fault("succeed_but_report_error"))
    r = await submit(client, URL)
    assert r.status_code == 523
    assert (await cdx(client, URL)).json() == []
    fake.advance(21)
    rows = (await cdx(client, URL, fl="original")).json()
    assert rows == [["original"], [URL]]
    again = (await submit(client, URL)).json()
    assert "The same snapshot had been made" in again["message"]


async def test_archived_redirect_chain_and_archived_429(fake, client):
    fake.add_capture(
        "http://example.com/old",
        "20200101000000",
        statuscode="301",
        redirect_to="https://example.com/new",
        body=b"",
    )
    fake.add_capture("https://example.com/new", "20200101000003")
    r = await client.get("/web/20200101000000id_/http://example.com/old")
    assert r.status_code == 301
    assert "memento-datetime" in r.headers
    assert (
        r.headers["location"]
        == "https://web.archive.org/web/20200101000000id_/https://example.com/new"
    )
    hop = await client.get(r.headers["location"])
    assert hop.status_code == 302
    assert "memento-datetime" not in hop.headers
    final = await client.get(hop.headers["location"])
    assert final.status_code == 200
    assert final.headers["memento-datetime"] == "Wed, 01 Jan 2020 00:00:03 GMT"
    view = await client.get("/web/20200101000000/http://example.com/old")
    assert view.status_code == 200
    assert "Got an HTTP 301 response at crawl time" in view.text

    fake.add_capture("https://reddit.example/r/x", TS, statuscode="429")
    archived = await client.get(f"/web/{TS}id_/https://reddit.example/r/x")
    assert archived.status_code == 429
    assert archived.headers["memento-datetime"] == "Mon, 01 Jan 2024 12:00:00 GMT"


# --------------------------------------------------------------------------- details


def test_canonical_key_ignores_scheme_www_port_fragment_and_query_order():
    assert canonical_key("https://www.Example.com:443/Page?b=2&a=1#top") == (
        "com,example)/page?a=1&b=2"
    )
    assert canonical_key("http://www2.example.com") == "com,example)/"
    assert canonical_key("example.com:8080/x") == "com,example:8080)/x"


async def test_availability_shape_jsonp_and_v2(fake, client):
    fake.add_capture(URL, "20130919044612")
    fake.add_capture(URL, "20200101000000", statuscode="404")
    r = await client.get("/wayback/available", params={"url": URL, "timestamp": "2013"})
    assert r.json() == {
        "url": URL,
        "timestamp": "2013",
        "archived_snapshots": {
            "closest": {
                "status": "200",
                "available": True,
                "timestamp": "20130919044612",
                "url": f"http://web.archive.org/web/20130919044612/{URL}",
            }
        },
    }
    latest = (await client.get("/wayback/available", params={"url": URL})).json()
    assert latest["archived_snapshots"]["closest"]["timestamp"] == "20200101000000"
    assert "timestamp" not in latest
    jsonp = await client.get("/wayback/available", params={"url": URL, "callback": "cb"})
    assert jsonp.text.startswith("cb({") and jsonp.headers["content-type"].startswith(
        "application/javascript"
    )
    assert (await client.get("/wayback/available")).status_code == 400
    body = f"url={URL}&timestamp=20210101000000&closest=before&statuscodes=200&tag=t1\n"
    v2 = await client.post("/wayback/available", content=body, headers={"Wayback-Api-Version": "2"})
    [result] = v2.json()["results"]
    assert result["tag"] == "t1"
    assert result["archived_snapshots"]["closest"]["timestamp"] == "20130919044612"


async def test_availability_can_be_spuriously_empty():
    fake = FakeWayback(FakeWaybackConfig(spurious_empty_rate=1.0))
    fake.add_capture(URL, TS)
    async with connect(fake) as client:
        r = await client.get("/wayback/available", params={"url": URL})
        assert r.json()["archived_snapshots"] == {}
        assert len((await cdx(client, URL)).json()) == 2


async def test_cdx_filters_collapse_limit_offset_and_padding(fake, client):
    for ts, code in [
        ("20200101000000", "200"),
        ("20200101050000", "200"),
        ("20200102000000", "404"),
        ("20210101000000", "301"),
    ]:
        fake.add_capture(URL, ts, statuscode=code)

    async def stamps(**params: str | int) -> list[str]:
        rows = (await cdx(client, URL, fl="timestamp", **params)).json()
        return [r[0] for r in rows[1:]]

    assert await stamps(filter="statuscode:2") == []
    assert await stamps(filter="statuscode:2..") == ["20200101000000", "20200101050000"]
    assert await stamps(filter="!statuscode:200") == ["20200102000000", "20210101000000"]
    assert await stamps(collapse="timestamp:8") == [
        "20200101000000",
        "20200102000000",
        "20210101000000",
    ]
    assert await stamps(limit=-1) == ["20210101000000"]
    assert await stamps(offset=1, limit=1) == ["20200101050000"]
    assert await stamps(**{"from": "2020", "to": "202001"}) == [
        "20200101000000",
        "20200101050000",
        "20200102000000",
    ]
    assert await stamps(sort="reverse", limit=1) == ["20210101000000"]
    bad = await cdx(client, URL, fl="nonsense")
    assert bad.status_code == 400
    assert (await cdx(client, URL, page=0)).status_code == 400


async def test_cdx_text_output_resume_key_matchtypes_and_gzip(fake, client):
    fake.add_capture("https://example.com/a", "20200101000000")
    fake.add_capture("https://example.com/b", "20200101000000")
    fake.add_capture("https://sub.example.com/c", "20200101000000")
    r = await client.get(
        "/cdx/search/cdx",
        params={"url": "example.com/*", "fl": "original", "limit": 1, "showResumeKey": "true"},
    )
    assert r.headers["content-type"] == "text/plain;charset=UTF-8"
    assert r.headers["content-encoding"] == "gzip"
    lines = r.text.split("\n")
    assert lines[:2] == ["https://example.com/a", ""]
    rest = await client.get(
        "/cdx/search/cdx", params={"url": "example.com/*", "fl": "original", "resumeKey": lines[2]}
    )
    assert rest.text == "https://example.com/b\n"
    j = (await cdx(client, "example.com/*", fl="original", limit=1, showResumeKey="true")).json()
    assert j[-2] == [] and len(j[-1]) == 1
    domain = await cdx(client, "*.example.com", fl="original")
    assert len(domain.json()) == 4
    plain = await client.get("/cdx/search/cdx", params={"url": "example.com/a", "gzip": "false"})
    assert "content-encoding" not in plain.headers


async def test_cdx_duplicate_rows_and_revisits():
    fake = FakeWayback(FakeWaybackConfig(duplicate_rows=3))
    fake.add_capture(URL, TS, revisit=True)
    async with connect(fake) as client:
        rows = (await cdx(client, URL, fl="timestamp,mimetype,statuscode")).json()
        assert rows[1:] == [[TS, "warc/revisit", "-"]] * 3
        resolved = (
            await cdx(client, URL, fl="statuscode", resolveRevisits="true", collapse="digest")
        ).json()
        assert resolved == [["statuscode"], ["200"]]


async def test_timegate_and_replay_lagging_behind_cdx():
    fake = FakeWayback(FakeWaybackConfig(replay_lag=600))
    fake.add_capture(URL, "20200101000000")
    async with connect(fake) as client:
        gate = await client.get(f"/web/{URL}")
        assert gate.headers["location"] == f"https://web.archive.org/web/20200101000000/{URL}"
        job_id = (await submit(client, URL)).json()["job_id"]
        fake.advance(21)
        ts = (await status(client, job_id))["timestamp"]
        assert len((await cdx(client, URL, **{"from": ts})).json()) == 2
        stale = await client.get(f"/web/{ts}id_/{URL}")
        assert stale.headers["location"].startswith("https://web.archive.org/web/20200101000000")
        fake.advance(600)
        assert (await client.get(f"/web/{ts}id_/{URL}")).status_code == 200


async def test_spn2_status_edges(fake, client):
    missing = await client.get("/save/status/spn2-nope")
    assert (missing.status_code, missing.json()) == (404, {"message": "job not found"})
    job_id = (await submit(client, URL)).json()["job_id"]
    many = await client.post("/save/status", data={"job_ids": f"{job_id},spn2-nope"})
    assert [b.get("status") for b in many.json()] == ["pending", None]
    fake.advance(20 + 3601)
    assert (await client.get(f"/save/status/{job_id}")).status_code == 404
    assert (await client.get("/save/status/system")).json() == {"status": "ok"}
    assert (await client.get(f"/save/{URL}")).status_code == 429
    html = await client.post(
        "/save",
        data={"url": "https://x.example/"},
        headers={"Authorization": f"LOW {DEFAULT_ACCOUNT}"},
    )
    assert 'spn.watchJob("spn2-' in html.text


async def test_faults_are_consumed_in_order(fake, client):
    fake.add_capture(URL, TS)
    fake.add_fault(r"^/wayback/", Fault(status=503), Fault("malformed_json"), Fault("html_200"))
    first = await client.get("/wayback/available", params={"url": URL})
    assert first.status_code == 503
    second = await client.get("/wayback/available", params={"url": URL})
    assert second.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        second.json()
    third = await client.get("/wayback/available", params={"url": URL})
    assert third.headers["content-type"].startswith("text/html")
    fourth = await client.get("/wayback/available", params={"url": URL})
    assert fourth.json()["archived_snapshots"]["closest"]["timestamp"] == TS
    assert [r.status for r in fake.requests(family="availability")] == [503, 200, 200, 200]


async def test_http_control_endpoints(fake, client):
    seed = {
        "captures": [{"original": URL, "timestamp": TS, "body": "hi"}],
        "blocked": ["b.example"],
    }
    assert (await client.post("/__fake__/captures", json=seed)).json() == {"captures": 1}
    await client.post(
        "/__fake__/faults",
        json={"path_regex": "^/cdx", "responses": [{"kind": "status", "status": 520}]},
    )
    await client.post(
        "/__fake__/spn",
        json={"url": "https://s.example/", "outcomes": [{"status_ext": "error:blocked-url"}]},
    )
    assert (await cdx(client, URL)).status_code == 520
    assert (await cdx(client, "b.example/x")).status_code == 403
    now = (await client.post("/__fake__/clock", json={"advance": 60})).json()["now"]
    assert now == ts_of(fake.clock.now())
    log = (await client.get("/__fake__/requests")).json()
    assert [(e["path"], e["status"]) for e in log] == [
        ("/cdx/search/cdx", 520),
        ("/cdx/search/cdx", 403),
    ]
    job = (await submit(client, "https://s.example/")).json()["job_id"]
    fake.advance(21)
    assert (await status(client, job))["status_ext"] == "error:blocked-url"
    await client.post("/__fake__/reset")
    assert fake.captures == [] and fake.requests() == []
    bad = await client.post("/__fake__/faults", json={"responses": []})
    assert bad.status_code == 400


async def test_loopback_server_serves_drops_resets_and_delays():
    fake = FakeWayback()
    fake.add_capture(URL, TS)
    fake.add_fault("^/cdx", Fault("drop"), Fault("reset"), Fault("delay", delay_s=5))
    with serve_fake_wayback(fake) as base:
        assert base.startswith("http://127.0.0.1:")
        timeout = httpx.Timeout(10.0, read=0.3)  # a loaded machine may be slow to accept
        async with httpx.AsyncClient(base_url=base, trust_env=False, timeout=timeout) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await cdx(client, URL)
            with pytest.raises(httpx.RemoteProtocolError):
                await cdx(client, URL)
            with pytest.raises(httpx.ReadTimeout):
                await cdx(client, URL)
            r = await cdx(client, URL, fl="timestamp")
            assert r.json() == [["timestamp"], [TS]]
            replay = await client.get(f"/web/{TS}id_/{URL}")
            assert replay.headers["memento-datetime"] == "Mon, 01 Jan 2024 12:00:00 GMT"
    assert [r.status for r in fake.requests()] == [None, None, 200, 200, 200]


async def test_spn2_rate_mode_delay_anonymous_and_cookie_auth():
    config = FakeWaybackConfig(
        spn_rate_mode="delay",
        allow_anonymous=True,
        anonymous=Account(daily_limit=1, per_minute=4, concurrent=5),
        accounts={"u:sig": Account(per_minute=1)},
    )
    fake = FakeWayback(config)
    accept = {"Accept": "application/json"}
    async with connect(fake) as client:

        async def post(url: str) -> dict[str, Any]:
            r = await client.post("/save", data={"url": url}, headers=accept)
            body: dict[str, Any] = r.json()
            return body

        client.cookies.update({"logged-in-user": "u", "logged-in-sig": "sig"})
        assert "message" not in await post("https://a.example/")
        fake.advance(10)
        delayed = await post("https://b.example/")
        assert delayed["message"] == "Your capture will begin in 50s."
        fake.advance(20 + 30)
        assert (await status(client, delayed["job_id"]))["status"] == "pending"
        fake.advance(50)
        assert (await status(client, delayed["job_id"]))["status"] == "success"
        client.cookies.clear()
        assert "job_id" in await post("https://c.example/")
        refused = await post("https://d.example/")
        assert "daily not-logged-in captures limit of (1,)" in refused["message"]


@pytest.mark.parametrize(
    ("system", "code", "body"),
    [("ok", 200, '{"status":"ok"}'), ("overloaded", 200, "overloaded"), ("critical", 502, "")],
)
async def test_spn2_system_status(system, code, body):
    fake = FakeWayback(FakeWaybackConfig(system_status=system))
    async with connect(fake) as client:
        r = await client.get("/save/status/system")
        assert r.status_code == code
        assert body in r.text


async def test_legacy_save_modes():
    fake = FakeWayback(FakeWaybackConfig(legacy_save="legacy2020"))
    async with connect(fake) as client:
        r = await client.get(f"/save/{URL}")
        ts = ts_of(fake.clock.now())
        assert (r.status_code, r.headers["x-page-cache"]) == (200, "MISS")
        assert r.headers["content-location"] == f"/web/{ts}/{URL}"
        assert f'<https://web.archive.org/web/{ts}/{URL}>; rel="memento"' in r.headers["link"]
        fake.advance(60)
        assert (await client.get(f"/save/{URL}")).headers["x-page-cache"] == "HIT"
    dead = FakeWayback(FakeWaybackConfig(legacy_save="dead404"))
    async with connect(dead) as client:
        assert (await client.get(f"/save/{URL}")).status_code == 404


# --------------------------------------------------------------------------- reference audit
# Each test names the sections of shared/reference/wayback-api.md whose shapes it pins.


async def test_cdx_revisit_rows_resolve_to_the_capture_they_revisit(fake, client):
    """1b (resolveRevisits), 4 step 2, 6.3: a revisit is warc/revisit and "-" until resolved,
    and then shows the status and mimetype of the earlier capture with the same digest."""
    fake.add_capture(URL, "20200101000000", statuscode="404", mimetype="text/plain", body=b"x")
    fake.add_capture(URL, "20210101000000", revisit=True, body=b"x")  # own fields: 200 text/html
    fields = "timestamp,mimetype,statuscode"
    rows = (await cdx(client, URL, fl=fields)).json()
    assert rows[1:] == [
        ["20200101000000", "text/plain", "404"],
        ["20210101000000", "warc/revisit", "-"],
    ]
    resolved = (await cdx(client, URL, fl=fields, resolveRevisits="true")).json()
    assert resolved[2] == ["20210101000000", "text/plain", "404"]
    only_404 = await cdx(
        client, URL, fl="timestamp", filter="statuscode:404", resolveRevisits="true"
    )
    assert only_404.json() == [["timestamp"], ["20200101000000"], ["20210101000000"]]
    replay = await client.get(f"/web/20210101000000id_/{URL}")
    assert replay.status_code == 404
    assert replay.headers["memento-datetime"] == "Fri, 01 Jan 2021 00:00:00 GMT"
    assert replay.content == b"x"


async def test_cdx_duplicate_rows_empty_body_and_blocked_403():
    """1b observed (repeated lines, [] when empty, 403 + header), 6.3 duplicate_rows."""
    fake = FakeWayback(FakeWaybackConfig(duplicate_rows=2))
    fake.add_capture(URL, TS)
    fake.block("https://blocked.example/")
    async with connect(fake) as client:
        rows = (await cdx(client, URL, fl="timestamp")).json()
        assert rows == [["timestamp"], [TS], [TS]]
        text = await client.get("/cdx/search/cdx", params={"url": URL, "fl": "timestamp"})
        assert text.text == f"{TS}\n{TS}\n"
        empty = await cdx(client, "https://never.example/")
        assert (empty.status_code, empty.text) == (200, "[]")
        blocked = await cdx(client, "http://www.blocked.example/deep/page")
        assert blocked.status_code == 403
        assert blocked.headers["content-type"].startswith("text/plain")
        assert blocked.headers["x-archive-wayback-runtime-error"] == BLOCKED_ERROR
        assert "AdministrativeAccessControlException" in blocked.text


async def test_cdx_sort_closest_is_by_time_distance_not_by_digits(fake, client):
    """1b (sort=closest), 4 step 3, 6.3: 23:59:59 the day before is 1 s away, although its
    14-digit number is 8,870,000,041 away; 00:01:00 is 60 s away but only 100 apart."""
    for ts in ("20200101120000", "20200101000100", "20191231235959"):
        fake.add_capture(URL, ts)
    target = "20200101000000"
    rows = (await cdx(client, URL, sort="closest", closest=target, fl="timestamp")).json()
    assert [r[0] for r in rows[1:]] == ["20191231235959", "20200101000100", "20200101120000"]
    nearest = await cdx(client, URL, sort="closest", closest=target, limit=1, fl="timestamp")
    assert nearest.json() == [["timestamp"], ["20191231235959"]]
    replay = await client.get(f"/web/{target}id_/{URL}")
    assert replay.headers["x-archive-redirect-reason"] == "found capture at 20191231235959"
    avail = await client.get("/wayback/available", params={"url": URL, "timestamp": target})
    assert avail.json()["archived_snapshots"]["closest"]["timestamp"] == "20191231235959"


async def test_cdx_from_to_padding_filter_limit_and_index_lag(fake, client):
    """1b (from/to padded low/high, full-match filter, limit ±N), 6.3 (visible_at <= now)."""
    for ts in ("20201231235959", "20210101000000", "20210615000000"):
        fake.add_capture(URL, ts)
    fake.add_capture(URL, "20220101000000", visible_at=fake.clock.now() + timedelta(hours=1))

    async def stamps(**params: str | int) -> list[str]:
        rows = (await cdx(client, URL, fl="timestamp", **params)).json()
        return [r[0] for r in rows[1:]]

    assert await stamps(**{"from": "2021"}) == ["20210101000000", "20210615000000"]
    assert await stamps(to="2020") == ["20201231235959"]  # to=2020 → 20201231235959
    assert await stamps(**{"from": "20201231", "to": "20201231"}) == ["20201231235959"]
    assert await stamps(**{"from": "202101", "to": "202101"}) == ["20210101000000"]
    assert await stamps(filter="timestamp:2021") == []  # the whole field must match
    assert await stamps(filter="timestamp:2021.*") == ["20210101000000", "20210615000000"]
    assert await stamps(filter="original:.*/page") == [
        "20201231235959",
        "20210101000000",
        "20210615000000",
    ]
    assert await stamps(limit=2) == ["20201231235959", "20210101000000"]
    assert await stamps(limit=-2) == ["20210101000000", "20210615000000"]
    fake.advance(3600)  # the fourth capture reaches the index
    assert await stamps(limit=-1) == ["20220101000000"]


async def test_url_matching_is_surt_canonical_and_original_is_as_captured(fake, client):
    """1b (SURT matching; compare `original`), 4 step 2, 6.1 canonical key, using the `surt`
    package: scheme, case, www/wwwN, default port, trailing slash, query order and
    percent-encoding are ignored in CDX, availability, replay and SPN2."""
    captured = "http://www.example.com:80/Page/"
    fake.add_capture(captured, TS)
    assert canonical_key(captured) == "com,example)/page"
    for query in ("https://example.com/page", "example.com/PAGE", "https://www2.example.com/page/"):
        rows = (await cdx(client, query, fl="urlkey,original")).json()
        assert rows == [["urlkey", "original"], ["com,example)/page", captured]], query
    avail = await client.get("/wayback/available", params={"url": "https://example.com/page"})
    closest = avail.json()["archived_snapshots"]["closest"]
    assert closest["url"] == f"http://web.archive.org/web/{TS}/{captured}"
    exact = await client.get(f"/web/{TS}id_/example.com/page")  # scheme-less, no www, no slash
    assert exact.status_code == 200
    assert exact.headers["link"].startswith(f'<{captured}>; rel="original"')
    near = await client.get("/web/2024id_/https://EXAMPLE.com/Page")
    assert near.headers["location"] == f"https://web.archive.org/web/{TS}id_/{captured}"

    encoded = "https://x.example/caf%C3%A9/~user?b=2&a=1"
    fake.add_capture(encoded, TS)
    for variant in (
        "http://x.example/caf%c3%a9/%7Euser?a=1&b=2",
        "x.example/café/%7euser/?b=2&a=1",
    ):
        rows = (await cdx(client, variant, fl="original")).json()
        assert rows == [["original"], [encoded]], variant
    replay = await client.get(f"/web/{TS}id_/http://x.example/caf%c3%a9/%7Euser?a=1&b=2")
    assert replay.status_code == 200
    assert "memento-datetime" in replay.headers

    first = (await submit(client, "https://www.spn.example/Doc/")).json()["job_id"]
    fake.advance(60)
    again = (await submit(client, "http://spn.example/doc")).json()
    assert again["job_id"] == first
    assert again["message"].startswith("The same snapshot had been made 1 minutes ago.")


async def test_replay_partial_and_unmatched_timestamps_302_to_the_nearest_by_time(fake, client):
    """1d (shortened timestamps), 4 step 4, 6.4: anything but an exact 14-digit match is a
    302 with Content-Length 0, the reason header, the mode kept and no Memento-Datetime."""
    fake.add_capture(URL, "20240901120000")
    fake.add_capture(URL, "20240903000000")
    cases = {
        "20240902id_": "20240901120000id_",  # 12 h before beats 24 h after
        "2025if_": "20240903000000if_",
        "20240903000001": "20240903000000",  # a second off is still a redirect
        "2024090300": "20240903000000",
    }
    for asked, found in cases.items():
        r = await client.get(f"/web/{asked}/{URL}")
        assert r.status_code == 302, asked
        assert r.headers["location"] == f"https://web.archive.org/web/{found}/{URL}"
        assert r.headers["x-archive-redirect-reason"] == f"found capture at {found[:14]}"
        assert r.headers["content-length"] == "0"
        assert "memento-datetime" not in r.headers
    exact = await client.get(f"/web/20240903000000id_/{URL}")
    assert exact.status_code == 200
    assert exact.headers["memento-datetime"] == "Tue, 03 Sep 2024 00:00:00 GMT"
    assert exact.headers["x-archive-src"]
    assert 'rel="prev memento"' in exact.headers["link"]


async def test_replay_calendar_form_is_an_html_page(fake, client):
    """1d / 4 step 1: /web/<ts>*/<url> is the calendar (search) page: 200 HTML, no memento."""
    fake.add_capture("https://x.org/a", TS)
    for path in (
        "/web/20240327000000*/https://x.org/a",
        "/web/*/x.org/a",
        "/web/2024*/https://never.example/",
        "/web/*/x.org/*",
    ):
        r = await client.get(path)
        assert r.status_code == 200, path
        assert r.headers["content-type"].startswith("text/html")
        assert "memento-datetime" not in r.headers
        assert "location" not in r.headers


async def test_replay_scheme_less_url_and_archived_404_behind_a_redirect(fake, client):
    """1d (archived redirect, archived error pages), 6.4, 6.8 #12: the 3xx replays with its
    Memento-Datetime and a Location at the same ts; following it 302s to the target's nearest
    capture, an archived 404, which has a Memento-Datetime (unlike "Hrm" 404s)."""
    fake.add_capture("https://www.nasa.gov/", "20240101000000")
    r = await client.get("/web/20240101000000/www.nasa.gov/")
    assert r.status_code == 200
    assert "WAYBACK TOOLBAR" in r.text
    hop = await client.get("/web/20240102/www.nasa.gov")
    assert (
        hop.headers["location"]
        == "https://web.archive.org/web/20240101000000/https://www.nasa.gov/"
    )

    fake.add_capture(
        "https://old.example/a", TS, statuscode="301", redirect_to="https://new.example/b", body=b""
    )
    fake.add_capture(
        "https://new.example/b", "20240101120004", statuscode="404", body=b"<p>gone</p>"
    )
    moved = await client.get(f"/web/{TS}id_/https://old.example/a")
    assert moved.status_code == 301
    assert moved.headers["memento-datetime"] == "Mon, 01 Jan 2024 12:00:00 GMT"
    assert moved.headers["location"] == f"https://web.archive.org/web/{TS}id_/https://new.example/b"
    hop = await client.get(moved.headers["location"])
    assert hop.status_code == 302
    assert "memento-datetime" not in hop.headers
    final = await client.get(hop.headers["location"])
    assert final.status_code == 404
    assert final.headers["memento-datetime"] == "Mon, 01 Jan 2024 12:00:04 GMT"
    assert final.content == b"<p>gone</p>"
    never = await client.get(f"/web/{TS}id_/https://new.example/other")
    assert never.status_code == 404
    assert "memento-datetime" not in never.headers


@pytest.mark.parametrize("to_previous", [False, True])
async def test_replay_lagging_capture_redirects_to_the_previous_one(to_previous):
    """1d known anomaly (wayback#210, MKRWW), 6.4 replay_lag_redirect_to_previous: listed by
    CDX but not yet replayable → 302 to the previous capture (else to the nearest one)."""
    fake = FakeWayback(FakeWaybackConfig(replay_lag_redirect_to_previous=to_previous))
    later = fake.clock.now() + timedelta(hours=1)
    fake.add_capture(URL, "20200101000000")
    fake.add_capture(URL, "20240101120000", replay_visible_at=later)
    fake.add_capture(URL, "20240101120005")
    async with connect(fake) as client:
        listed = await cdx(client, URL, **{"from": "20240101120000", "to": "20240101120000"})
        assert len(listed.json()) == 2
        r = await client.get(f"/web/20240101120000id_/{URL}")
        assert r.status_code == 302
        assert "memento-datetime" not in r.headers
        expected = "20200101000000" if to_previous else "20240101120005"
        assert r.headers["x-archive-redirect-reason"] == f"found capture at {expected}"
        fake.advance(3600)
        assert (await client.get(f"/web/20240101120000id_/{URL}")).status_code == 200


async def test_wayback_429_has_no_memento_datetime_but_an_archived_429_does():
    """1d / 4 step 4, 6.7: the fake's own 429 (X-ts: 429, HTML) vs a replayed archived 429."""
    fake = FakeWayback(FakeWaybackConfig(rate_limits={"replay": 1}))
    fake.add_capture("https://reddit.example/r/x", TS, statuscode="429")
    async with connect(fake) as client:
        archived = await client.get(f"/web/{TS}id_/https://reddit.example/r/x")
        assert archived.status_code == 429
        assert archived.headers["memento-datetime"] == "Mon, 01 Jan 2024 12:00:00 GMT"
        limited = await client.get(f"/web/{TS}id_/https://reddit.example/r/x")
        assert limited.status_code == 429
        assert "memento-datetime" not in limited.headers
        assert limited.headers["x-ts"] == "429"
        assert limited.headers["content-type"] == "text/html; charset=utf-8"


@pytest.mark.parametrize(
    ("family", "path", "auth"),
    [
        ("availability", f"/wayback/available?url={URL}", False),
        ("replay", f"/web/{TS}id_/{URL}", False),
        ("cdx", f"/web/timemap/link/{URL}", False),  # timemaps share the CDX pool
        ("spn_status", "/save/status/spn2-nope", False),
        ("spn_user", "/save/status/user", True),
    ],
)
async def test_every_family_has_its_own_sliding_window(family, path, auth):
    """6.7: per family and client, 60 s sliding windows, HTML 429 with X-ts: 429."""
    config = FakeWaybackConfig(
        rate_limits={family: 1}, retry_after=60, escalate_families=frozenset()
    )  # escalation to dropped connections: test_ignoring_429s_escalates_to_dropped_connections
    fake = FakeWayback(config)
    headers = AUTH if auth else {}
    async with connect(fake) as client:
        assert (await client.get(path, headers=headers)).status_code != 429
        fake.advance(30)
        r = await client.get(path, headers=headers)
        assert r.status_code == 429
        assert (r.headers["x-ts"], r.headers["retry-after"]) == ("429", "60")
        assert "<h1>Too Many Requests</h1>" in r.text
        assert "memento-datetime" not in r.headers
        other = {**headers, "X-Fake-Client": "another-client"}
        assert (await client.get(path, headers=other)).status_code != 429
        fake.advance(31)  # the first request left the window; the 429'd one has not
        assert (await client.get(path, headers=headers)).status_code == 429
        fake.advance(30)  # 429'd requests count: polling every 30 s stays limited
        assert (await client.get(path, headers=headers)).status_code == 429
        fake.advance(61)
        assert (await client.get(path, headers=headers)).status_code != 429


async def test_spn2_auth_forms_and_status_with_or_without_auth():
    """1c / 6.5 step 1: LOW in any case, cookies, 401 otherwise; status polls need no auth,
    /save/status/user does."""
    fake = FakeWayback()
    access, secret = DEFAULT_ACCOUNT.split(":")
    async with connect(fake) as client:
        for n, word in enumerate(("LOW", "low", "Low")):
            headers = {"authorization": f"{word} {DEFAULT_ACCOUNT}", "Accept": "application/json"}
            r = await client.post("/save", data={"url": f"https://a{n}.example/"}, headers=headers)
            assert "job_id" in r.json(), word
        cookies = {"logged-in-user": access, "logged-in-sig": secret}
        accept = {"Accept": "application/json"}
        client.cookies.update(cookies)
        by_cookie = await client.post("/save", data={"url": "https://c.example/"}, headers=accept)
        job_id = by_cookie.json()["job_id"]
        assert (await client.get("/save/status/user")).json()["daily_captures"] == 4
        client.cookies.clear()
        client.cookies.update({"logged-in-user": access, "logged-in-sig": "wrong"})
        refused = await client.post("/save", data={"url": "https://d.example/"}, headers=accept)
        assert refused.status_code == 401
        assert "You need to be logged in to use Save Page Now." in refused.text
        client.cookies.clear()
        assert (await client.get("/save/status/user")).status_code == 401
        assert (await client.post("/save", data={"url": URL}, headers=accept)).status_code == 401
        fake.advance(21)
        bare = await client.get(f"/save/status/{job_id}")
        authed = await client.get(f"/save/status/{job_id}", headers=AUTH)
        assert bare.status_code == authed.status_code == 200
        assert bare.json() == authed.json()
        assert bare.json()["status"] == "success"


async def test_spn2_session_limit_shape():
    """1c, 6.5 step 3: HTTP 200, status error, status_ext error:user-session-limit, no job_id."""
    fake = FakeWayback(FakeWaybackConfig(accounts={DEFAULT_ACCOUNT: Account(concurrent=2)}))
    async with connect(fake) as client:
        for url in ("https://a.example/", "https://b.example/"):
            assert "job_id" in (await submit(client, url)).json()
        user = (await client.get("/save/status/user", headers=AUTH)).json()
        assert (user["available"], user["processing"]) == (0, 2)
        busy = await submit(client, "https://c.example/")
        assert busy.status_code == 200
        assert busy.json() == {
            "status": "error",
            "status_ext": "error:user-session-limit",
            "message": "You have already reached the limit of active Save Page Now sessions. "
            "Please wait for a minute and then try again.",
        }
        fake.advance(21)
        assert "job_id" in (await submit(client, "https://c.example/")).json()


async def test_spn2_account_starting_near_its_daily_cap():
    """1c (user status fields, daily cap message), 6.5 step 4 and /save/status/user."""
    config = FakeWaybackConfig(
        accounts={DEFAULT_ACCOUNT: Account(daily_limit=30000, used_today=29998)}
    )
    fake = FakeWayback(config)
    async with connect(fake) as client:

        async def user() -> dict[str, Any]:
            body: dict[str, Any] = (await client.get("/save/status/user", headers=AUTH)).json()
            return body

        assert await user() == {
            "available": 5,
            "processing": 0,
            "daily_captures": 29998,
            "daily_captures_limit": 30000,
        }
        for url in ("https://a.example/", "https://b.example/"):
            assert "job_id" in (await submit(client, url)).json()
        assert (await user())["daily_captures"] == 30000
        capped = await submit(client, "https://c.example/")
        assert capped.status_code == 200
        assert capped.json() == {
            "status": "error",
            "message": "You cannot make more than 30,000 captures per day",
        }  # no status_ext: clients must cope
        fake.advance(24 * 3600)  # a new day: the head start was the first day's
        assert (await user())["daily_captures"] == 0
        assert "job_id" in (await submit(client, "https://c.example/")).json()
        assert (await user())["daily_captures"] == 1


async def test_spn2_per_url_daily_cap_default_message():
    """1c (observed 2026 message), 6.5 step 6: the 5-a-day cap, no job_id."""
    fake = FakeWayback()
    today = ts_of(fake.clock.now())[:8]
    for hour in range(1, 6):
        fake.add_capture(URL, f"{today}{hour:02d}0000")
    async with connect(fake) as client:
        r = await submit(client, "http://example.com/page/")
        assert r.status_code == 200
        assert r.json() == {
            "status": "error",
            "status_ext": "error:too-many-daily-captures",
            "message": "This URL has been already captured 5 times today, which is a daily "
            "limit we have set for that Resource type. Please try again tomorrow. Please email "
            'us at "info@archive.org" if you would like to discuss this more.',
        }
        fake.advance(12 * 3600)  # the next day
        assert "job_id" in (await submit(client, URL)).json()


async def test_spn2_recent_capture_reports_the_earlier_archived_status(fake, client):
    """1c (same job_id + message; its status reports the earlier capture), 6.5 step 7: the
    earlier capture's archived status (301 seeded, 403 via capture_all) is what the status
    body's http_status and the CDX row's statuscode say."""
    moved = "https://moved.example/"
    at = ts_of(fake.clock.now() - timedelta(minutes=3))
    fake.add_capture(moved, at, statuscode="301", redirect_to="https://moved.example/new", body=b"")
    reply = (await submit(client, moved)).json()
    assert reply["message"] == (
        "The same snapshot had been made 3 minutes ago. "
        "You can make new capture of this URL after 1 hour."
    )
    body = await status(client, reply["job_id"])
    assert (body["status"], body["timestamp"], body["http_status"]) == ("success", at, 301)
    assert (await cdx(client, moved, fl="statuscode")).json() == [["statuscode"], ["301"]]

    forbidden = "https://forbidden.example/"
    fake.script_spn(forbidden, SpnOutcome(http_status=403))
    first = (await submit(client, forbidden, capture_all="1")).json()["job_id"]
    fake.advance(21)
    earlier = await status(client, first)
    assert (earlier["status"], earlier["http_status"]) == ("success", 403)
    fake.advance(5 * 60)
    again = (await submit(client, forbidden, capture_all="1")).json()
    assert again["job_id"] == first
    assert again["message"].startswith("The same snapshot had been made 5 minutes ago.")
    later = await status(client, again["job_id"])
    assert (later["timestamp"], later["http_status"]) == (earlier["timestamp"], 403)
    assert (await cdx(client, forbidden, fl="statuscode")).json() == [["statuscode"], ["403"]]
    assert len(fake.captures_of(forbidden)) == 1


async def test_spn2_retryable_status_errors_then_success(fake, client):
    """1c (status_ext codes; IABot's retryable set), 6.5 status errors scripted per URL."""
    codes = ("error:proxy-error", "error:soft-time-limit-exceeded", "error:user-session-limit")
    fake.script_spn(URL, *(SpnOutcome.error(c) for c in codes))
    for code in codes:
        r = await submit(client, URL)
        assert r.status_code == 200
        job_id = r.json()["job_id"]
        assert (await status(client, job_id))["status"] == "pending"
        fake.advance(21)
        body = await status(client, job_id)
        assert (body["status"], body["status_ext"], body["job_id"]) == ("error", code, job_id)
        assert body["resources"] == []
        assert isinstance(body["message"], str) and body["message"]
        assert (await cdx(client, URL)).json() == []
    job_id = (await submit(client, URL)).json()["job_id"]
    fake.advance(21)
    done = await status(client, job_id)
    assert (done["status"], done["http_status"]) == ("success", 200)
    rows = (await cdx(client, URL, fl="timestamp")).json()
    assert rows == [["timestamp"], [done["timestamp"]]]


async def test_spn2_captures_wait_for_index_lag_in_cdx_replay_and_availability():
    """1b (new captures reach the index with a lag), 6.5 index_lag, 6.8 #8."""
    fake = FakeWayback(FakeWaybackConfig(index_lag=600))
    async with connect(fake) as client:
        job_id = (await submit(client, URL)).json()["job_id"]
        fake.advance(21)
        ts = (await status(client, job_id))["timestamp"]
        assert (await cdx(client, URL)).json() == []
        assert (await client.get(f"/web/{ts}id_/{URL}")).status_code == 404
        avail = await client.get("/wayback/available", params={"url": URL})
        assert avail.json()["archived_snapshots"] == {}
        fake.advance(600)
        assert (await cdx(client, URL, fl="timestamp")).json() == [["timestamp"], [ts]]
        assert (await client.get(f"/web/{ts}id_/{URL}")).status_code == 200
