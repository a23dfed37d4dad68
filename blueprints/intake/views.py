"""CSV uploads: the template, the upload page, the preview a job fills in (polled while it
runs), the import button, and the refused rows to fix and upload again."""

from flask import Response, abort, flash, redirect, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from redis.exceptions import RedisError
from sqlalchemy import select
from sqlalchemy.orm import defer
from werkzeug.utils import secure_filename

from extensions import db
from models import Channel, User
from models.errors import InvalidInput
from models.intake.csvfile import (
    COLUMNS,
    IMPORT_STATES,
    PREVIEW_ROWS,
    CsvFileError,
    read_csv,
    refused_rows_csv,
    template_csv,
)
from models.intake.tables import CsvImport
from models.status import Role
from workers.imports import (
    begin_import,
    check_csv,
    check_job_id,
    forget_upload,
    import_csv,
    import_job_id,
    store_upload,
    undo_begin,
)

from ..i18n import language
from ..web import MAX_ID, form_error, get_or_404, is_fragment, render, role_required
from . import bp
from .forms import MAX_BYTES, ButtonForm, UploadForm, upload_content

ROLES = (Role.OPERATOR, Role.MANAGER)
RECENT = 20
QUEUE_DOWN = _l("The job queue (Redis) is unreachable, so nothing can be checked or "
                "imported now. Try again when it is back.")
NOT_NOW = {
    "checking": _l("The file is still being checked."),
    "importing": _l("This import is already running."),
    "imported": _l("This file was already imported."),
    "failed": _l("This upload failed; upload the file again."),
    "checked": _l("There is nothing to import: no order of this file is ready."),
}


def _csv_response(body: str, filename: str) -> Response:
    """A CSV file the browser saves."""
    return Response(body, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.get("/csv/template.csv")
@role_required(*ROLES)
def csv_template():
    """The columns and an example order of two lines, to fill in."""
    return _csv_response(template_csv(), "codboard-orders.csv")


# -- upload ---------------------------------------------------------------------------

def _channel_choices() -> list[tuple[int, str]]:
    """The active channels, by name."""
    rows = db.session.execute(select(Channel.id, Channel.name)
                              .where(Channel.active.is_(True)).order_by(Channel.name))
    return [tuple(row) for row in rows]


def _recent() -> list:
    """The latest uploads with who sent them and what came of them (never the files)."""
    return db.session.execute(
        select(CsvImport.id, CsvImport.filename, CsvImport.state, CsvImport.total_rows,
               CsvImport.valid_orders, CsvImport.rejected_rows, CsvImport.created_orders,
               CsvImport.existing_orders, CsvImport.created_at,
               Channel.name.label("channel"), User.username, User.name)
        .join(Channel, Channel.id == CsvImport.channel_id)
        .outerjoin(User, User.id == CsvImport.created_by_id)
        .order_by(CsvImport.id.desc()).limit(RECENT)).all()


def _upload_page(form: UploadForm, status: int = 200, error: str | None = None):
    """The upload form, the columns explained, and the latest uploads."""
    return render("intake/csv_upload.html", status=status, form=form, error=error,
                  columns=COLUMNS, recent=_recent(), states=IMPORT_STATES,
                  max_mb=MAX_BYTES // 2**20)


@bp.route("/csv", methods=["GET", "POST"])
@role_required(*ROLES)
def upload_csv():
    """Store an uploaded file and start its check; the preview page follows the job."""
    form = UploadForm()
    form.channel.choices = _channel_choices()
    if not form.validate_on_submit():
        if form.is_submitted():
            return _upload_page(form, 422, form_error(form).message)
        return _upload_page(form)
    try:
        name, content = upload_content(form.file.data)
    except InvalidInput as error:
        return _upload_page(form, error.status_code, error.message)
    import_id = store_upload(form.channel.data, name, content, current_user.id)
    db.session.commit()
    try:
        # The job writes the rows' reasons in the uploader's language.
        check_csv.enqueue(import_id, language(), job_id=check_job_id(import_id))
    except RedisError:
        forget_upload(import_id)
        db.session.commit()
        return _upload_page(form, 503, str(QUEUE_DOWN))
    return redirect(url_for("intake.show_csv", import_id=import_id), code=303)


# -- one upload -----------------------------------------------------------------------

def _load(import_id: int) -> CsvImport:
    """An upload as stored now, without its file and report (a poll reads what it shows)."""
    if not 0 < import_id <= MAX_ID:
        abort(404)
    return db.session.scalar(
        select(CsvImport).options(defer(CsvImport.content), defer(CsvImport.rejects))
        .where(CsvImport.id == import_id)
        .execution_options(populate_existing=True)) or abort(404)


def _import_page(upload: CsvImport, notice: str | None = None):
    """The upload's page, or for htmx (the poll, the button) its one changing section."""
    return render("intake/csv_import.html", block="import", upload=upload, notice=notice,
                  states=IMPORT_STATES, preview_rows=PREVIEW_ROWS, buttons=ButtonForm())


@bp.get("/csv/<int:import_id>")
@role_required(*ROLES)
def show_csv(import_id: int):
    """Progress while a job runs (the section polls itself), then counts, preview, actions."""
    return _import_page(_load(import_id))


def _begin(import_id: int) -> str | None:
    """Enqueue the import job if the upload is ready for it; else what to tell the user."""
    if not begin_import(import_id):
        return str(NOT_NOW[_load(import_id).state])
    db.session.commit()
    try:
        import_csv.enqueue(import_id, current_user.id, language(),
                           job_id=import_job_id(import_id))
    except RedisError:
        undo_begin(import_id)
        db.session.commit()
        return str(QUEUE_DOWN)
    return None


@bp.post("/csv/<int:import_id>/import")
@role_required(*ROLES)
def start_import(import_id: int):
    """Create the checked file's orders in a job; a second click starts nothing."""
    notice = _begin(_load(import_id).id)
    if not is_fragment():
        if notice:
            flash(notice, "info")
        return redirect(url_for("intake.show_csv", import_id=import_id), code=303)
    return _import_page(_load(import_id), notice)


@bp.get("/csv/<int:import_id>/rejects.csv")
@role_required(*ROLES)
def download_rejects(import_id: int):
    """The refused rows as uploaded, with their line and reasons, to fix and upload again."""
    upload = get_or_404(CsvImport, import_id)
    try:
        csv_file = read_csv(upload.content)
    except CsvFileError:
        abort(404)  # a file that could not be read has no rows to give back
    reasons = {r["line"]: r["reasons"] for r in upload.rejects or []}
    stem = secure_filename(upload.filename.rsplit(".", 1)[0]) or f"upload-{upload.id}"
    return _csv_response(refused_rows_csv(csv_file, reasons), f"{stem}-refused.csv")

