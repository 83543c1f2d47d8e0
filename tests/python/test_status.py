"""The binding's Status enum against the header's NEXTTOK_STATUS_LIST, the
one list the C enum and nexttok_status_describe are made from."""
import os
import re

import nexttok

HEADER = os.path.join(os.path.dirname(__file__), "..", "..", "include", "nexttok.h")


def header_statuses():
    text = open(HEADER, encoding="utf-8").read()
    start = text.index("#define NEXTTOK_STATUS_LIST(X)")
    end = text.index("\n\n", start)
    rows = re.findall(r'X\(NEXTTOK_(?:ERR_)?([A-Z_]+), (\d+), "([^"]*)"\)', text[start:end])
    assert rows, "no X(name, value, description) rows in NEXTTOK_STATUS_LIST"
    return [(name, int(value), text_) for name, value, text_ in rows]


def test_status_enum_matches_the_header_list():
    rows = header_statuses()
    assert {s.name: s.value for s in nexttok.Status} == {n: v for n, v, _ in rows}
    assert len({v for _, v, _ in rows}) == len(rows), "two statuses share a value"


def test_each_status_describes_itself_as_the_header_says():
    describe = nexttok._library().nexttok_status_describe
    for name, value, text in header_statuses():
        assert describe(value).decode() == text, name
    assert describe(max(v for _, v, _ in header_statuses()) + 1).decode() == "unknown status"
