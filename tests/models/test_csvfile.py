"""Order CSV files: encodings, separators, quoting, headers, grouping, and the reasons each
refused row is given."""

import csv
import io
from pathlib import Path

import pytest

from models.intake.csvfile import (
    CsvFileError,
    check_orders,
    detect_encoding,
    header_field,
    neutralise,
    parse_amount,
    read_csv,
    refused_rows_csv,
    template_csv,
)
from models.intake.incoming import Catalogue, CatalogueItem

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "csv"
HEADER = "order_id,customer_name,phone,address,city,sku,quantity\n"
CATALOGUE = Catalogue({
    "TSHIRT-M": CatalogueItem(1, "T-shirt M", 14900, None),
    "CAP-BLACK": CatalogueItem(2, "Black cap", 5000, None),
})


def orders_of(content: bytes, size: int = 2000) -> list:
    """Every order of a file, checked against the test catalogue, in chunk order."""
    csv_file = read_csv(content)
    out = []
    for chunk in csv_file.chunks(csv_file.plan(size)):
        check_orders(chunk, CATALOGUE, "MA")
        out += chunk
    return out


def report(orders) -> list[tuple[int, str, list[str]]]:
    """(line, order id, reasons) of every refused row, by line."""
    rows = [(row.line, o.external_id, reasons) for o in orders if not o.ok
            for row, reasons in o.refusals()]
    return sorted(rows)


# -- encodings ------------------------------------------------------------------------------

@pytest.mark.parametrize(("encoding", "name", "detected"), [
    ("utf-8", "محمد العلوي", "utf-8"),
    ("utf-8-sig", "Hélène Amrani", "utf-8-sig"),
    ("cp1256", "محمد العلوي", "cp1256"),
    ("cp1256", "فاطمة الزهراء بنعلي", "cp1256"),
    ("latin-1", "Hélène Amrani", "latin-1"),
    ("latin-1", "François Lefèvre, Fès", "latin-1"),
    ("latin-1", "ÉLODIE MÉRIEUX", "latin-1"),
])
def test_read_csv_decodes_each_encoding_excel_writes(encoding, name, detected):
    content = (HEADER + f'1,"{name}",0612345678,Rue 1,Fès,TSHIRT-M,1\n').encode(encoding)
    assert detect_encoding(content) == detected
    [order] = orders_of(content)
    assert order.incoming.customer_name == name
    assert order.incoming.city == "Fès"
    assert order.ok


def test_detect_encoding_prefers_arabic_when_a_file_mixes_arabic_names_and_french_towns():
    text = HEADER + "1,عبد الرحيم,0612345678,Résidence,Salé,TSHIRT-M,1\n"
    assert detect_encoding(text.encode("cp1256")) == "cp1256"


# -- separators, quoting, line numbers ----------------------------------------------------------

@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_read_csv_finds_the_separator_from_the_header(delimiter):
    rows = [HEADER.strip().split(","), ["1", "Amal", "0612345678", "Rue 1", "Rabat", "CAP-BLACK",
                                        "2"]]
    content = "\n".join(delimiter.join(r) for r in rows).encode()
    csv_file = read_csv(content)
    assert csv_file.delimiter == delimiter
    [order] = orders_of(content)
    assert order.incoming.lines[0].quantity == 2 and order.ok


def test_quoted_commas_and_newlines_stay_in_their_cell_and_lines_count_physical_lines():
    content = (HEADER.replace(",", ";")
               + '1;"Alaoui; Fatima";0612345678;"Appt 4;\nRésidence Atlas\nEntrée B";Rabat;'
                 'CAP-BLACK;1\n'
               + "2;Amal;0612345678;Rue 1;Rabat;NOPE;1\r\n").encode()
    first, second = orders_of(content)
    assert first.incoming.customer_name == "Alaoui; Fatima"
    assert first.incoming.address == "Appt 4;\nRésidence Atlas\nEntrée B"
    assert first.rows[0].line == 2
    assert report([second]) == [(5, "2", ["Unknown SKU “NOPE”."])]


def test_blank_lines_are_skipped_but_counted_in_line_numbers():
    content = (HEADER + "\n1,Amal,0612345678,Rue 1,Rabat,NOPE,1\n,,,,,,\n").encode()
    csv_file = read_csv(content)
    assert csv_file.plan().total_rows == 1
    assert report(orders_of(content)) == [(3, "1", ["Unknown SKU “NOPE”."])]


# -- headers ---------------------------------------------------------------------------------------

def test_headers_ignore_case_spaces_and_take_french_synonyms():
    content = ("Order ID; Customer Name ;Téléphone;Adresse;VILLE;Produit;Quantité;Prix;Colour\n"
               "7;Amal;0612345678;Rue 1;Rabat;TSHIRT-M;3;120,50;red\n").encode("cp1252")
    [order] = orders_of(content)
    line = order.incoming.lines[0]
    assert (order.external_id, order.incoming.phone, order.incoming.city) == (
        "7", "0612345678", "Rabat")
    assert (line.sku, line.quantity, line.unit_price_cents) == ("TSHIRT-M", 3, 12050)
    assert order.incoming.cod_amount_cents == 3 * 12050


@pytest.mark.parametrize(("header", "expected"), [
    ("telephone", "phone"), ("quantite", "quantity"), ("  Unit-Price ", "unit_price"),
    ("COD amount", "cod_amount"), ("Shipping  Method", "shipping_method"), ("ville", "city"),
])
def test_header_field(header, expected):
    assert header_field(header) == expected


def test_a_file_without_required_columns_is_refused_as_a_whole():
    with pytest.raises(CsvFileError, match="Missing columns: phone, quantity"):
        read_csv(b"order_id,customer_name,address,city,sku\n1,A,B,C,D\n")


def test_two_columns_meaning_the_same_is_refused():
    with pytest.raises(CsvFileError, match="Two columns both mean phone"):
        read_csv((HEADER.strip() + ",telephone\n").encode())


def test_an_empty_first_line_is_refused():
    with pytest.raises(CsvFileError, match="empty"):
        read_csv(b"\n\n1,2,3\n")


# -- grouping and reasons ------------------------------------------------------------------------

def test_rows_sharing_an_order_id_make_one_order_even_apart_and_across_chunks():
    rows = ["10,Amal,0612345678,Rue 1,Rabat,TSHIRT-M,1",
            "11,Badr,0612345679,Rue 2,Fès,CAP-BLACK,1",
            "12,Chama,0612345670,Rue 3,Fès,CAP-BLACK,2",
            "10,Amal,0612345678,Rue 1,Rabat,CAP-BLACK,2"]
    orders = orders_of((HEADER + "\n".join(rows) + "\n").encode(), size=1)
    assert [o.external_id for o in orders] == ["11", "12", "10"]  # 10 waits for its last row
    ten = orders[-1]
    assert [(line.sku, line.quantity) for line in ten.incoming.lines] == [
        ("TSHIRT-M", 1), ("CAP-BLACK", 2)]
    assert [r.line for r in ten.rows] == [2, 5]
    assert ten.incoming.cod_amount_cents == 14900 + 2 * 5000
    assert all(o.ok for o in orders)


def test_the_report_lists_every_refused_row_with_its_line_order_and_every_reason():
    orders = orders_of((FIXTURES / "good_bad_duplicate.csv").read_bytes())
    assert [o.external_id for o in orders if o.ok] == ["A1", "C3"]
    assert report(orders) == [
        (4, "B2", ["Quantity “deux” is not a whole number."]),
        (7, "B2", ["Unknown SKU “NOPE”."]),
        (8, "D4", ["“12” is not a phone number.",
                   "COD amount “12,5O” is not an amount (write 149.00 or 149,00)."]),
        (9, "E5", ["Refused with the rest of its order: see line 10."]),
        (10, "E5", ["SKU TSHIRT-M is already on line 9 of this order: put the whole quantity "
                    "on one row."]),
        (11, "F6", ["Refused with the rest of its order: see line 12."]),
        (12, "F6", ["Phone “0699999999” differs from “0611111111” on line 11: every row of "
                    "order F6 must agree."]),
    ]


def test_order_level_values_come_from_the_first_row_and_blank_repeats_agree():
    rows = ["1,Amal,0612345678,Rue 1,Rabat,TSHIRT-M,1,300.00",
            "1,,,,,CAP-BLACK,1,"]
    header = HEADER.strip() + ",cod_amount\n"
    [order] = orders_of((header + "\n".join(rows) + "\n").encode())
    assert order.ok
    assert order.incoming.cod_amount_cents == 30000
    assert order.incoming.customer_name == "Amal"


def test_a_row_without_order_id_is_refused_on_its_own():
    rows = [",Amal,0612345678,Rue 1,Rabat,TSHIRT-M,1", ",Badr,0612345679,Rue 2,Fès,CAP-BLACK,1"]
    orders = orders_of((HEADER + "\n".join(rows) + "\n").encode())
    assert report(orders) == [(2, "", ["Order id is required."]),
                              (3, "", ["Order id is required."])]


def test_a_row_with_more_cells_than_the_header_asks_for_quotes():
    content = (HEADER + "1,Amal,0612345678,12, Rue 1,Rabat,TSHIRT-M,1\n").encode()
    [order] = orders_of(content)
    assert not order.ok
    assert "must be put in double quotes" in report([order])[0][2][0]


@pytest.mark.parametrize(("text", "cents"), [
    ("149", 14900), ("149.5", 14950), ("149,50", 14950), ("1 234,05", 123405), ("0.07", 7)])
def test_parse_amount_takes_dot_or_comma(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["12,5O", "1,234.50", "-5", "12.345", "abc", "1e3"])
def test_parse_amount_refuses_what_is_not_an_amount(text):
    with pytest.raises(ValueError):
        parse_amount(text)


# -- files we hand out ---------------------------------------------------------------------------

def test_template_reads_back_as_one_order_of_two_lines():
    content = template_csv().encode()
    assert content.startswith(b"\xef\xbb\xbf")
    [order] = orders_of(content)
    assert order.ok, report([order])
    assert [line.sku for line in order.incoming.lines] == ["TSHIRT-M", "CAP-BLACK"]
    assert order.incoming.cod_amount_cents == 34800


@pytest.mark.parametrize(("cell", "shown"), [
    ("=HYPERLINK(\"x\")", "'=HYPERLINK(\"x\")"), ("+212612345678", "'+212612345678"),
    ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Amal", "Amal"), ("", "")])
def test_neutralise_keeps_spreadsheets_from_running_cells(cell, shown):
    assert neutralise(cell) == shown


def test_refused_rows_file_gives_the_rows_back_and_reads_again_without_the_quote():
    content = (HEADER.replace(",", ";")
               + "1;=cmd|' /C calc'!A0;+212612345678;Rue 1;Rabat;NOPE;1\n"
               + "2;Amal;0612345678;Rue 2;Rabat;TSHIRT-M;1\n").encode()
    csv_file = read_csv(content)
    out = refused_rows_csv(csv_file, {2: ["Unknown SKU “NOPE”."]})
    rows = list(csv.reader(io.StringIO(out.lstrip("\ufeff")), delimiter=";"))
    assert rows == [
        [*HEADER.strip().split(","), "line", "reasons"],
        ["1", "'=cmd|' /C calc'!A0", "'+212612345678", "Rue 1", "Rabat", "NOPE", "1", "2",
         "Unknown SKU “NOPE”."],
    ]
    [again] = orders_of(out.encode())
    assert again.incoming.phone == "+212612345678"
    assert again.incoming.customer_name == "=cmd|' /C calc'!A0"
