"""``--format junit``: one test case per event, errors as failures, for other CI systems.

Ids, file names and messages (which quote titles and URLs) come from strangers, and XML 1.0
cannot carry every character: NUL, ESC and the other C0 controls but TAB, LF and CR, lone
surrogates, U+FFFE and U+FFFF make the document ill-formed, and a consumer refuses the whole
report (XML 1.0 §2.2, ``Char``). ElementTree escapes markup (``<``, ``&``, ``]]>``) but writes
those characters as they are, so every value is passed through ``xml_safe`` once, where the
element is made: they, and the controls §2.2 discourages (DEL, C1), are written the way
the text output shows them (``\\x00``, ``\\x1b``, ``\\ud800``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from xml.etree import ElementTree

from verifier.models import EventReport, Result, Severity
from verifier.reports.summary import Summary

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
"""Forbidden by XML 1.0's ``Char`` production, or discouraged by §2.2 (DEL, C1 controls,
the noncharacters of the Basic Multilingual Plane)."""


def xml_safe(text: str) -> str:
    """``text`` with every character XML 1.0 forbids or discourages made visible."""
    return _NOT_XML.sub(lambda match: repr(match.group())[1:-1], text)


def _element(
    parent: ElementTree.Element | None, tag: str, text: str | None = None, **attributes: str
) -> ElementTree.Element:
    """An element whose attribute values and text are ``xml_safe``."""
    safe = {name: xml_safe(value) for name, value in attributes.items()}
    element = (
        ElementTree.Element(tag, safe)
        if parent is None
        else ElementTree.SubElement(parent, tag, safe)
    )
    if text is not None:
        element.text = xml_safe(text)
    return element


def render_junit(reports: Sequence[EventReport], summary: Summary) -> str:
    failures = sum(1 for report in reports if report.result is Result.FAIL)
    suites = _element(None, "testsuites", name="verifier")
    suite = _element(
        suites,
        "testsuite",
        name="events",
        tests=str(len(reports)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    for report in reports:
        case = _element(suite, "testcase", classname=report.event.file, name=report.event.id)
        errors = [v for v in report.violations if v.severity is Severity.ERROR]
        if errors:
            _element(
                case,
                "failure",
                "\n".join(
                    f"{report.event.file}:{v.line or 0}: {v.rule}: {v.message}" for v in errors
                ),
                message=errors[0].message,
                type=errors[0].rule,
            )
        warnings = [v for v in report.violations if v.severity is Severity.WARNING]
        if warnings:
            _element(
                case,
                "system-out",
                "\n".join(
                    f"warning {report.event.file}:{v.line or 0}: {v.rule}: {v.message}"
                    for v in warnings
                ),
            )
    if summary.could_not_check:
        _element(suite, "system-err", summary.could_not_check)
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
