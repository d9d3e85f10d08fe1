"""Single byte ranges over bytes in memory (RFC 9110 §14), as the evidence video is served."""

from __future__ import annotations

import pytest

from ecancel.core.ranges import RangeNotSatisfiable, bytes_response, parse_range

CONTENT = bytes(range(100))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=90-", (90, 99)),
        ("bytes=90-500", (90, 99)),  # a last byte past the end is the end
        ("bytes=-5", (95, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes = 1 - 2", (1, 2)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file
        ("items=0-1", None),
        ("bytes=9-3", None),  # invalid: ignored
        ("bytes=-", None),
        ("nonsense", None),
    ],
)
def test_parse_range(header: str, expected: tuple[int, int] | None) -> None:
    assert parse_range(header, len(CONTENT)) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=200-300", "bytes=-0"])
def test_a_range_beyond_the_end_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, len(CONTENT))


def test_responses() -> None:
    whole = bytes_response(CONTENT, content_type="video/webm")
    assert whole.status_code == 200 and whole.content == CONTENT and whole["Accept-Ranges"] == "bytes"
    part = bytes_response(CONTENT, content_type="video/webm", range_header="bytes=10-19")
    assert part.status_code == 206 and part.content == CONTENT[10:20]
    assert part["Content-Range"] == "bytes 10-19/100" and part["Content-Type"] == "video/webm"
    several = bytes_response(CONTENT, content_type="video/webm", range_header="bytes=0-1,5-6")
    assert several.status_code == 200 and several.content == CONTENT
    beyond = bytes_response(CONTENT, content_type="video/webm", range_header="bytes=100-")
    assert beyond.status_code == 416 and beyond["Content-Range"] == "bytes */100" and beyond.content == b""
    empty = bytes_response(b"", content_type="video/webm", range_header="bytes=-1")
    assert empty.status_code == 416
