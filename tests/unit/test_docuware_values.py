"""A field's value (docuware/values.py): decoded from DocuWare's form (/Date()/ forms, each
ItemElementName, Document helpers), and kept as typed JSON: every DocuWare type reads back as
it came, and a huge document stays within its bound."""

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from exmado_tui.docuware import values
from exmado_tui.docuware.models import Document
from exmado_tui.docuware.values import (
    IndexData,
    decode_field,
    encode,
    parse_dw_date,
    parse_dw_datetime,
)
from tests.factories import TABLE
from tests.factories import field as index_field


def field(kind, item, name="F", is_null=False):
    return {"FieldName": name, "ItemElementName": kind, "Item": item, "IsNull": is_null}


def test_plain_date_is_utc_instant():
    assert parse_dw_datetime("/Date(1705309200000)/") == datetime(2024, 1, 15, 9, 0, tzinfo=UTC)


def test_offset_suffix_keeps_instant_and_shows_offset():
    moment = parse_dw_datetime("/Date(1705309200000+0200)/")
    assert moment == datetime(2024, 1, 15, 9, 0, tzinfo=UTC)
    assert moment.utcoffset() == timedelta(hours=2)
    assert parse_dw_datetime("/Date(1705309200000-0530)/").utcoffset() == timedelta(
        hours=-5, minutes=-30
    )


def test_escaped_slashes_are_accepted():
    assert parse_dw_datetime("\\/Date(1705309200000)\\/") == datetime(2024, 1, 15, 9, tzinfo=UTC)


def test_negative_is_a_date_before_1970():
    assert parse_dw_date("/Date(-86400000)/") == date(1969, 12, 31)


@pytest.mark.parametrize(
    "text",
    [
        "/Date(0)/",
        "/Date(-62135596800000)/",
        "/Date(99999999999999999)/",
        "/Date(-99999999999999999)/",
        "garbage",
        "",
        None,
        12345,
    ],
)
def test_sentinels_overflow_and_garbage_are_none(text):
    assert parse_dw_datetime(text) is None
    assert parse_dw_date(text) is None


def test_date_field_is_calendar_day_in_the_offset():
    assert decode_field(field("Date", "/Date(1705276800000)/")) == date(2024, 1, 15)
    # 22:00 UTC on the 14th is midnight of the 15th at +0200
    assert decode_field(field("Date", "/Date(1705269600000+0200)/")) == date(2024, 1, 15)


def test_datetime_field_is_aware_datetime():
    value = decode_field(field("DateTime", "/Date(1705309200000)/"))
    assert isinstance(value, datetime)
    assert value.tzinfo is not None


def test_decimal_int_string_memo():
    assert decode_field(field("Decimal", Decimal("1250.50"))) == Decimal("1250.50")
    assert decode_field(field("Decimal", 12.5)) == Decimal("12.5")
    assert decode_field(field("Decimal", "7.10")) == Decimal("7.10")
    assert decode_field(field("Int", 1001)) == 1001
    assert decode_field(field("Int", "42")) == 42
    assert decode_field(field("String", "Peters")) == "Peters"
    assert decode_field(field("Memo", "line1\nline2")) == "line1\nline2"


def test_null_values():
    assert decode_field(field("String", None, is_null=True)) is None
    assert decode_field(field("Decimal", None, is_null=True)) is None
    assert decode_field(field("Keywords", None, is_null=True)) == []
    assert decode_field(field("Keywords", None)) == []


def test_keywords():
    item = {"$type": "DocumentIndexFieldKeywords", "Keyword": ["urgent", "q1"]}
    assert decode_field(field("Keywords", item)) == ["urgent", "q1"]
    assert decode_field(field("Keywords", {"Keyword": None})) == []


def test_table_rows_become_dicts():
    item = {
        "$type": "DocumentIndexFieldTable",
        "Row": [
            {"ColumnValue": [field("String", "Bolt", "ITEM"), field("Decimal", "2.50", "PRICE")]},
            {"ColumnValue": [field("String", "Nut", "ITEM"), field("Date", "/Date(0)/", "WHEN")]},
        ],
    }
    assert decode_field(field("Table", item)) == [
        {"ITEM": "Bolt", "PRICE": Decimal("2.50")},
        {"ITEM": "Nut", "WHEN": None},
    ]


def test_a_table_of_one_row_may_come_bare():
    item = {"Row": {"ColumnValue": [field("String", "Bolt", "ITEM")]}}
    assert decode_field(field("Table", item)) == [{"ITEM": "Bolt"}]


def test_document_helpers():
    raw = {
        "Id": 7,
        "FileCabinetId": "fc",
        "Title": "T",
        "ContentType": "application/pdf",
        "FileSize": 10,
        "SectionCount": 2,
        "Fields": [
            field("String", "ACME (Ltd)", "SUPPLIER"),
            field("Date", "/Date(1705276800000)/", "DOC"),
            field("Decimal", Decimal("3.5"), "AMOUNT"),
            field("Keywords", {"Keyword": ["a", "b"]}, "TAGS"),
            field("Int", 5, "N"),
            field("String", None, "NOTES", is_null=True),
        ],
        "Sections": [{"Id": "7-1", "ContentType": "application/pdf", "OriginalFileName": "x.pdf"}],
        "Links": [{"rel": "self", "href": "/s"}, {"rel": "fileDownload", "href": "/f"}],
    }
    doc = Document.from_json(raw)
    assert doc.get_text("SUPPLIER") == "ACME (Ltd)"
    assert doc.get_text("DOC") == "2024-01-15"
    assert doc.get_date("DOC") == date(2024, 1, 15)
    assert doc.get_decimal("AMOUNT") == Decimal("3.5")
    assert doc.get_keywords("TAGS") == ["a", "b"]
    assert doc.get_text("TAGS") == "a, b"
    assert doc.get_int("N") == 5
    assert doc.get_text("NOTES") == "" and doc.get("NOTES") is None
    assert doc.links["fileDownload"] == "/f"
    assert doc.sections[0].original_filename == "x.pdf"
    assert doc.field_types["AMOUNT"] == "Decimal"


def test_corrupt_date_does_not_break_document():
    raw = {
        "Id": 1,
        "Fields": [
            field("DateTime", "/Date(123456789012345678)/", "D"),
            field("String", "ok", "S"),
        ],
    }
    doc = Document.from_json(raw, "fc")
    assert doc.get("D") is None and doc.get_text("S") == "ok" and doc.cabinet_id == "fc"


def test_fixed_offset_timezone_object():
    assert parse_dw_datetime("/Date(0+0100)/") is None
    assert parse_dw_datetime("/Date(1000+0100)/").tzinfo == timezone(timedelta(hours=1))


@pytest.mark.parametrize(
    "text",
    [
        "/Date(1705276800000)/",  # midnight UTC
        "/Date(1705273200000)/",  # midnight of a server at UTC+1, sent without offset
        "/Date(1705294800000)/",  # midnight of a server at UTC-5, sent without offset
        "/Date(1705276800000-0500)/",  # midnight UTC with an informational offset
        "/Date(1705240800000+1000)/",  # midnight at UTC+10 with its offset
    ],
)
def test_date_only_value_is_the_nearest_midnight_whichever_zone_wrote_it(text):
    assert decode_field(field("Date", text)) == date(2024, 1, 15)


# --- kept as typed JSON with its file --------------------------------------------------


def a_document(*fields: dict[str, Any]) -> Document:
    raw = {"Id": 7, "ContentType": "application/pdf", "SectionCount": 2, "Fields": list(fields)}
    return Document.from_json(raw, "cab-1")


def test_every_type_reads_back_as_it_came() -> None:
    doc = a_document(
        index_field("SUPPLIER", "String", "=cmd|' /C calc'!A0"),
        index_field("DOC_DATE", "Date", "/Date(1706745600000)/"),
        index_field("STORED", "DateTime", "/Date(1706781600000+0100)/"),
        index_field("AMOUNT", "Decimal", "1234.50"),
        index_field("COUNT", "Int", 12),
        index_field("TAGS", "Keywords", {"Keyword": ["red", "blue"]}),
        index_field("LINES", "Table", TABLE),
        index_field("EMPTY", "Date", None),
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
    memos = [index_field(f"MEMO_{n}", "Memo", "x" * 50_000) for n in range(30)]
    doc = a_document(index_field("INVOICE_NO", "String", "100001"), *memos)
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


def test_a_stored_fields_text_is_the_text_of_it_read_back() -> None:
    doc = a_document(
        index_field("SUPPLIER", "String", "Müller\u2028& Co"),
        index_field("DOC_DATE", "Date", "/Date(1706745600000)/"),
        index_field("STORED", "DateTime", "/Date(1706781600000+0100)/"),
        index_field("AMOUNT", "Decimal", "1234.50"),
        index_field("COUNT", "Int", 12),
        index_field("TAGS", "Keywords", {"Keyword": ["red", "blue"]}),
        index_field("LINES", "Table", TABLE),
        index_field("EMPTY", "Date", None),
    )
    text = encode(doc)
    odd = {"NUMBER": 7, "BROKEN": ["Date", "2024-13-45"], "TRIPLE": [1, 2, 3]}  # not encode's
    stored = {**values.stored_fields(text), **odd}
    read = {**IndexData.read(text).fields, **IndexData.read(json.dumps({"fields": odd})).fields}
    assert {n: values.stored_text(v) for n, v in stored.items()} == {
        n: values.field_text(v) for n, v in read.items()
    }
    assert values.stored_fields(None) == {} and values.stored_fields('{"sections": 1}') == {}
