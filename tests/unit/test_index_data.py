"""A document's index fields kept as typed JSON (docuware/values.py): every DocuWare type
reads back as it came, and a huge document stays within its bound."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from exmado_tui.docuware import values
from exmado_tui.docuware.models import Document
from exmado_tui.docuware.values import IndexData, encode
from tests.factories import TABLE, field


def a_document(*fields: dict[str, Any]) -> Document:
    raw = {"Id": 7, "ContentType": "application/pdf", "SectionCount": 2, "Fields": list(fields)}
    return Document.from_json(raw, "cab-1")


def test_every_type_reads_back_as_it_came() -> None:
    doc = a_document(
        field("SUPPLIER", "String", "=cmd|' /C calc'!A0"),
        field("DOC_DATE", "Date", "/Date(1706745600000)/"),
        field("STORED", "DateTime", "/Date(1706781600000+0100)/"),
        field("AMOUNT", "Decimal", "1234.50"),
        field("COUNT", "Int", 12),
        field("TAGS", "Keywords", {"Keyword": ["red", "blue"]}),
        field("LINES", "Table", TABLE),
        field("EMPTY", "Date", None),
    )
    back = IndexData.read(encode(doc))
    assert back.content_type == "application/pdf" and back.sections == 2 and back.cut == ()
    assert back.fields == {
        "SUPPLIER": "=cmd|' /C calc'!A0",
        "DOC_DATE": date(2024, 2, 1),
        "STORED": datetime(2024, 2, 1, 10, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=1))),
        "AMOUNT": Decimal("1234.50"),
        "COUNT": 12,
        "TAGS": ["red", "blue"],
        "LINES": [
            {"POSITION": "1", "PRICE": "9.5", "DUE": "2024-02-01"},
            {"POSITION": "2", "PRICE": "-3"},
        ],
        "EMPTY": None,
    }
    assert isinstance(back.fields["STORED"], datetime)
    assert back.fields["STORED"].utcoffset() == timedelta(hours=1)


def test_a_huge_document_is_cut_to_its_bound_naming_what_it_left_out() -> None:
    memos = [field(f"MEMO_{n}", "Memo", "x" * 50_000) for n in range(30)]
    doc = a_document(field("INVOICE_NO", "String", "100001"), *memos)
    text = encode(doc)
    back = IndexData.read(text)
    assert len(text) <= values.MAX_CHARS
    assert back.fields["INVOICE_NO"] == "100001"
    kept = [name for name in back.fields if name.startswith("MEMO_")]
    assert kept and all(len(str(back.fields[n])) == values.VALUE_CHARS for n in kept)
    assert sorted(back.cut + tuple(kept)) == sorted(f"MEMO_{n}" for n in range(30))
    assert json.loads(text)["cut"] == list(back.cut)


def test_a_file_kept_before_index_data_reads_as_no_fields() -> None:
    assert IndexData.read(None) == IndexData({})
