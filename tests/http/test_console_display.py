"""kpy.http.console.display: how records, times and sizes are shown (pure functions)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kpy.http.console import display


def test_json_objects_and_arrays_are_pretty_printed():
    shown = display.show_bytes(b'{"b": [1, 2], "a": "\xc3\xa9"}')
    assert shown.note == "JSON"
    assert shown.text == json.dumps({"b": [1, 2], "a": "é"}, indent=2, ensure_ascii=False)
    assert display.show_bytes(b"[1,2]").text == "[\n  1,\n  2\n]"


@pytest.mark.parametrize("raw", [b"42", b'"a string"', b"plain text", b"{not json", b""])
def test_other_text_is_shown_as_it_is(raw):
    assert display.show_bytes(raw) == display.ShownBytes(raw.decode(), "")


def test_keys_and_headers_are_not_reformatted():
    assert display.show_bytes(b'{"id":1}', pretty_json=False).text == '{"id":1}'


def test_null_and_binary():
    assert display.show_bytes(None) == display.ShownBytes(None, "")
    assert display.show_bytes(b"\xff\x00\x01") == display.ShownBytes("ff 00 01", "binary, as hex")


def test_large_values_are_cut_and_say_so():
    big = b"x" * (display.SHOWN_BYTES + 10)
    shown = display.show_bytes(big)
    assert len(shown.text) == display.SHOWN_BYTES
    assert shown.note == f"first {display.SHOWN_BYTES:,} of {len(big):,} bytes"
    # A cut through a multi-byte character is still text.
    cut = "é" * display.SHOWN_BYTES
    assert display.show_bytes(cut.encode()).text == "é" * (display.SHOWN_BYTES // 2)


@given(st.binary(max_size=200))
def test_any_bytes_can_be_shown(raw):
    shown = display.show_bytes(raw)
    assert isinstance(shown.text, str)


def test_timestamps():
    assert display.timestamp_text(1_700_000_005_123) == "2023-11-14 22:13:25.123 UTC"
    assert display.timestamp_text(-1) == "none"
    assert display.timestamp_type_text("LogAppendTime") == "log append time"
    assert display.timestamp_type_text("CreateTime") == "create time"


@pytest.mark.parametrize(
    "text, ms",
    [
        ("2023-11-14T22:13:25", 1_700_000_005_000),
        ("2023-11-14T22:13", 1_699_999_980_000),
        ("2023-11-14 22:13:25.5", 1_700_000_005_500),
        ("2023-11-14T23:13:25+01:00", 1_700_000_005_000),
        ("1700000005000", 1_700_000_005_000),
    ],
)
def test_parse_time(text, ms):
    assert display.parse_time(text) == ms


def test_parse_time_names_what_it_cannot_read():
    with pytest.raises(ValueError, match="'yesterday' is not a time"):
        display.parse_time("yesterday")


def test_a_time_round_trips_through_the_form_field():
    assert display.time_input_value(1_700_000_005_000) == "2023-11-14T22:13:25"
    assert display.parse_time(display.time_input_value(1_700_000_005_000)) == 1_700_000_005_000
    assert display.time_input_value(None) == ""


def test_parse_headers():
    assert display.parse_headers("a=1\n\nb=x=y\nflag") == [
        ("a", b"1"),
        ("b", b"x=y"),
        ("flag", b""),
    ]
    with pytest.raises(ValueError, match="no name"):
        display.parse_headers("=value")


def test_sizes_counts_durations():
    assert [display.size_text(n) for n in (0, 1023, 1024, 5 * 1024**2, None)] == [
        "0 B",
        "1023 B",
        "1.0 KiB",
        "5.0 MiB",
        "–",
    ]
    assert display.count_text(1234567) == "1,234,567" and display.count_text(None) == "–"
    assert [display.duration_text(s) for s in (5, 65, 7300, 90000)] == [
        "5 s",
        "1 min 5 s",
        "2 h 1 min",
        "1 d 1 h",
    ]
