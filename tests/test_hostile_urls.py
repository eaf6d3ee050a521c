"""No single malformed source URL may stop a run: each becomes that source's located
``url-valid`` error (or, met on the wire, an ``invalid`` verdict), and every other event keeps
its normal result. End to end through the CLI (``check``, ``run``, the PR gate) with the
loopback web and the fake Wayback over a socket, plus the network layers' second line of
defence on their own."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest

from tests.conftest import git
from tests.fakes.loopweb import LoopWeb, served_title
from tests.fakes.wayback import FakeClock, FakeWayback, FakeWaybackConfig, serve_fake_wayback
from verifier import urls as urls_module
from verifier.archive.archiver import Archiver, ArchiveRun, ArchiveTask, MemoryArchiveStore
from verifier.archive.wayback import WaybackClient
from verifier.archive.wayback_links import same_capture_target
from verifier.cli import ExitCode, main
from verifier.config import HttpSettings, WaybackSettings
from verifier.errors import FetchError, InvalidHostError, WaybackBadUrl
from verifier.models import ArchiveState
from verifier.urls import MAX_URL_OCTETS, is_web_url, join_url, normalize_url, url_problem
from verifier.web.classify import Failure
from verifier.web.fetch import Fetcher
from verifier.web.fetch_errors import translate
from verifier.web.netpolicy import NetworkPolicy, Resolver

HOSTILE = {
    "empty-label": ("http://a..x/", "empty label"),
    "leading-dot": ("http://.example.com/", "empty label"),
    "64-octet-label": ("http://" + "a" * 64 + ".com/", "label of 64 octets"),
    "long-idn-label": ("http://" + "ä" * 62 + ".com/", "malformed URL"),
    "host-over-253": ("http://" + ".".join(["a" * 60] * 5) + ".com/", "308 octets long"),
    "70-kib-url": ("http://example.com/" + "a" * 70 * 1024, "at most 8,192"),
    "nul": ("http://example.com/a\x00b", "control character"),
    "space": ("http://example.com/a b", "space"),
    "bad-ipv6": ("http://[::1/", "Invalid IPv6 URL"),
    "bad-a-label": ("http://xn--zz.com/", "malformed URL"),
    "bad-port": ("http://example.com:99999/", "malformed URL"),
}
"""Name → (URL, what the ``url-valid`` message says)."""

UNSENDABLE = [
    name for name in HOSTILE if name not in ("space", "bad-port")
]  # httpx would send these two (encoding the space, a port it accepts): not for the fetcher


# -- the one validity check ------------------------------------------------------------------


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_url_is_not_a_web_url(name: str) -> None:
    url, says = HOSTILE[name]
    problem = url_problem(url)
    assert problem is not None and says in problem
    assert not is_web_url(url)
    assert normalize_url(url)  # still a stable key: duplicate-url and fold do not raise


@pytest.mark.parametrize(
    "url",
    [
        "https://www.justice.gov/opa/pr/example",
        "http://exämple.com/straße?q=ä",  # IDNA host, non-ASCII path
        "http://[::1]:8080/x",
        "https://example.com./absolute-name",
        "http://2852039166/",  # numeric IPv4
        "http://a_b.example.com/",  # underscores occur in real host names
        "http://" + "a" * 63 + ".com/",
        "http://" + ".".join(["a" * 62] * 4) + "/",  # 251 octets
        "http://example.com/" + "a" * (MAX_URL_OCTETS - len("http://example.com/")),
    ],
)
def test_real_world_urls_stay_valid(url: str) -> None:
    assert url_problem(url) is None


def test_httpx_accepts_every_url_the_fast_path_passes_without_asking_it() -> None:
    """The claim behind ``urls._PLAIN``: httpx parses such a URL without raising and sends
    its host as written (lower-cased). Random URLs over the characters the pattern allows."""
    rng = random.Random(9)
    host_chars = "aZ09_.-x"
    rest_chars = "".join(map(chr, range(0x21, 0x7F))) + "é–ü😀\u00a0"
    checked = 0
    for _ in range(5000):
        host = "".join(rng.choice(host_chars) for _ in range(rng.randint(1, 12)))
        port = rng.choice(["", ":0", ":8080", ":65535", ":99999"])
        rest = "".join(rng.choice(rest_chars) for _ in range(rng.randint(0, 20)))
        url = f"{rng.choice(['http', 'HTTPS'])}://{host}{port}{rng.choice(['/', '?', '#'])}{rest}"
        plain = urls_module._PLAIN.fullmatch(url)
        if plain is None or urls_module._NEEDS_HTTPX_HOST.search(plain["host"]):
            continue
        try:
            _ = urlsplit(url).port
        except ValueError:
            continue  # url_problem refuses it before the fast path
        if any(char.isspace() for char in url):
            continue  # likewise
        parsed = httpx.URL(url)
        _ = parsed.host
        assert parsed.raw_host.decode("ascii") == plain["host"].lower()
        checked += 1
    assert checked > 1000


def test_url_just_over_the_cap_is_refused() -> None:
    url = "http://example.com/" + "a" * (MAX_URL_OCTETS + 1 - len("http://example.com/"))
    assert "8,193 octets" in (url_problem(url) or "")


def test_join_url_gives_none_for_a_location_that_does_not_parse() -> None:
    assert join_url("http://x.org/a/b", "../c") == "http://x.org/c"
    assert join_url("http://x.org/", "http://[::1/") is None


# -- the network layers, as a second line of defence -----------------------------------------


def _refusing_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(500)

    return httpx.MockTransport(handler)


@pytest.mark.parametrize("name", UNSENDABLE)
async def test_fetcher_turns_an_unsendable_url_into_bad_url_without_sending(name: str) -> None:
    seen: list[httpx.Request] = []
    fetcher = Fetcher(HttpSettings(), NetworkPolicy(), transport=_refusing_transport(seen))
    try:
        with pytest.raises(FetchError) as caught:
            await fetcher.exchange("GET", HOSTILE[name][0])
    finally:
        await fetcher.aclose()
    assert caught.value.failure is Failure.BAD_URL
    assert seen == []


async def test_resolver_refuses_a_name_the_idna_codec_cannot_encode() -> None:
    with pytest.raises(InvalidHostError, match="empty label"):
        await Resolver().resolve("a..x", 80)


def test_idna_error_from_below_is_translated_to_bad_url() -> None:
    with pytest.raises(UnicodeError) as idna:
        "a..x".encode("idna")
    error = httpx.ConnectError("cannot connect")
    error.__cause__ = idna.value
    assert translate(error).failure is Failure.BAD_URL


async def test_wayback_client_refuses_a_url_no_query_can_carry_without_asking() -> None:
    seen: list[httpx.Request] = []
    client = WaybackClient(
        WaybackSettings(cdx_url="http://127.0.0.1:9/cdx"), "ua", _refusing_transport(seen)
    )
    try:
        with pytest.raises(WaybackBadUrl):
            await client.cdx("http://example.com/" + "a" * 70 * 1024)
    finally:
        await client.aclose()
    assert seen == []


async def test_wayback_client_does_not_ask_about_a_url_no_row_could_match() -> None:
    seen: list[httpx.Request] = []
    client = WaybackClient(
        WaybackSettings(cdx_url="http://127.0.0.1:9/cdx"), "ua", _refusing_transport(seen)
    )
    try:
        with pytest.raises(WaybackBadUrl, match="index can match"):
            await client.cdx("http://[::1/")
    finally:
        await client.aclose()
    assert seen == []


async def test_cdx_400_is_about_the_url_not_an_archive_outage() -> None:
    client = WaybackClient(
        WaybackSettings(cdx_url="http://127.0.0.1:9/cdx"),
        "ua",
        httpx.MockTransport(lambda request: httpx.Response(400, text="bad url")),
    )
    try:
        with pytest.raises(WaybackBadUrl, match="HTTP 400"):
            await client.cdx("http://example.com/x")
    finally:
        await client.aclose()


async def test_archiver_records_an_unaskable_url_as_unverified_not_as_an_outage() -> None:
    seen: list[httpx.Request] = []
    settings = WaybackSettings(cdx_url="http://127.0.0.1:9/cdx")
    client = WaybackClient(settings, "ua", _refusing_transport(seen))
    archiver = Archiver(settings, client, MemoryArchiveStore())
    run = ArchiveRun()

    async def alive(url: str) -> None:
        return None

    try:
        info = await archiver.preserve(
            ArchiveTask("http://example.com/" + "a" * 70 * 1024), alive, run
        )
    finally:
        await client.aclose()
    assert info.state is ArchiveState.UNVERIFIED
    assert run.archive_down is None
    assert seen == []


def test_a_cdx_row_whose_url_does_not_parse_is_no_capture() -> None:
    assert not same_capture_target("http://[::1/", "http://example.com/")
    assert same_capture_target("https://www.example.com/a/", "http://example.com/a")


# -- end to end ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Net:
    """The loopback web and the fake Wayback (over a real socket at ``wayback``)."""

    web: LoopWeb
    fake: FakeWayback
    wayback: str


@pytest.fixture(scope="module")
def net() -> Iterator[Net]:
    fake = FakeWayback(
        FakeWaybackConfig(
            rate_limits=dict.fromkeys(("cdx", "replay", "availability", "spn_status", "spn_user"))
        ),
        FakeClock(),
    )
    with LoopWeb(hosts=3).running_in_thread() as web, serve_fake_wayback(fake) as wayback:
        yield Net(web, fake, wayback)


def write_config(root: Path, wayback: str) -> Path:
    """Shipped defaults but for speed and loopback; the Wayback section on (the default)."""
    config = root / "config.toml"
    config.write_text(
        '[paths]\nevents = "events"\nreports = "reports"\n'
        "[http]\nconnect_timeout = 1.0\nattempt_deadline = 2.0\nmin_host_interval = 0.0\n"
        "[http.retry]\nbackoff_base = 0.01\nbackoff_max = 0.05\njitter = 0.0\n"
        '[security]\nallowed_networks = ["127.0.0.0/8"]\n[outage]\nmin_hosts = 5\n'
        f'[wayback]\ncdx_url = "{wayback}/cdx/search/cdx"\nsave_url = "{wayback}/save"\n'
        f'status_url = "{wayback}/save/status"\nrate_window = 1.0\ncdx_per_window = 100\n'
        'poll_timeout = 2.0\n[history]\npath = "history.sqlite3"\n'
    )
    return config


def event_text(event_id: str, urls: list[str]) -> str:
    """An event file; URLs are written as JSON strings, which YAML reads as double-quoted
    scalars (so a NUL arrives as a NUL)."""
    sources = "".join(
        f"- url: {json.dumps(url)}\n  title: {served_title(url) or f'Source {n}'}\n"
        f"  publisher: Publisher {n}\n"
        f"  date: '2021-02-03'\n  tier: 1\n"
        for n, url in enumerate(urls)
    )
    header = f"---\nid: {event_id}\ndate: '{event_id[:10]}'\ntitle: Event\nimportance: 5\n"
    return f"{header}sources:\n{sources}---\nBody.\n"


def url_line(text: str, url: str) -> int:
    return text[: text.index(f"- url: {json.dumps(url)}")].count("\n") + 1


GOOD_ID, HOSTILE_ID = "2021-02-03--good", "2021-02-03--hostile"


def write_events(root: Path, web: LoopWeb, hostile: str, tag: str) -> tuple[Path, int]:
    """A good event and one citing ``hostile`` between two good URLs; returns the folder and
    the line of the hostile URL. ``tag`` keeps each test's URLs its own."""
    events = root / "events"
    events.mkdir(parents=True, exist_ok=True)
    (events / f"{GOOD_ID}.md").write_text(
        event_text(GOOD_ID, [web.url(0, f"/ok/{tag}/a"), web.url(1, f"/ok/{tag}/b")])
    )
    text = event_text(HOSTILE_ID, [web.url(0, f"/ok/{tag}/c"), hostile, web.url(2, f"/ok/{tag}/d")])
    (events / f"{HOSTILE_ID}.md").write_text(text)
    return events, url_line(text, hostile)


def assert_only_the_hostile_source_is_judged(
    reports: dict[str, dict], line: int, says: str
) -> None:
    hostile = reports[HOSTILE_ID]
    assert hostile["result"] == "fail"
    [violation] = hostile["violations"]
    assert (violation["rule"], violation["severity"]) == ("url-valid", "error")
    assert (violation["line"], violation["source_index"]) == (line, 1)
    assert says in violation["message"]
    assert len(violation["message"]) < 400  # a 70 KiB URL is cut, not copied into reports
    verdicts = [source["verdict"] for source in hostile["sources"]]
    assert verdicts == ["alive", None, "alive"]
    good = reports[GOOD_ID]
    assert (good["result"], good["violations"]) == ("pass", [])
    assert [source["verdict"] for source in good["sources"]] == ["alive", "alive"]
    assert all(source["archive"] is not None for source in good["sources"])  # Wayback asked


def assert_wayback_asked_only_about_good_urls(fake: FakeWayback, tag: str, hostile: str) -> None:
    asked = {value for r in fake.requests("cdx") for key, value in r.params if key == "url"}
    assert any(f"/ok/{tag}/a" in url for url in asked)  # the archive stage did run
    assert not {hostile.strip(), normalize_url(hostile)} & asked


@pytest.mark.parametrize("name", HOSTILE)
def test_check_reports_the_hostile_url_on_its_line_and_checks_the_rest(
    name: str, net: Net, tmp_path: Path, capsys
) -> None:
    url, says = HOSTILE[name]
    events, line = write_events(tmp_path, net.web, url, f"check-{name}")
    config = write_config(tmp_path, net.wayback)
    code = main(["--config", str(config), "check", "--format", "json", str(events)])
    output = capsys.readouterr()
    assert code == ExitCode.FAILED, output.err
    reports = {e["event"]["id"]: e for e in json.loads(output.out)["events"]}
    assert_only_the_hostile_source_is_judged(reports, line, says)
    assert_wayback_asked_only_about_good_urls(net.fake, f"check-{name}", url)


@pytest.mark.parametrize("name", HOSTILE)
def test_nightly_run_reports_the_hostile_url_on_its_line_and_checks_the_rest(
    name: str, net: Net, tmp_path: Path, capsys
) -> None:
    url, says = HOSTILE[name]
    _, line = write_events(tmp_path, net.web, url, f"run-{name}")
    config = write_config(tmp_path, net.wayback)
    code = main(["--config", str(config), "run"])
    output = capsys.readouterr()
    assert code == ExitCode.FAILED, output.err
    assert " complete: 2 events (1 pass, 0 warn, 1 fail)" in output.out
    folder = tmp_path / "reports" / "events"
    reports = {
        event_id: json.loads((folder / f"{event_id}.json").read_text())
        for event_id in (GOOD_ID, HOSTILE_ID)
    }
    assert_only_the_hostile_source_is_judged(reports, line, says)
    assert_wayback_asked_only_about_good_urls(net.fake, f"run-{name}", url)


def test_a_redirect_to_an_unsendable_host_is_an_invalid_verdict(
    net: Net, tmp_path: Path, capsys
) -> None:
    hop = net.web.url(1, "/redirect-to?url=" + quote("http://a..x/", safe=""))
    events, line = write_events(tmp_path, net.web, hop, "redirect")
    config = write_config(tmp_path, net.wayback)
    code = main(["--config", str(config), "check", "--format", "json", str(events)])
    output = capsys.readouterr()
    assert code == ExitCode.PASSED, output.err  # invalid only warns (not evidence of death)
    reports = {e["event"]["id"]: e for e in json.loads(output.out)["events"]}
    source = reports[HOSTILE_ID]["sources"][1]
    assert (source["verdict"], source["detail"]) == (
        "invalid",
        "host name 'a..x' has an empty label",
    )
    [violation] = reports[HOSTILE_ID]["violations"]
    assert (violation["rule"], violation["line"]) == ("source-unavailable", line)
    assert reports[GOOD_ID]["result"] == "pass"


def make_repo(root: Path, web: LoopWeb, wayback: str, hostile: str) -> tuple[Path, int]:
    """A repository whose PR adds a source to one event and a hostile URL to another."""
    repo = root / "repo"
    repo.mkdir()
    write_config(repo, wayback)
    events = repo / "events"
    events.mkdir()
    base = [web.url(0, "/ok/gate/base-a"), web.url(1, "/ok/gate/base-b")]
    (events / f"{GOOD_ID}.md").write_text(event_text(GOOD_ID, base))
    (events / f"{HOSTILE_ID}.md").write_text(event_text(HOSTILE_ID, base))
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "base")
    git(repo, "checkout", "-qb", "pr")
    (events / f"{GOOD_ID}.md").write_text(
        event_text(GOOD_ID, [*base, web.url(2, "/ok/gate/new-good")])
    )
    text = event_text(HOSTILE_ID, [base[0], hostile, web.url(2, "/ok/gate/new-beside")])
    (events / f"{HOSTILE_ID}.md").write_text(text)
    git(repo, "commit", "-qam", "pr")
    return repo, url_line(text, hostile)


@pytest.mark.parametrize("name", HOSTILE)
def test_gate_reports_the_hostile_url_on_its_line_and_checks_the_other_new_sources(
    name: str, net: Net, tmp_path: Path, capsys, monkeypatch
) -> None:
    url, says = HOSTILE[name]
    repo, line = make_repo(tmp_path, net.web, net.wayback, url)
    monkeypatch.chdir(repo)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    code = main(["check", "--changed-since", "main", "--format", "json"])
    output = capsys.readouterr()
    assert code == ExitCode.FAILED, output.err
    reports = {e["event"]["id"]: e for e in json.loads(output.out)["events"]}
    hostile = reports[HOSTILE_ID]
    [violation] = hostile["violations"]
    assert (violation["rule"], violation["line"], violation["source_index"]) == (
        "url-valid",
        line,
        1,
    )
    assert says in violation["message"]
    assert hostile["sources"][2]["verdict"] == "alive"  # the new source beside it was checked
    good = reports[GOOD_ID]
    assert (good["result"], good["violations"]) == ("pass", [])
    assert good["sources"][2]["verdict"] == "alive"


@pytest.mark.parametrize(
    "case",
    [
        (
            "https://web.archive.org/web/20210101000000/http://[::1/",
            "fabricated",
            "not a Wayback capture URL",  # the embedded part is no URL
        ),
        (
            "https://web.archive.org/web/20210101000000/http://a..x/",
            "fabricated",
            "not a Wayback capture URL",
        ),
        (
            "https://web.archive.org/web/20210101000000/http://x.com/" + "a" * 70 * 1024,
            "fabricated",
            "another URL",  # judged without sending its 70 KiB anywhere
        ),
    ],
)
def test_hostile_archive_url_is_judged_for_its_source_alone(
    case: tuple[str, str, str], net: Net, tmp_path: Path, capsys
) -> None:
    archive_url, state, detail = case  # the archive link, its record's state and detail
    events, _ = write_events(tmp_path, net.web, net.web.url(1, "/ok/archived/x"), "archived")
    path = events / f"{HOSTILE_ID}.md"
    text = path.read_text().replace(
        "  tier: 1\n", f"  tier: 1\n  archive_url: {json.dumps(archive_url)}\n", 2
    )
    path.write_text(text.replace(f"  archive_url: {json.dumps(archive_url)}\n", "", 1))
    config = write_config(tmp_path, net.wayback)
    code = main(["--config", str(config), "check", "--format", "json", str(events)])
    output = capsys.readouterr()
    assert code == ExitCode.FAILED, output.err  # archive-url-format is an error
    document = json.loads(output.out)
    assert document["summary"].get("could_not_check") is None  # not an archive outage
    reports = {e["event"]["id"]: e for e in document["events"]}
    hostile = reports[HOSTILE_ID]
    assert [s["verdict"] for s in hostile["sources"]] == ["alive", "alive", "alive"]
    assert hostile["sources"][1]["archive"]["state"] == state
    assert detail in hostile["sources"][1]["archive"]["detail"]
    assert "archive-url-format" in {v["rule"] for v in hostile["violations"]}
    assert (reports[GOOD_ID]["result"], reports[GOOD_ID]["violations"]) == ("pass", [])
