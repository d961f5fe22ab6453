"""The JSON log lines every process writes: their timestamp and encoding, made faster without changing them."""
from __future__ import annotations

import json
import random
from datetime import datetime, timezone
from decimal import Decimal

from common.logging import iso_timestamp, json_line


def test_timestamps_are_what_datetime_writes_to_the_millisecond():
    rng = random.Random(7)
    instants = [rng.uniform(0, 2e9) for _ in range(50_000)]
    # the edges of rounding: a hair under and over each millisecond and second
    instants += [s + f for s in (0, 1_700_000_000, 1_803_542_068) for f in (0.0, 0.0005, 0.9995, 0.999_999_5,
                                                                             0.000_000_5, 0.668_999_7)]
    for instant in instants:
        assert iso_timestamp(instant) == datetime.fromtimestamp(instant, timezone.utc).isoformat(
            timespec="milliseconds"), instant


def test_a_line_is_one_json_object_with_text_kept_as_written():
    line = json_line({"msg": "申报 refused", "amount": Decimal("12.30"), "status": 422, "latency_ms": 1.5})
    assert "\n" not in line and "申报" in line
    assert json.loads(line) == {"msg": "申报 refused", "amount": "12.30", "status": 422, "latency_ms": 1.5}


def test_an_access_line_written_as_text_is_the_json_of_its_fields():
    from common.logging import access_line

    fields = [("GET", "/api/v1/intake/applications", 200, 3.41, "c4b0c80cc4140994000000000000917f"),
              ("POST", "/api/v1/eligibility/pre-check", 422, 0.0, None),
              ("GET", "/api/v1/intake/a\"b\\c", 404, 12.5, "client-id"),  # a quote and a backslash are escaped
              ("GET", "/api/v1/intake/申报", 404, 100.25, "id\twith tab"),  # non-ASCII and a control character
              ("DELETE", "/x", 499, 1234.56, "")]
    for method, route, status, latency_ms, rid in fields:
        line = access_line("fundflow.access.gateway", method, route, status, latency_ms, rid)
        assert line.endswith("\n") and "\n" not in line[:-1]
        entry = json.loads(line)
        expected = {"ts": entry["ts"], "level": "info", "service": entry["service"],
                    "logger": "fundflow.access.gateway", "msg": "request"}
        if rid:
            expected["request_id"] = rid
        expected.update(method=method, route=route, status=status, latency_ms=latency_ms)
        assert list(entry.items()) == list(expected.items())  # the same keys in the same order
        assert line == json_line(expected) + "\n"  # and the same text
