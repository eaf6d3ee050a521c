"""``--format junit``: one test case per event, errors as failures, for other CI systems."""

from __future__ import annotations

from collections.abc import Sequence
from xml.etree import ElementTree

from verifier.models import EventReport, Result, Severity
from verifier.reports.summary import Summary


def render_junit(reports: Sequence[EventReport], summary: Summary) -> str:
    failures = sum(1 for report in reports if report.result is Result.FAIL)
    suites = ElementTree.Element("testsuites", name="verifier")
    suite = ElementTree.SubElement(
        suites,
        "testsuite",
        name="events",
        tests=str(len(reports)),
        failures=str(failures),
        errors="0",
        skipped="0",
    )
    for report in reports:
        case = ElementTree.SubElement(
            suite, "testcase", classname=report.event.file, name=report.event.id
        )
        errors = [v for v in report.violations if v.severity is Severity.ERROR]
        if errors:
            failure = ElementTree.SubElement(
                case, "failure", message=errors[0].message, type=errors[0].rule
            )
            failure.text = "\n".join(
                f"{report.event.file}:{v.line or 0}: {v.rule}: {v.message}" for v in errors
            )
        warnings = [v for v in report.violations if v.severity is Severity.WARNING]
        if warnings:
            output = ElementTree.SubElement(case, "system-out")
            output.text = "\n".join(
                f"warning {report.event.file}:{v.line or 0}: {v.rule}: {v.message}"
                for v in warnings
            )
    if summary.could_not_check:
        ElementTree.SubElement(suite, "system-err").text = summary.could_not_check
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"
