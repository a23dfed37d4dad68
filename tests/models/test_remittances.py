"""Remittance statements: reading through a carrier's mapping, and matching case by case."""

from datetime import date

import pytest
from sqlalchemy import event, func, select

from extensions import db
from models import Actor, Order, Parcel, RemittanceLine, RemittanceStatement
from models.errors import InvalidInput
from models.money.remittances import (
    Columns,
    import_statement,
    parse_money,
    saved_mapping,
)


@pytest.fixture
def manager(make_user):
    """The actor importing statements."""
    return Actor.of(make_user("manager"))


@pytest.fixture
def delivered(make_order, make_carrier):
    """delivered(tracking, cod_cents=12900, carrier=None) -> a delivered order's parcel."""
    carrier = make_carrier()
    counter = iter(range(1, 10**6))

    def make(tracking: str, cod_cents: int = 12900, carrier=carrier, **parcel) -> Parcel:
        order = make_order(carrier=carrier, cod_amount_cents=cod_cents,
                           confirmation_status="confirmed", shipping_status="delivered")
        row = Parcel(order_id=order.id, carrier_id=carrier.id, tracking_number=tracking,
                     idempotency_key=f"remit-{next(counter)}", **parcel)
        db.session.add(row)
        db.session.commit()
        return row

    make.carrier = carrier
    return make


def csv(*rows: str, header: str = "tracking_number,amount,fees,payout_date") -> bytes:
    """A statement file with this header and rows."""
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


def run(carrier, content: bytes, actor, columns: Columns | None = None, name="statement.csv"):
    """Import and commit, as the view does."""
    result = import_statement(carrier, name, content, columns or Columns(), actor)
    db.session.commit()
    return result


def outcomes(result) -> list[tuple[int, str, int]]:
    """(line, outcome, difference) of every line of the imported statement."""
    return [(line.line_no, line.outcome, line.difference_cents)
            for line in db.session.scalars(
                select(RemittanceLine).where(RemittanceLine.statement_id == result.statement.id)
                .order_by(RemittanceLine.line_no))]


def test_remittance_exact_short_over_and_unknown(delivered, manager):
    exact, short, over = delivered("SBX1"), delivered("SBX2"), delivered("SBX3")
    result = run(delivered.carrier, csv("SBX1,129.00,15.00,2026-11-20",
                                        "SBX2,100.00,15.00,2026-11-20",
                                        "sbx-3,150.50,15.00,2026-11-20",
                                        "NOPE9,50.00,0,2026-11-20"), manager)
    assert outcomes(result) == [(2, "remitted", 0), (3, "short", -2900), (4, "over", 2150),
                                (5, "unknown", 0)]
    lines = {line.line_no: line for line in db.session.scalars(select(RemittanceLine))}
    assert (lines[2].parcel_id, lines[2].order_id) == (exact.id, exact.order_id)
    assert lines[3].parcel_id == short.id and "Expected 129.00" in lines[3].note
    assert lines[4].parcel_id == over.id and lines[4].tracking_number == "SBX3"
    assert lines[5].parcel_id is None and "No parcel" in lines[5].note
    statement = result.statement
    assert statement.collected_cents == 12900 + 10000 + 15050 + 5000
    assert statement.fees_cents == 4500
    assert statement.net_cents == statement.collected_cents - 4500
    assert statement.disputed_cents == -2900 + 2150
    assert statement.uploaded_by_name == manager.name and statement.rows == 4


def test_remittance_matches_only_that_carriers_parcels(delivered, make_carrier, manager):
    other = make_carrier()
    delivered("SBX7", carrier=other)
    result = run(delivered.carrier, csv("SBX7,129.00,0,2026-11-20"), manager)
    assert outcomes(result) == [(2, "unknown", 0)]


def test_remittance_same_tracking_twice_in_one_statement(delivered, manager):
    delivered("SBX1")
    result = run(delivered.carrier, csv("SBX1,129.00,10,2026-11-20",
                                        "SBX 1,129.00,10,2026-11-20"), manager)
    assert outcomes(result) == [(2, "remitted", 0), (3, "duplicate", 0)]
    line = db.session.scalar(select(RemittanceLine).where(RemittanceLine.line_no == 3))
    assert line.note == "Same tracking number as line 2 of this statement."
    # Counted once.
    assert (result.statement.collected_cents, result.statement.fees_cents) == (12900, 1000)


def test_remittance_parcel_remitted_in_an_earlier_statement(delivered, manager):
    delivered("SBX1")
    first = run(delivered.carrier, csv("SBX1,129.00,10,2026-11-20"), manager)
    second = run(delivered.carrier, csv("SBX1,129.00,10,2026-11-27",
                                        header="tracking_number,amount,fees,payout_date,x"),
                 manager)
    assert not second.already_imported
    assert outcomes(second) == [(2, "duplicate", 0)]
    line = db.session.scalar(select(RemittanceLine).where(
        RemittanceLine.statement_id == second.statement.id))
    assert line.note == f"Already remitted in statement #{first.statement.id}, line 2."
    assert second.statement.collected_cents == 0


def test_remittance_same_file_imported_twice_creates_nothing(delivered, manager):
    delivered("SBX1")
    content = csv("SBX1,129.00,10,2026-11-20")
    first = run(delivered.carrier, content, manager)
    again = run(delivered.carrier, content, manager, name="copy.csv")
    assert again.already_imported and again.statement.id == first.statement.id
    assert db.session.scalar(select(func.count()).select_from(RemittanceStatement)) == 1
    assert db.session.scalar(select(func.count()).select_from(RemittanceLine)) == 1


def test_remittance_bad_rows_are_refused_with_reasons(delivered, manager):
    delivered("SBX1")
    result = run(delivered.carrier, csv("SBX1,129.00,10,2026-11-20",
                                        ",129.00,10,2026-11-20",
                                        "SBX2,abc,10,2026-11-20",
                                        "SBX3,129.00,10,31/02/2026",
                                        "SBX4,129.00,ten,"), manager)
    assert outcomes(result) == [(2, "remitted", 0)]
    refused = {r.line: r.reasons for r in result.refused}
    assert refused[3] == ["The tracking number is empty."]
    assert refused[4] == ["Amount “abc” is not an amount (write 1234.50)."]
    assert refused[5] == ["Payout date “31/02/2026” is not a date (write 2026-11-28 or "
                          "28/11/2026)."]
    assert refused[6] == ["Fees “ten” is not an amount (write 1234.50).",
                          "The payout date is empty."]
    assert (result.statement.rows, result.statement.refused_rows) == (5, 4)


def test_remittance_all_rows_refused_stores_no_statement(delivered, manager):
    delivered("SBX1")
    content = csv("SBX1,\"129,00\",10,2026-11-20", header="tracking_number,amount,fees,payout_date")
    result = run(delivered.carrier, content, manager)
    assert result.statement is None and result.refused[0].line == 2
    # Once told amounts use a decimal comma, the very same file imports.
    again = run(delivered.carrier, content, manager, Columns(decimal_comma=True))
    assert outcomes(again) == [(2, "remitted", 0)]


def test_remittance_decimal_comma_and_semicolons(delivered, manager):
    delivered("SBX1", cod_cents=123450)
    content = "N° de suivi;Montant;Frais;Date de paiement\r\nSBX1;1.234,50;-15,00;20/11/2026\r\n"
    result = run(delivered.carrier, content.encode("latin-1"), manager,
                 Columns(decimal_comma=True))
    assert outcomes(result) == [(2, "remitted", 0)]
    line = db.session.scalar(select(RemittanceLine))
    assert (line.amount_cents, line.fees_cents, line.payout_date) == (
        123450, 1500, date(2026, 11, 20))


def test_remittance_mapping_is_saved_and_reused(delivered, manager):
    delivered("SBX1")
    delivered("SBX2")
    carrier = delivered.carrier
    header = "Colis,Encaissé,Commission,Virement le,Lot"
    columns = Columns(tracking_number="colis", amount="encaissé", fees="Commission",
                      payout_date="Virement le", reference="Lot")
    run(carrier, csv("SBX1,129.00,10,2026-11-20,L1", header=header), manager, columns)
    mapping = saved_mapping(carrier.id)
    assert (mapping.tracking_number, mapping.amount, mapping.payout_date, mapping.reference) == (
        "Colis", "Encaissé", "Virement le", "Lot")
    second = run(carrier, csv("SBX2,129.00,10,2026-11-27,L2", header=header), manager,
                 Columns.of(mapping))
    assert outcomes(second) == [(2, "remitted", 0)]
    assert db.session.scalar(select(RemittanceLine.reference).where(
        RemittanceLine.statement_id == second.statement.id)) == "L2"


def test_remittance_saved_mapping_missing_column_is_refused(delivered, manager):
    carrier = delivered.carrier
    run(carrier, csv("SBX1,129.00,10,2026-11-20"), manager)
    with pytest.raises(InvalidInput, match="no column for the amount collected"):
        import_statement(carrier, "s.csv", csv("SBX1,129.00,10,2026-11-20",
                                               header="tracking_number,montant,fees,payout_date"),
                         Columns.of(saved_mapping(carrier.id)), manager)
    db.session.rollback()


@pytest.mark.parametrize(("text", "comma", "cents"), [
    ("129", False, 12900), ("129.5", False, 12950), ("1,234.50", False, 123450),
    ("1 234.50 MAD", False, 123450), ("129,00", True, 12900), ("1.234,50", True, 123450),
])
def test_parse_money_reads_carriers_amounts(text, comma, cents):
    assert parse_money(text, comma) == cents


@pytest.mark.parametrize(("text", "comma"), [("129,00", False), ("1.234.50", False),
                                             ("-5", False), ("12.34", True), ("", False)])
def test_parse_money_refuses_what_is_not_an_amount(text, comma):
    with pytest.raises(ValueError):
        parse_money(text, comma)


def test_remittance_finds_a_stored_number_that_keeps_its_dashes(delivered, manager):
    parcel = delivered("AB-123-MA")
    result = run(delivered.carrier, csv("ab-123-ma,129.00,0,2026-11-20"), manager)
    assert outcomes(result) == [(2, "remitted", 0)]
    assert db.session.scalar(select(RemittanceLine.parcel_id)) == parcel.id


def test_remittance_notes_cash_for_an_order_not_delivered(delivered, manager):
    parcel = delivered("SBX1")
    db.session.get(Order, parcel.order_id).shipping_status = "returned"
    db.session.commit()
    result = run(delivered.carrier, csv("SBX1,129.00,0,2026-11-20"), manager)
    assert outcomes(result) == [(2, "remitted", 0)]
    assert db.session.scalar(select(RemittanceLine.note)) == (
        "The order is not marked delivered (returned).")


def test_remittance_looks_parcels_up_a_thousand_at_a_time(app, delivered, manager):
    for n in range(3):
        delivered(f"SBX{n}")
    rows = [f"SBX{n},129.00,0,2026-11-20" for n in range(2500)]
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        result = run(delivered.carrier, csv(*rows), manager)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    parcel_reads = [s for s in statements if "FROM parcels" in s]
    assert len(parcel_reads) == 3  # 2,500 numbers: three lookups, not one per row
    assert outcomes(result)[:4] == [(2, "remitted", 0), (3, "remitted", 0),
                                    (4, "remitted", 0), (5, "unknown", 0)]
