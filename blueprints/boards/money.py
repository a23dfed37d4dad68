"""Money: carriers' remittance statements (managers): the column mapping, the upload and
each statement's matched lines."""

import re

from flask import request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from wtforms import BooleanField, SelectField, StringField
from wtforms.validators import InputRequired, Length

from extensions import db
from models import Actor, Carrier, RemittanceLine, RemittanceStatement
from models.errors import InvalidInput
from models.money.remittances import (
    Columns,
    ImportResult,
    import_statement,
    save_mapping,
    saved_mapping,
)
from models.money.tables import OUTCOMES
from models.status import SHIPPING_INFO, Role

from ..i18n import money
from ..intake.forms import upload_content
from ..web import form_error, get_or_404, render, role_required
from . import bp

STATEMENTS_SHOWN = 50
LINES_SHOWN = 1000
OUTCOME_LABELS = {"remitted": _l("Remitted"), "short": _l("Short"), "over": _l("Over"),
                  "unknown": _l("Unknown tracking"), "duplicate": _l("Duplicate")}

# A line's note is stored in English (it is data, written once by whoever imported; see
# models/money/remittances.match_rows); these read it back in the reader's language.
# A note of another shape is shown as stored.
NOTE_SAME = re.compile(r"Same tracking number as line (\d+) of this statement\.")
NOTE_UNKNOWN = re.compile(r"No parcel of (.+) has this tracking number\.")
NOTE_SETTLED = re.compile(r"Already remitted in statement #(\d+), line (\d+)\.")
NOTE_AMOUNTS = re.compile(r"Expected (-?\d+\.\d\d), collected (-?\d+\.\d\d)\.")
NOTE_STATUS = re.compile(r"The order is not marked delivered \((.+)\)\.")


def _cents_of(text: str) -> int:
    """A note's amount (1234.50) back in cents."""
    return round(float(text) * 100)


def note_text(note: str) -> str:
    """A stored note as the reader's language says it."""
    if not note:
        return ""
    if match := NOTE_SAME.fullmatch(note):
        return _("Same tracking number as line %(line)s of this statement.", line=match[1])
    if match := NOTE_UNKNOWN.fullmatch(note):
        return _("No parcel of %(carrier)s has this tracking number.", carrier=match[1])
    if match := NOTE_SETTLED.fullmatch(note):
        return _("Already remitted in statement #%(id)s, line %(line)s.", id=match[1],
                 line=match[2])
    parts, rest = [], note
    if match := NOTE_AMOUNTS.match(rest):
        parts.append(_("Expected %(expected)s, collected %(collected)s.",
                       expected=money(_cents_of(match[1])), collected=money(_cents_of(match[2]))))
        rest = rest[match.end():].strip()
    if match := NOTE_STATUS.fullmatch(rest):
        info = SHIPPING_INFO.get(match[1])
        status = str(info.label) if info else (
            _("not shipped") if match[1] == "not shipped" else match[1])
        parts.append(_("The order is not marked delivered (%(status)s).", status=status))
        rest = ""
    return note if rest else " ".join(parts)


class RemittanceForm(FlaskForm):
    """A carrier, its statement's column names, and a statement file."""

    carrier_id = SelectField(_l("Carrier"), coerce=int, validators=[InputRequired()])
    tracking_number = StringField(_l("Tracking number column"), validators=[Length(max=64)])
    amount = StringField(_l("Amount collected column"), validators=[Length(max=64)])
    fees = StringField(_l("Fees column (empty: no fees)"), validators=[Length(max=64)])
    payout_date = StringField(_l("Payout date column"), validators=[Length(max=64)])
    reference = StringField(_l("Reference column (optional)"), validators=[Length(max=64)])
    decimal_comma = BooleanField(_l("Amounts use a decimal comma (1.234,50)"))
    file = FileField(_l("Statement CSV file"))

    def columns(self) -> Columns:
        """The mapping as typed."""
        return Columns(tracking_number=self.tracking_number.data or "",
                       amount=self.amount.data or "", fees=self.fees.data or "",
                       payout_date=self.payout_date.data or "",
                       reference=self.reference.data or "",
                       decimal_comma=bool(self.decimal_comma.data))


def statement_carriers() -> list[Carrier]:
    """Carriers a statement can come from."""
    return db.session.scalars(select(Carrier).order_by(Carrier.name)).all()


def remittance_form(carriers: list[Carrier], carrier_id: int | None = None,
          posted: bool = False) -> RemittanceForm:
    """The form as posted, or prefilled with the carrier's saved mapping (or the defaults)."""
    if posted:
        form = RemittanceForm()
    else:
        chosen = carrier_id if any(c.id == carrier_id for c in carriers) else (
            carriers[0].id if carriers else None)
        columns = Columns.of(saved_mapping(chosen)) if chosen else Columns()
        form = RemittanceForm(formdata=None, data={**columns.__dict__, "carrier_id": chosen})
    form.carrier_id.choices = [(c.id, c.name) for c in carriers]
    return form


def _statement_context(statement: RemittanceStatement | None) -> dict:
    """A statement's lines (the first 1,000) and its count of lines by outcome."""
    if statement is None:
        return {}
    counts = dict(db.session.execute(
        select(RemittanceLine.outcome, func.count()).where(
            RemittanceLine.statement_id == statement.id).group_by(RemittanceLine.outcome)).all())
    lines = db.session.scalars(
        select(RemittanceLine).where(RemittanceLine.statement_id == statement.id)
        .order_by(RemittanceLine.line_no).limit(LINES_SHOWN + 1)).all()
    return {"statement": statement, "counts": counts, "lines": lines[:LINES_SHOWN],
            "more_lines": len(lines) > LINES_SHOWN,
            "statement_carrier": db.session.get(Carrier, statement.carrier_id)}


def remittances_page(form: RemittanceForm, status: int = 200, **context):
    """The remittances board (the `board` block alone for htmx)."""
    statements = db.session.execute(
        select(RemittanceStatement, Carrier.name)
        .join(Carrier, Carrier.id == RemittanceStatement.carrier_id)
        .order_by(RemittanceStatement.uploaded_at.desc(), RemittanceStatement.id.desc())
        .limit(STATEMENTS_SHOWN)).all()
    return render("boards/remittances.html", block="board", status=status, form=form,
                  statements=statements, outcomes=OUTCOMES, outcome_labels=OUTCOME_LABELS,
                  remittance_note=note_text, **context)


@bp.get("/money/remittances")
@role_required(Role.MANAGER)
def remittances():
    """The upload form for the chosen carrier, past statements, and one statement's lines."""
    statement_id = request.args.get("statement_id", type=int)
    statement = get_or_404(RemittanceStatement, statement_id) if statement_id else None
    carrier_id = request.args.get("carrier_id", type=int) or (
        statement.carrier_id if statement else None)
    return carrier_page(carrier_id, **_statement_context(statement))


@bp.post("/money/remittances")
@role_required(Role.MANAGER)
def post_remittances():
    """Save the carrier's column mapping, or import a statement file with it."""
    form = remittance_form(statement_carriers(), posted=True)
    saving = request.form.get("action") == "save_mapping"
    try:
        if not form.validate():
            raise form_error(form)
        carrier = db.session.get(Carrier, form.carrier_id.data)
        if saving:
            save_mapping(carrier, form.columns())
            db.session.commit()
            return carrier_page(carrier.id, saved=_("%(carrier)s's column mapping saved.",
                                                    carrier=carrier.name))
        name, content = upload_content(request.files.get("file"))
        result = import_statement(carrier, name, content, form.columns(), Actor.of(current_user))
        db.session.commit()
    except InvalidInput as refused:
        db.session.rollback()
        return remittances_page(form, status=refused.status_code, problem=refused.message)
    except IntegrityError:
        # Two imports of the same carrier at once: the database refused the second.
        db.session.rollback()
        return remittances_page(form, status=409, problem=_(
            "Another statement of this carrier was being imported at the same moment. "
            "Upload the file again to see its result."))
    return imported_page(carrier, result)


def carrier_page(carrier_id: int | None, **context):
    """The remittances board with the form set to this carrier's saved mapping."""
    return remittances_page(remittance_form(statement_carriers(), carrier_id), **context)


def imported_page(carrier: Carrier, result: ImportResult):
    """The board after an import: the statement's result and the rows refused."""
    return carrier_page(carrier.id, refused=result.refused,
                        already_imported=result.already_imported,
                        **_statement_context(result.statement))
