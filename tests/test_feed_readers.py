"""Reading supplier files: encodings, delimiters, French numbers, XLSX cells, BMEcat safely."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from seeds import supplier_feeds
from store_api.feeds import bmecat, csv_reader, mapping, numbers, xlsx_reader
from store_api.feeds.problems import FeedRefused, describe
from store_api.feeds.service import detect_format

HEADER = "Réf. fournisseur;Désignation;PVC TTC\r\n"


def _refused(read: object, data: bytes) -> tuple[str, int | None]:
    with pytest.raises(FeedRefused) as caught:
        read(data)  # type: ignore[operator]
    return caught.value.problem.code, caught.value.problem.line


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        ((HEADER + "A1;Sèche-linge;89,90\r\n").encode("cp1252"), "windows-1252"),
        ((HEADER + "A1;Sèche-linge;89,90\r\n").encode("utf-8"), "utf-8"),
        (b"\xef\xbb\xbf" + (HEADER + "A1;Sèche-linge;89,90\r\n").encode(), "utf-8-sig"),
        ((HEADER + "A1;Sèche-linge;89,90\r\n").encode("utf-16"), "utf-16"),
    ],
)
def test_the_encoding_is_found_and_accents_survive(data: bytes, encoding: str) -> None:
    table = csv_reader.read(data)

    assert table.detected["encoding"] == encoding
    assert table.columns == ["Réf. fournisseur", "Désignation", "PVC TTC"]
    assert table.records[0].cells["Désignation"] == "Sèche-linge"
    assert table.records[0].line == 2


@pytest.mark.parametrize("delimiter", [";", ",", "\t", "|"])
def test_the_delimiter_is_found(delimiter: str) -> None:
    rows = [["ref", "name", "price"], ["A1", "Four, encastrable", "499.00"], ["A2", "Hotte", "89"]]
    text = "\n".join(
        delimiter.join(f'"{c}"' if delimiter in c or "," in c else c for c in row) for row in rows
    )

    table = csv_reader.read(text.encode())

    assert table.detected["delimiter"] == delimiter
    assert table.records[0].cells == {"ref": "A1", "name": "Four, encastrable", "price": "499.00"}


def test_a_line_in_another_encoding_is_refused_naming_it() -> None:
    data = (HEADER + "A1;Lave-linge;89,90\r\n").encode() + "A2;Sèche-linge;9,90\r\n".encode(
        "cp1252"
    )

    assert _refused(csv_reader.read, data) == ("mixed_encoding", 3)


def test_bytes_no_supported_encoding_can_read_are_refused_naming_the_line() -> None:
    data = HEADER.encode("cp1252") + b"A1;Four;10\r\nA2;\x81\x8d;12\r\n"  # undefined in cp1252

    assert _refused(csv_reader.read, data) == ("bad_encoding", 3)


def test_binary_data_is_not_a_csv() -> None:
    assert _refused(csv_reader.read, HEADER.encode() + b"A1;\x00\x01;3\r\n") == ("binary_file", 2)


@pytest.mark.parametrize(
    "data",
    [
        HEADER.encode() + b'A1;"Four encastrable;49',  # cut inside a quoted value
        HEADER.encode() + b"A1;Four encastrable;499,00\r\nA2;Hot",  # cut in the last line
    ],
)
def test_a_truncated_file_is_refused(data: bytes) -> None:
    code, line = _refused(csv_reader.read, data)

    assert code == "truncated"
    assert line in (2, 3)


def test_a_line_with_the_wrong_number_of_columns_is_rejected_not_the_file() -> None:
    table = csv_reader.read((HEADER + "A1;Four;10\r\nA2;Hotte\r\nA3;Plaque;30\r\n").encode())

    assert [r.line for r in table.records] == [2, 4]
    assert [(p.code, p.line) for p in table.problems] == [("wrong_column_count", 3)]


@pytest.mark.parametrize(
    ("raw", "decimal", "expected"),
    [
        ("89,90", ",", "89.90"),
        ("1 400,00 €", ",", "1400.00"),
        ("1\u202f400,00", ",", "1400.00"),
        ("1.400,00", ",", "1400.00"),
        ("1.400", ",", "1400"),
        ("1,400.00", ".", "1400.00"),
        ("89.90", ".", "89.90"),
        ("89,9", ".", "89.9"),
        ("-12,50", ",", "-12.50"),
    ],
)
def test_numbers_as_people_type_them(raw: str, decimal: str, expected: str) -> None:
    assert numbers.parse_decimal(raw, decimal) == Decimal(expected)


@pytest.mark.parametrize("raw", ["abc", "12,50,3", "1.2.3,4,5", "=A1*2", "", "12 €uros"])
def test_what_is_not_a_number_is_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        numbers.parse_decimal(raw, ",")


def test_the_decimal_separator_is_decided_once_per_file() -> None:
    assert numbers.detect_decimal(["89,90", "1 249,00", "12"], ".") == ","
    assert numbers.detect_decimal(["89.90", "1,249.00", "12"], ",") == "."
    assert numbers.detect_decimal(["12", "30"], ",") == ","


def test_units_are_converted() -> None:
    assert numbers.convert(Decimal(595), "mm", "cm") == Decimal("59.5")
    assert numbers.convert(Decimal("2.2"), "kW", "W") == Decimal(2200)
    with pytest.raises(ValueError):
        numbers.convert(Decimal(1), "kg", "cm")


# --- XLSX ------------------------------------------------------------------------------


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_numbers_text_and_formulas() -> None:
    data = _xlsx(
        [
            ["Référence", "Libellé", "Prix public TTC", "Stock"],
            ["EL-1", "Hotte aspirante", 89.9, 12],
            ["EL-2", '=HYPERLINK("http://evil","x")', 10, 1],
        ]
    )

    table = xlsx_reader.read(data)

    assert table.columns == ["Référence", "Libellé", "Prix public TTC", "Stock"]
    assert table.records[0].cells == {
        "Référence": "EL-1",
        "Libellé": "Hotte aspirante",
        "Prix public TTC": "89.9",
        "Stock": "12",
    }
    assert table.records[1].line == 3
    assert "Libellé" in table.records[1].formulas


@pytest.mark.parametrize("data", [b"PK\x03\x04garbage", b"", None])
def test_a_damaged_or_truncated_xlsx_is_refused(data: bytes | None) -> None:
    if data is None:
        whole = supplier_feeds.xlsx_price_list(20)
        data = whole[: len(whole) // 2]

    code, _line = _refused(xlsx_reader.read, data)

    assert code in ("xlsx_unreadable", "empty_file")


# --- BMEcat ----------------------------------------------------------------------------


def test_bmecat_products_become_records_with_features_units_and_prices() -> None:
    table = bmecat.read(supplier_feeds.bmecat_catalog(3))

    first = table.records[0].cells
    assert first["SUPPLIER_PID"] == "BM-DR200001"
    assert first["INTERNATIONAL_PID"] == supplier_feeds.gtin13(200_001)
    assert first["FEATURE:Largeur"] == "595"
    assert first["FEATURE_UNIT:Largeur"] == "mm"
    assert first["PRICE_AMOUNT[net_list]"] and first["PRICE_AMOUNT[nrp]"]
    assert first["CATALOG_GROUP"] in {shop for shop, _label in supplier_feeds.FAMILIES.values()}
    assert table.detected["catalog_id"] == "GROS-ELEC-2027"
    assert table.records[0].line > 1


def test_bmecat_1_2_names_are_read_as_2005_names() -> None:
    data = b"""<?xml version="1.0"?>
<!DOCTYPE BMECAT SYSTEM "bmecat_new_catalog.dtd">
<BMECAT version="1.2"><T_NEW_CATALOG><ARTICLE><SUPPLIER_AID>A1</SUPPLIER_AID>
<ARTICLE_DETAILS><EAN>4006381333931</EAN><MANUFACTURER_AID>WGG244</MANUFACTURER_AID>
</ARTICLE_DETAILS></ARTICLE></T_NEW_CATALOG></BMECAT>"""

    [record] = bmecat.read(data).records

    assert record.cells == {
        "SUPPLIER_PID": "A1",
        "INTERNATIONAL_PID": "4006381333931",
        "MANUFACTURER_PID": "WGG244",
    }
    assert record.line == 3


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<BMECAT><T_NEW_CATALOG><PRODUCT><SUPPLIER_PID>&lol3;</SUPPLIER_PID></PRODUCT></T_NEW_CATALOG></BMECAT>"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE BMECAT [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<BMECAT><T_NEW_CATALOG><PRODUCT><SUPPLIER_PID>&xxe;</SUPPLIER_PID></PRODUCT></T_NEW_CATALOG></BMECAT>"""
EXTERNAL_DTD_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE BMECAT [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<BMECAT/>"""


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, EXTERNAL_ENTITY, EXTERNAL_DTD_ENTITY],
    ids=["billion laughs", "external entity", "external parameter entity"],
)
def test_malicious_xml_is_refused_before_anything_is_expanded(data: bytes) -> None:
    code, line = _refused(bmecat.read, data)

    assert code == "xml_forbidden"
    assert line is not None and line >= 2


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (supplier_feeds.bmecat_catalog(3)[:1500], "xml_malformed"),
        (b"<catalog><item/></catalog>", "xml_not_bmecat"),
    ],
)
def test_truncated_or_foreign_xml_is_refused(data: bytes, code: str) -> None:
    assert _refused(bmecat.read, data)[0] == code


def test_the_format_comes_from_the_bytes_then_the_name() -> None:
    assert detect_format("tarif.csv", b"PK\x03\x04...") == "xlsx"
    assert detect_format("export.txt", b"\xef\xbb\xbf<?xml version='1.0'?><BMECAT/>") == "bmecat"
    assert detect_format("export.txt", b"ref;name") == "csv"


# --- mapping -----------------------------------------------------------------------------


def test_a_new_suppliers_header_gets_a_first_mapping() -> None:
    header = csv_reader.read(supplier_feeds.french_csv(2)).columns

    suggested = mapping.suggest(header)

    assert suggested == {
        **{k: v for k, v in supplier_feeds.CSV_PROFILE["columns"].items() if k != "Largeur (mm)"},  # type: ignore[union-attr]
        "Largeur (mm)": "attr:largeur_mm",
    }


def _read_line(csv_text: str, profile: dict[str, object]) -> mapping.FeedLine:
    table = csv_reader.read(csv_text.encode())
    full = mapping.complete(profile, table)
    return mapping.LineReader(full, table).read(table.records[0])


@pytest.mark.parametrize(
    ("cell", "code"),
    [
        ("=1+2", "formula"),
        ("@SUM(A1)", "formula"),
        ("+cmd|' /C calc'!A0", "formula"),
        ("-2+3", "formula"),
        ("-12", "negative"),  # in a number column, a sign
    ],
)
def test_formulas_in_cells_are_refused_naming_line_and_column(cell: str, code: str) -> None:
    numbers_line = _read_line(f"ref;Stock\nA1;{cell}\n", {})
    text_line = _read_line(f"ref;Désignation\nA1;{cell}\n", {})

    assert [(p.code, p.column, p.line) for p in text_line.problems] == [
        ("formula", "Désignation", 2)
    ]
    assert [p.code for p in numbers_line.problems] == [code]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("3760000000017", None),
        ("3 760000 000017", None),
        ("03760000000017", None),  # GTIN-14
        ("3760000000018", "check_digit"),
        ("37600000000", "length"),
        ("37600A0000017", "digits"),
    ],
)
def test_gtin_check_digits(value: str, problem: str | None) -> None:
    line = _read_line(f"ref;EAN\nA1;{value}\n", {})

    found = [p.params.get("why") for p in line.problems if p.code == "bad_gtin"]
    assert found == ([problem] if problem else [])
    if problem is None:
        assert line.gtin == value.replace(" ", "")


def test_problems_read_in_french_by_default_and_in_english_on_request() -> None:
    line = _read_line("ref;PVC TTC\nA1;-89,90\n", {})
    [problem] = line.problems

    assert describe(problem, "fr") == "Ligne 2, colonne PVC TTC : -89,90 est négatif."
    assert describe(problem, "en") == "Line 2, column PVC TTC: -89,90 is negative."
