"""CSV imports: an upload's life (stored, checked, imported) and its two jobs.

The check job reads the whole file and stores what the preview page shows; the import
job reads it again (the file is the truth) and creates its orders through the intake
door, one chunk per transaction, so a retried job resumes where the last one stopped.
"""

import logging

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update

from models.actor import Actor
from models.base import db, utcnow
from models.catalog.sales import Channel
from models.intake.create import create_orders, existing_orders
from models.intake.csvfile import (
    PREVIEW_ROWS,
    CsvFileError,
    FileOrder,
    add_problems,
    check_orders,
    read_csv,
)
from models.intake.incoming import Catalogue
from models.intake.tables import CsvImport
from models.settings import CallSettings
from models.user import User
from workers import job

log = logging.getLogger(__name__)

IMPORTS = CsvImport.__table__
PREVIEW_COLUMNS = ("order_id", "customer_name", "phone", "city", "sku", "quantity",
                   "unit_price")


def check_job_id(import_id: int) -> str:
    """The check job of one upload (enqueued once)."""
    return f"csv-check-{import_id}"


def import_job_id(import_id: int) -> str:
    """The import job of one upload (enqueued once)."""
    return f"csv-import-{import_id}"


# -- the upload's life ----------------------------------------------------------------------

def store_upload(channel_id: int, filename: str, content: bytes, user_id: int | None) -> int:
    """Keep an uploaded file for its check job; the caller commits, then enqueues."""
    upload = CsvImport(channel_id=channel_id, filename=filename[:255], content=content,
                       created_by_id=user_id, state="checking")
    db.session.add(upload)
    db.session.flush()
    return upload.id


def forget_upload(import_id: int) -> None:
    """Drop an upload whose check could not be enqueued (nothing stays half-started)."""
    db.session.execute(IMPORTS.delete().where(IMPORTS.c.id == import_id))


def begin_import(import_id: int) -> bool:
    """Mark a checked upload with orders to create as importing; False if it is not one."""
    result = db.session.execute(
        update(IMPORTS)
        .where(IMPORTS.c.id == import_id, IMPORTS.c.state == "checked",
               IMPORTS.c.valid_orders > 0)
        .values(state="importing", done_rows=0, created_orders=0, existing_orders=0))
    return result.rowcount == 1


def undo_begin(import_id: int) -> None:
    """Back to checked when the import job could not be enqueued."""
    _set(import_id, state="checked")


def _set(import_id: int, **values) -> None:
    """Write some columns of an upload (plain UPDATE: the file itself is never reloaded)."""
    db.session.execute(update(IMPORTS).where(IMPORTS.c.id == import_id).values(**values))


def _fail(import_id: int, message: str) -> None:
    """Record why a job stopped; what earlier chunks committed stays."""
    db.session.rollback()
    _set(import_id, state="failed", error=message[:500], finished_at=utcnow())
    db.session.commit()


def _settings() -> tuple[str, str]:
    """(phone region, default currency) the checks use."""
    return CallSettings.load().phone_region, current_app.config["DEFAULT_CURRENCY"]


def _rejects(order: FileOrder) -> list[dict]:
    """A refused order's rows for the report."""
    return [{"line": row.line, "order_id": order.external_id, "reasons": reasons}
            for row, reasons in order.refusals()]


def _preview(order: FileOrder, status: str) -> list[dict]:
    """An order's rows as the preview shows them."""
    reasons = dict((row.line, r) for row, r in order.refusals()) if status == "refused" else {}
    return [{"line": row.line, **{c: row.values.get(c, "") for c in PREVIEW_COLUMNS},
             "status": status, "reasons": reasons.get(row.line, [])} for row in order.rows]


# -- the check ------------------------------------------------------------------------------

@job("default", timeout=3600)
def check_csv(import_id: int, lang: str = "en") -> None:
    """Read an uploaded file through: counts, refused rows with reasons, a preview.

    The reasons are written in `lang`, the uploader's language.
    """
    with force_locale(lang):
        _check_job(import_id)


def _check_job(import_id: int) -> None:
    """check_csv in the uploader's language."""
    upload = db.session.execute(select(IMPORTS.c.state, IMPORTS.c.channel_id, IMPORTS.c.content)
                                .where(IMPORTS.c.id == import_id)).first()
    if upload is None or upload.state != "checking":
        return
    try:
        _check(import_id, upload.channel_id, upload.content)
    except CsvFileError as error:
        _fail(import_id, str(error))
    except Exception as error:  # shown on the page; a retry would read the same file
        log.exception("Checking CSV upload %s failed", import_id)
        _fail(import_id, _("The check stopped unexpectedly (%(error)s).",
                           error=error.__class__.__name__))


def _check(import_id: int, channel_id: int, content: bytes) -> None:
    """The check, chunk by chunk, with its progress committed after each chunk."""
    csv_file = read_csv(content)
    plan = csv_file.plan()
    _set(import_id, encoding=csv_file.encoding, delimiter=csv_file.delimiter,
         total_rows=plan.total_rows, done_rows=0)
    db.session.commit()
    region, currency = _settings()
    done = valid = existing = 0
    rejects, preview = [], []
    for chunk in csv_file.chunks(plan, currency):
        known = existing_orders(channel_id, (o.external_id for o in chunk))
        fresh = [o for o in chunk if o.external_id not in known]
        catalogue = Catalogue.load(line.sku.strip() for o in fresh for line in o.incoming.lines)
        check_orders(fresh, catalogue, region)
        for order in chunk:
            status = ("existing" if order.external_id in known
                      else "ok" if order.ok else "refused")
            valid += status == "ok"
            existing += status == "existing"
            if status == "refused":
                rejects += _rejects(order)
            if len(preview) < PREVIEW_ROWS or order.rows[0].line < preview[-1]["line"]:
                preview = sorted(preview + _preview(order, status),
                                 key=lambda r: r["line"])[:PREVIEW_ROWS]
        done += sum(len(o.rows) for o in chunk)
        _set(import_id, done_rows=done)
        db.session.commit()
    rejects.sort(key=lambda r: r["line"])
    _set(import_id, state="checked", valid_orders=valid, existing_orders=existing,
         rejected_rows=len(rejects), rejects=rejects, preview=preview)
    db.session.commit()


# -- the import -----------------------------------------------------------------------------

@job("default", timeout=3600)
def import_csv(import_id: int, user_id: int | None = None, lang: str = "en") -> None:
    """Create the checked file's orders through the intake door, chunk by chunk; late
    refusals are written in `lang`, the language of who pressed Import."""
    with force_locale(lang):
        _import_job(import_id, user_id)


def _import_job(import_id: int, user_id: int | None) -> None:
    """import_csv in the importer's language."""
    upload = db.session.execute(
        select(IMPORTS.c.state, IMPORTS.c.channel_id, IMPORTS.c.content, IMPORTS.c.rejects,
               IMPORTS.c.done_rows, IMPORTS.c.created_orders, IMPORTS.c.existing_orders)
        .where(IMPORTS.c.id == import_id)).first()
    if upload is None or upload.state != "importing":
        return  # imported already, or never started: nothing to do twice
    try:
        _import(import_id, upload, _actor(user_id))
    except Exception as error:  # shown on the page; what earlier chunks created stays
        log.exception("Importing CSV upload %s failed", import_id)
        what = f"{error.__class__.__name__}: {error}"
        _fail(import_id, _("The import stopped (%(error)s). Orders created before it "
                           "stopped are kept; upload the file again to import the rest "
                           "(nothing is created twice).", error=what))


def _actor(user_id: int | None) -> Actor:
    """The user who started the import, as the orders' audit trail names them."""
    user = db.session.get(User, user_id) if user_id else None
    return Actor.of(user) if user else Actor.system("csv import")


def _import(import_id: int, upload, actor: Actor) -> None:
    """Each chunk's new, valid orders created and committed with the progress counters.

    Orders the check refused stay refused (the preview promised exactly the others);
    an order the door now refuses (the catalogue changed meanwhile) joins the report.
    """
    channel = db.session.get(Channel, upload.channel_id)
    region, currency = _settings()
    refused = {r["order_id"] for r in upload.rejects}
    rejects = list(upload.rejects)
    created, existing = upload.created_orders, upload.existing_orders
    csv_file = read_csv(upload.content)
    seen = 0
    for chunk in csv_file.chunks(csv_file.plan(), currency):
        seen += sum(len(o.rows) for o in chunk)
        if seen <= upload.done_rows:
            continue  # committed by an earlier run of this job
        todo = []
        for order in chunk:
            if not order.external_id or order.external_id in refused:
                continue
            if order.row_problems:
                existing += 1  # the check found it imported already, or it would be refused
            else:
                todo.append(order)
        # The door finds the orders imported already (created=False) in the same query
        # it needs anyway.
        arrivals = create_orders(channel, [o.incoming for o in todo], actor, source="csv",
                                 strict=True, region=region) if todo else []
        late = []
        for order, arrival in zip(todo, arrivals, strict=True):
            if arrival.created:
                created += 1
            elif arrival.problems:
                add_problems(order, arrival.problems)
                late += _rejects(order)
            else:
                existing += 1
        values = {"done_rows": seen, "created_orders": created, "existing_orders": existing}
        if late:
            rejects = sorted(rejects + late, key=lambda r: r["line"])
            values.update(rejects=rejects, rejected_rows=len(rejects))
        _set(import_id, **values)
        db.session.commit()
    _set(import_id, state="imported", finished_at=utcnow())
    db.session.commit()
