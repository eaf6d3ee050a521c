"""Loading event files: valid events, located errors, skipped non-events, hostile YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import GOOD_EVENT
from verifier.events.parse import Skipped, load_event_file, parse_event_bytes
from verifier.models import LoadedEvent


def load(text: str | bytes, name: str = "2021-02-03--example-event.md") -> LoadedEvent | Skipped:
    data = text.encode() if isinstance(text, str) else text
    stem, _, suffix = name.rpartition(".")
    return parse_event_bytes(data, name, stem, "." + suffix)


def only_error(outcome: LoadedEvent | Skipped) -> tuple[str, int | None]:
    assert isinstance(outcome, LoadedEvent)
    assert outcome.event is None
    assert len(outcome.load_violations) >= 1
    violation = outcome.load_violations[0]
    return violation.message, violation.line


def test_valid_event_loads_with_field_lines() -> None:
    outcome = load(GOOD_EVENT)
    assert isinstance(outcome, LoadedEvent)
    assert outcome.event is not None
    assert outcome.event.sources[1].publisher == "Associated Press"
    assert outcome.line_of("id") == 2
    assert outcome.line_of("sources", 1, "tier") == 16
    assert outcome.line_of("sources", 1, "no-such-field") == 12


def test_outlet_is_read_as_publisher_and_unknown_fields_are_kept() -> None:
    text = GOOD_EVENT.replace("publisher: Associated Press", "outlet: Associated Press")
    text = text.replace("importance: 5", "importance: 5\ncapture_lanes: [Finance]")
    outcome = load(text)
    assert isinstance(outcome, LoadedEvent) and outcome.event is not None
    assert outcome.event.sources[1].publisher == "Associated Press"
    assert outcome.event.model_extra == {"capture_lanes": ["Finance"]}


def test_unquoted_dates_stay_text() -> None:
    outcome = load(GOOD_EVENT.replace("date: '2021-02-03'", "date: 2021-02-03"))
    assert isinstance(outcome, LoadedEvent) and outcome.event is not None
    assert outcome.event.date == "2021-02-03"
    assert outcome.event.sources[0].date == "2021-02-03"


def test_yes_and_no_stay_text_as_in_yaml_1_2() -> None:
    outcome = load(GOOD_EVENT.replace("title: An example event", "title: no"))
    assert isinstance(outcome, LoadedEvent) and outcome.event is not None
    assert outcome.event.title == "no"


def test_missing_closing_delimiter_is_an_error_not_empty_metadata() -> None:
    message, line = only_error(load(GOOD_EVENT.replace("---\nBody.", "Body.")))
    assert "not closed" in message
    assert line == 1


def test_invalid_yaml_is_located_by_line() -> None:
    text = GOOD_EVENT.replace("  title: Wire story", "  title: [unclosed")
    message, line = only_error(load(text))
    assert message.startswith("invalid YAML")
    assert line is not None and 14 <= line <= 16


def test_leading_blank_lines_shift_reported_lines() -> None:
    outcome = load("\n\n" + GOOD_EVENT)
    assert isinstance(outcome, LoadedEvent)
    assert outcome.line_of("id") == 4


def test_duplicate_key_is_refused_with_its_line() -> None:
    text = GOOD_EVENT.replace("importance: 5", "importance: 5\ntitle: Again")
    message, line = only_error(load(text))
    assert message == "duplicate key 'title'"
    assert line == 6


def test_front_matter_that_is_a_list_is_an_error() -> None:
    message, line = only_error(load("---\n- a\n- b\n---\nbody\n"))
    assert "mapping" in message and "list" in message
    assert line == 2


def test_empty_event_file_is_an_error() -> None:
    message, line = only_error(load(""))
    assert message == "file is empty"
    assert line == 1


def test_undecodable_file_is_an_error_on_the_bad_line() -> None:
    data = GOOD_EVENT.encode().replace(b"An example event", b"An \xff event")
    message, line = only_error(load(data))
    assert "UTF-8" in message
    assert line == 4


def test_markdown_without_front_matter_and_no_event_name_is_skipped() -> None:
    assert isinstance(load("# Notes\n", "notes.md"), Skipped)
    assert isinstance(load(GOOD_EVENT, "README.md"), Skipped)


def test_event_named_markdown_without_front_matter_is_an_error() -> None:
    message, line = only_error(load("# Just a heading\n"))
    assert "front matter" in message
    assert line == 1


def test_python_tags_are_refused_and_construct_nothing() -> None:
    text = GOOD_EVENT.replace(
        "importance: 5", "importance: !!python/object/apply:os.system ['touch /tmp/pwned']"
    )
    message, line = only_error(load(text))
    assert "unsupported YAML tag" in message
    assert line == 5
    assert not Path("/tmp/pwned").exists()


def test_alias_bomb_fails_fast() -> None:
    lines = ["---", "id: x", 'a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, 10):
        prev = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [{', '.join([prev] * 9)}]")
    lines += ["---", ""]
    message, _ = only_error(load("\n".join(lines)))
    assert "alias bomb" in message


def test_schema_errors_are_located_in_the_file() -> None:
    text = GOOD_EVENT.replace("importance: 5", "importance: very")
    outcome = load(text)
    assert isinstance(outcome, LoadedEvent) and outcome.event is None
    [violation] = outcome.load_violations
    assert violation.rule == "schema"
    assert violation.message.startswith("importance:")
    assert violation.line == 5


def test_json_event_loads_and_json_errors_carry_lines() -> None:
    good = (
        '{\n  "id": "2021-02-03--x",\n  "date": "2021-02-03",\n  "title": "T",\n  "sources": []\n}'
    )
    outcome = load(good, "2021-02-03--x.json")
    assert isinstance(outcome, LoadedEvent) and outcome.event is not None
    assert outcome.line_of("title") == 4
    message, line = only_error(load('{\n  "id": "x",\n  "date": \n}', "2021-02-03--x.json"))
    assert message.startswith("invalid JSON")
    assert line == 4


@pytest.mark.parametrize("name", ["2021-02-03--x.md", "2021-02-03--x.json"])
def test_unreadable_file_is_reported_not_raised(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.mkdir()  # a folder where a file is expected: reading it fails
    outcome = load_event_file(path)
    assert isinstance(outcome, LoadedEvent)
    assert outcome.load_violations[0].message.startswith("cannot read file")
