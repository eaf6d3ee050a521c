"""Markdown renderers: one event's report, and ``broken-links.md`` for maintainers.

Everything from events or responses is escaped once, for the context it lands in (GitHub's
Markdown: CommonMark with the GFM table and autolink extensions):

- text (``md``): one line, Markdown punctuation backslash-escaped, ``<``/``>``/``&`` as
  entities, so a title can neither inject HTML nor break a table;
- code spans (``code``): nothing is escaped inside one (a backslash shows as a backslash),
  so the fence is a run of backticks longer than any in the text; in a table cell ``|`` is
  written ``\\|``, which GFM removes before it reads the cell (its spec, "Tables");
- link targets (``link_target``): http(s) URLs only, inside ``<…>``, with ``|``, ``\\``,
  ``<``, ``>``, ``"`` and backticks percent-encoded (what a browser sends for them anyway)
  and an entity-like ``&`` escaped, so a URL can neither end its link nor split its row;
  a URL that cannot be linked is shown as a code span, which GitHub never autolinks.

No context lets a control character through (ESC, NUL, BEL…: a terminal or an editor would
act on them), nor the bidirectional overrides that reorder what a reader sees.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import assert_never
from urllib.parse import quote

from verifier.models import (
    CITATION_FINDINGS,
    ArchiveInfo,
    ArchiveState,
    EventReport,
    EventSummary,
    SourceReport,
)
from verifier.urls import host_of

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|~])")
_CONTROL = re.compile(
    "[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
"""C0 and C1 controls, DEL, the Unicode line separators, the bidirectional marks,
embeddings, overrides and isolates (the "Trojan Source" characters), and lone surrogates
(from a JSON ``\\ud800``: no UTF-8 file can hold one)."""
_BREAKS = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x1f\x85\u2028\u2029")
_BIDI = frozenset("\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_LINKABLE = re.compile(r"(?i:https?)://[^\s/?#@\\]")
_SPACE = re.compile(r"\s")
_IN_TARGET = {"|": "%7C", "\\": "%5C", "<": "%3C", ">": "%3E", '"': "%22", "`": "%60"}
_ENTITY = re.compile(r"&(?=#[0-9]+;|#[xX][0-9a-fA-F]+;|[A-Za-z][A-Za-z0-9]*;)")
_BACKTICKS = re.compile(r"`+")


def _replace_control(match: re.Match[str]) -> str:
    char = match.group()
    if char in _BREAKS:
        return " "
    return "" if char in _BIDI else "\ufffd"


def one_line(text: object) -> str:
    """``text`` with line breaks and tabs as spaces, other controls as U+FFFD and the
    bidirectional controls removed; nothing else changes."""
    return _CONTROL.sub(_replace_control, str(text))


def md(text: object) -> str:
    """Escape untrusted text for Markdown (tables included): one line, no HTML."""
    value = " ".join(one_line(text).split())
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _SPECIAL.sub(r"\\\1", value)


def code(text: object, *, table: bool = False) -> str:
    """``text`` as an inline code span, shown as it is: a fence longer than any run of
    backticks in it, a space inside the fence where the text begins or ends with a backtick
    or a space (CommonMark strips one each side); ``table``: ``|`` escaped for a GFM cell.
    Empty text is a dash."""
    value = one_line(text)
    if not value:
        return "—"
    if table:
        value = value.replace("|", "\\|")
    longest = max((len(run) for run in _BACKTICKS.findall(value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value[0] in "` " or value[-1] in "` " else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def link_target(url: str | None) -> str | None:
    """``url`` as the target of a Markdown link (``[…](<target>)``), or None when it is
    not one to link: not http(s) with a host, or holding a space or a control character."""
    if not url or not _LINKABLE.match(url) or _SPACE.search(url) or _CONTROL.search(url):
        return None
    target = "".join(_IN_TARGET.get(char, char) for char in url)
    return _ENTITY.sub(r"\\&", target)


def md_link(label: object, url: str | None, *, table: bool = False) -> str:
    """A link to ``url`` labelled ``label`` (the URL when the label is empty); a URL that
    cannot be linked is shown beside the label as code (GitHub autolinks none in code)."""
    shown = label if label not in (None, "") else url
    target = link_target(url)
    if target is not None:
        return f"[{md(shown)}](<{target}>)"
    if not url:
        return md(shown or "")
    if str(shown) == url:
        return code(url, table=table)
    return f"{md(shown)} {code(url, table=table)}"


def file_link(file: str, folder: str | os.PathLike[str]) -> str | None:
    """The relative link from a report in ``folder`` to an event ``file`` (both relative
    to the working folder, as ``EventSummary.file`` is, or absolute), percent-encoded; None
    without one (no file, another drive, a name no file system holds). A name read from
    undecodable bytes (``\\udc80``…, Python's ``surrogateescape``) links to those bytes."""
    if not file:
        return None
    try:
        relative = os.path.relpath(os.path.abspath(file), os.path.abspath(folder))
        return quote(relative.replace(os.sep, "/"), safe="/", errors="surrogateescape")
    except ValueError:  # another drive (Windows); a lone surrogate (UnicodeEncodeError)
        return None


def _when(moment: dt.datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment else "—"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def render_event_markdown(report: EventReport) -> str:
    event = report.event
    lines = [
        f"# {md(event.title or event.id)}",
        "",
        f"{code(event.file)} · {md(event.date or 'no date')} · importance "
        f"{event.importance if event.importance is not None else '—'} · **{report.result.value}**",
        "",
    ]
    if report.sources:
        lines += [
            "| # | source | tier | verdict | status | archive | citation |",
            "|---|---|---|---|---|---|---|",
        ]
        for source in report.sources:
            lines.append(
                f"| {source.index} | "
                f"{md_link(source.publisher or source.url, source.url, table=True)} | "
                f"{source.effective_tier or '—'} | "
                f"{source.verdict.value if source.verdict else '—'} | "
                f"{source.status.value} | {_archive_cell(source)} | {_citation_cell(source)} |"
            )
        lines.append("")
    if report.violations:
        lines.append("## Violations")
        lines.append("")
        for violation in report.violations:
            where = f"line {violation.line}" if violation.line else "file"
            lines.append(
                f"- **{md(violation.rule)}** ({violation.severity.value}, {where}): "
                f"{md(violation.message)}"
            )
        lines.append("")
    return "\n".join(lines)


def _archive_cell(source: SourceReport) -> str:
    archive = source.archive
    if archive is None:
        return "—"
    label = archive.state.value + (" (suggested)" if archive.suggested else "")
    target = {"fabricated": archive.nearest_url, "imprecise": archive.resolved_url}
    return md_link(label, target.get(archive.state.value, archive.url), table=True)


def _citation_cell(source: SourceReport) -> str:
    """The citation verdict, with the page's title beside it when it is not the one cited."""
    citation = source.citation
    if citation is None:
        return "—"
    label = citation.verdict.value
    if citation.reason is not None:
        label += f" ({citation.reason.value})"
    elif citation.verdict.value != "matches" and citation.seen.title:
        label += f": page shows “{citation.seen.title}”"
    return md(label)


@dataclass(frozen=True, slots=True)
class BrokenLink:
    """One broken source, as a maintainer needs it to fix it."""

    report: EventReport
    source: SourceReport
    since: dt.datetime | None
    new: bool


class Replacement(StrEnum):
    """What the archive offers in place of a broken source."""

    CAPTURE = "capture"
    """A capture to cite instead (``archive_url``)."""
    NO_CAPTURE = "no capture"
    """Looked up: the archive holds none (``missing``), or its request failed."""
    REQUESTED = "capture requested"
    """Save Page Now is making one (``pending``)."""
    NOT_LOOKED_UP = "not looked up yet"
    """No archive answer yet: the archive stage has not reached the source (it stopped, or
    its time budget ran out), or the archive did not answer (``unverified``)."""


def replacement_of(archive: ArchiveInfo | None) -> tuple[Replacement, str | None]:
    """What the archive offers for a broken source, and the capture's URL when one."""
    if archive is None:
        return Replacement.NOT_LOOKED_UP, None
    state = archive.state
    match state:
        case ArchiveState.FABRICATED:
            url = archive.nearest_url
        case ArchiveState.IMPRECISE:
            url = archive.resolved_url or archive.url
        case (
            ArchiveState.EXISTING
            | ArchiveState.SAVED
            | ArchiveState.PENDING
            | ArchiveState.FAILED
            | ArchiveState.MISSING
            | ArchiveState.UNVERIFIED
        ):
            url = archive.url
        case _:
            assert_never(state)
    if url:
        return Replacement.CAPTURE, url
    if state is ArchiveState.UNVERIFIED:
        return Replacement.NOT_LOOKED_UP, None
    if state is ArchiveState.PENDING:
        return Replacement.REQUESTED, None
    return Replacement.NO_CAPTURE, None


def _replacement_cell(archive: ArchiveInfo | None) -> str:
    kind, url = replacement_of(archive)
    if kind is Replacement.CAPTURE:
        stamp = (archive.resolved_timestamp or archive.timestamp) if archive else None
        day = f"{stamp[:4]}-{stamp[4:6]}-{stamp[6:8]}" if stamp and len(stamp) >= 8 else ""
        label = f"capture {day}".strip()
        if archive is not None and archive.state is ArchiveState.FABRICATED:
            label = "nearest capture (archive_url is fabricated)"  # its timestamp is the claim's
        return md_link(label, url, table=True)
    if kind is Replacement.NO_CAPTURE and archive is not None:
        if archive.state is ArchiveState.FAILED:
            return "no capture (the capture request failed)"
        if archive.state is ArchiveState.FABRICATED:
            return "no capture (archive_url is fabricated)"
    return kind.value


def _event_cell(event: EventSummary, folder: str | os.PathLike[str]) -> str:
    """The event's title, linked to its file; the file as code when it cannot be linked."""
    title = event.title or event.id
    href = file_link(event.file, folder)
    if href is None:
        return f"{md(title)} {code(event.file, table=True)}"
    return f"[{md(title)}](<{href}>)"


def render_broken_links(
    links: Sequence[BrokenLink],
    generated_at: dt.datetime,
    reports: Sequence[EventReport] = (),
    *,
    folder: str | os.PathLike[str] = "reports",
) -> str:
    """``broken-links.md``: broken sources, new breakage since the last run first, then the
    rest, each part grouped by host (the most broken first) and within a host by event, so
    that one site's links are fixed together; then the sources of ``reports`` that answer
    with another page than the one cited. ``folder`` is where the file is written (as
    ``EventSummary.file`` is given: relative to the working folder, or absolute): events
    are linked relative to it."""
    events = {link.report.event.id for link in links}
    hosts = {host_of(link.source.url) for link in links}
    new = [link for link in links if link.new]
    lines = [
        "# Broken links",
        "",
        f"Generated {generated_at:%Y-%m-%d %H:%M} UTC · {_plural(len(links), 'broken source')} "
        f"in {_plural(len(events), 'event')} on {_plural(len(hosts), 'host')} · "
        f"{len(new)} new since the last run.",
        "",
    ]
    wrong = _wrong_pages(reports, folder)
    if not links:
        lines += ["Nothing is broken. 🎉", "", *wrong]
        return "\n".join(lines).rstrip("\n") + "\n"
    offers = Counter(replacement_of(link.source.archive)[0] for link in links)
    lines += [
        "Archive: "
        + " · ".join(f"{kind.value}: {offers[kind]}" for kind in Replacement if offers[kind])
        + ". *Not looked up yet*: the archive stage has not reached the source (the next "
        "run will); *no capture*: the archive was asked and holds none.",
        "",
    ]
    for heading, group in (
        ("New since the last run", new),
        ("Still broken", [link for link in links if not link.new]),
    ):
        if group:
            lines += [f"## {heading}", "", *_by_host(group, folder)]
    lines += wrong
    return "\n".join(lines).rstrip("\n") + "\n"


def _by_host(group: Sequence[BrokenLink], folder: str | os.PathLike[str]) -> list[str]:
    by_host: dict[str, list[BrokenLink]] = {}
    for link in group:
        by_host.setdefault(host_of(link.source.url), []).append(link)
    lines: list[str] = []
    # the most broken host first; URLs without a host (not web links at all) last
    ranked = sorted(by_host.items(), key=lambda item: (not item[0], -len(item[1]), item[0]))
    for host, items in ranked:
        items.sort(
            key=lambda link: (link.report.event.id, link.report.event.file, link.source.index)
        )
        events = len({link.report.event.id for link in items})
        lines += [
            f"### {md(host) if host else 'No host'}",
            "",
            f"{_plural(len(items), 'source')} in {_plural(events, 'event')}.",
            "",
            "| event | source | line | broken since | last result | archive |",
            "|---|---|---|---|---|---|",
        ]
        for link in items:
            source = link.source
            last = f"{source.verdict.value if source.verdict else '?'}"
            if source.http_status:
                last += f" (HTTP {source.http_status})"
            elif source.detail:
                last += f": {source.detail}"
            lines.append(
                f"| {_event_cell(link.report.event, folder)} | "
                f"{md_link(source.url, source.url, table=True)} | {source.line or '—'} | "
                f"{_when(link.since)} | {md(last)} | {_replacement_cell(source.archive)} |"
            )
        lines.append("")
    return lines


def _wrong_pages(reports: Sequence[EventReport], folder: str | os.PathLike[str]) -> list[str]:
    """The section of sources that answer, alive, with another page than the one cited,
    by host, then event."""
    rows = sorted(
        (
            (report, source)
            for report in reports
            for source in report.sources
            if source.citation is not None and source.citation.verdict in CITATION_FINDINGS
        ),
        key=lambda row: (host_of(row[1].url), row[0].event.id, row[1].index),
    )
    if not rows:
        return []
    lines = [
        "## Wrong pages",
        "",
        f"{len(rows)} source{'s' if len(rows) != 1 else ''} answer with another page than "
        "the one cited (fix the URL, or cite the archived page).",
        "",
        "| event | source | line | cited title | the page shows | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for report, source in rows:
        citation = source.citation
        assert citation is not None
        lines.append(
            f"| {_event_cell(report.event, folder)} | "
            f"{md_link(source.url, source.url, table=True)} | {source.line or '—'} | "
            f"{md(citation.cited.title or '—')} | {md(citation.seen.title or '—')} | "
            f"{citation.verdict.value} |"
        )
    lines.append("")
    return lines
