"""Pure: the citation verdicts as rule violations — ``citation-mismatch`` (a wrong or generic
page, on the source's ``title:`` line) and ``citation-date`` (on its ``date:`` line)."""

from __future__ import annotations

from collections.abc import Mapping

from verifier.events.rules import Finding, RuleContext, judged
from verifier.models import CITATION_FINDINGS, CitationInfo, CitationVerdict, LoadedEvent, Violation


def citation_violations(
    ctx: RuleContext, loaded: LoadedEvent, citations: Mapping[int, CitationInfo]
) -> list[Violation]:
    """One violation per source whose live page is not the page cited, or is dated far from
    the cited date (a changed page, ``drifted``, is reported but not a violation)."""
    findings = []
    for index, info in sorted(citations.items()):
        seen = (
            f"the page shows {info.seen.title!r}" if info.seen.title else "the page shows no title"
        )
        if info.verdict in CITATION_FINDINGS:
            what = (
                "the site's generic page"
                if info.verdict is CitationVerdict.GENERIC_PAGE
                else "another page"
            )
            findings.append(
                Finding(
                    "citation-mismatch",
                    f"the URL answers with {what}: cited {info.cited.title!r}, {seen}",
                    loaded.line_of("sources", index, "title"),
                    index,
                )
            )
        elif info.verdict is CitationVerdict.DATE_MISMATCH:
            findings.append(
                Finding(
                    "citation-date",
                    f"cited date {info.cited.date}, but {info.detail}",
                    loaded.line_of("sources", index, "date"),
                    index,
                )
            )
    return judged(ctx, findings)
