"""Serving bytes already in memory with HTTP range requests (RFC 9110 §14), for video players that seek.

Only one range per request is honoured: a browser's player asks for one at a time, and several ranges would need
a multipart answer nobody here uses — such a request gets the whole file (200), which the RFC allows.
"""

from __future__ import annotations

import re

from django.http import HttpResponse

_SINGLE_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


class RangeNotSatisfiable(Exception):
    pass


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """The first and last byte asked for, inclusive; None to send everything. Raises RangeNotSatisfiable."""
    match = _SINGLE_RANGE.fullmatch(header.strip().replace(" ", ""))
    if match is None:
        return None  # no range, another unit, several ranges or nonsense: the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None  # syntactically invalid: ignored, as the RFC says
    if start >= size:
        raise RangeNotSatisfiable
    return start, end


def bytes_response(content: bytes, *, content_type: str, range_header: str = "") -> HttpResponse:
    """200 with everything, 206 with the one range asked for, or 416 when it lies beyond the end."""
    size = len(content)
    try:
        wanted = parse_range(range_header, size) if range_header else None
    except RangeNotSatisfiable:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
    else:
        if wanted is None:
            response = HttpResponse(content, content_type=content_type)
        else:
            start, end = wanted
            response = HttpResponse(content[start : end + 1], content_type=content_type, status=206)
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    return response
