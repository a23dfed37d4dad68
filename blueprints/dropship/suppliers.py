"""Supplier settings (managers): the suppliers, the supplier form with its kind's settings,
SKU mappings (inline or from a CSV file), shipping mappings, and a file supplier's
purchase-order files and status files."""

import json

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import defer

from extensions import db
from models import Actor, Product, Supplier, SupplierSku
from models.dropship.files import apply_status_file, mark_downloaded
from models.dropship.operations import FieldErrors
from models.dropship.queries import waiting_by_supplier
from models.dropship.suppliers import (
    KEEP,
    SupplierFields,
    delete_shipping_mapping,
    delete_sku_mapping,
    import_sku_mappings,
    read_mapping_csv,
    save_supplier,
    set_shipping_mapping,
    set_sku_mapping,
)
from models.dropship.tables import ShippingMapping, SupplierFile
from models.errors import InvalidInput
from models.intake.csvfile import parse_amount
from models.shipping.carriers import invalid
from models.status import Role
from workers.suppliers import KINDS, SupplierError, adapter_for
from workers.suppliers.jobs import supplier_config

from ..intake.forms import upload_content
from ..web import form_error, get_or_404, is_fragment, render, role_required
from . import bp
from .forms import (
    API_KINDS,
    ButtonForm,
    FileForm,
    ShippingMappingForm,
    SkuMappingForm,
    SupplierForm,
    adapter_settings,
    default_settings,
)

MAPPINGS_SHOWN = 200
FILES_SHOWN = 50


@bp.get("/suppliers")
@role_required(Role.MANAGER)
def suppliers():
    """Every supplier: kind, active, orders waiting, last sync and last error."""
    rows = db.session.scalars(select(Supplier).order_by(Supplier.name)).all()
    return render("dropship/suppliers.html", suppliers=rows, kinds=KINDS,
                  waiting=waiting_by_supplier())


@bp.route("/suppliers/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def new_supplier():
    """Add a supplier."""
    return _edit(None)


@bp.route("/suppliers/<int:supplier_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def edit_supplier(supplier_id: int):
    """One supplier: settings, SKU and shipping mappings, and its files."""
    return _edit(get_or_404(Supplier, supplier_id))


@bp.get("/suppliers/fields")
@role_required(Role.MANAGER)
def supplier_fields():
    """The settings of the kind just chosen (swapped in when the kind changes)."""
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        abort(404)
    supplier_id = request.args.get("supplier_id", type=int)
    supplier = get_or_404(Supplier, supplier_id) if supplier_id else None
    data = _stored(supplier) if supplier else {}
    if not supplier or supplier.kind != kind:
        data.update(_kind_defaults(kind))
    form = SupplierForm(formdata=None, data={**data, "kind": kind})
    return render_template("dropship/_supplier_fields.html", form=form, kind=kind,
                           api_kinds=API_KINDS)


def _kind_defaults(kind: str) -> dict:
    """Form data a supplier of this kind starts from."""
    settings = default_settings(kind)
    return {"settings_json": json.dumps(settings, indent=2) if kind == "http_json" else "",
            "drop_url": settings.get("drop_url", "")}


def _stored(supplier: Supplier) -> dict:
    """A supplier's row as form data (never its token)."""
    settings = dict(supplier.settings or {})
    return {
        "name": supplier.name, "kind": supplier.kind, "active": supplier.active,
        "base_url": supplier.base_url or "",
        "default_shipping_method": supplier.default_shipping_method,
        "edit_before_submit": supplier.edit_before_submit,
        "poll_interval_minutes": supplier.poll_interval_minutes,
        "settings_json": json.dumps(settings or default_settings(supplier.kind), indent=2)
        if supplier.kind == "http_json" else "",
        "drop_url": settings.get("drop_url", "") if supplier.kind == "csv" else "",
    }


def _fields(form: SupplierForm, settings: dict) -> SupplierFields:
    """What the manager typed, as save_supplier takes it."""
    token = None if form.clear_api_key.data else (form.api_key.data or KEEP)
    needs_url = form.kind.data in API_KINDS
    return SupplierFields(
        name=form.name.data, kind=form.kind.data, needs_url=needs_url,
        active=form.active.data, base_url=(form.base_url.data or "") if needs_url else "",
        default_shipping_method=form.default_shipping_method.data or "",
        edit_before_submit=form.edit_before_submit.data,
        poll_interval_minutes=form.poll_interval_minutes.data, settings=settings,
        api_key=token)


def _edit(supplier: Supplier | None):
    """Show the supplier form; on a valid POST save it, else 422 with each field's message."""
    if request.method == "GET":
        data = _stored(supplier) if supplier else {"kind": "sandbox",
                                                   **_kind_defaults("http_json")}
        form = SupplierForm(formdata=None, data=data)
        return _page(supplier, form)
    form = SupplierForm()
    if not form.validate():
        return _page(supplier, form, status=422, error=form_error(form).message)
    try:
        saved = save_supplier(supplier, _fields(form, adapter_settings(form)),
                              Actor.of(current_user))
    except FieldErrors as refused:
        db.session.rollback()
        for name, message in refused.errors.items():
            form[name].errors = [*form[name].errors, message]
        return _page(supplier, form, status=422, error=refused.message)
    except InvalidInput as refused:
        db.session.rollback()
        name = getattr(refused, "field", None)
        if name and name in form:
            form[name].errors = [*form[name].errors, refused.message]
        return _page(supplier, form, status=422, error=refused.message)
    db.session.commit()
    flash(_("%(supplier)s saved.", supplier=saved.name), "success")
    return redirect(url_for("dropship.edit_supplier", supplier_id=saved.id), code=303)


def _page(supplier: Supplier | None, form: SupplierForm, status: int = 200,
          error: str | None = None, **extra):
    """The supplier page (new: the form alone)."""
    kind = form.kind.data if form.kind.data in KINDS else "sandbox"
    context = {"supplier": supplier, "form": form, "error": error, "kind": kind,
               "api_kinds": API_KINDS, "buttons": ButtonForm(),
               "token_stored": bool(supplier and supplier.api_key)}
    if supplier is not None:
        context.update(**_skus_context(supplier), **_shipping_context(supplier),
                       upload=FileForm(formdata=None))
        if supplier.kind == "csv":
            context.update(_files_context(supplier))
    context.update(extra)
    return render("dropship/supplier_edit.html", status=status, **context)


# ---- SKU mappings -------------------------------------------------------------------------


def _skus_context(supplier: Supplier, q: str = "", form: SkuMappingForm | None = None,
                  error: tuple[str, str] | None = None) -> dict:
    """The supplier's SKU mappings (by our SKU, the first 200 matching `q`) and the add form."""
    query = (select(SupplierSku, Product.sku, Product.name)
             .join(Product, Product.id == SupplierSku.product_id)
             .where(SupplierSku.supplier_id == supplier.id))
    q = (q or "").strip()[:64]
    if q:
        pattern = q.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(func.lower(Product.sku).like(pattern, escape="\\"),
                                func.lower(SupplierSku.supplier_sku).like(pattern, escape="\\")))
    rows = db.session.execute(query.order_by(Product.sku).limit(MAPPINGS_SHOWN + 1)).all()
    return {"mappings": rows[:MAPPINGS_SHOWN], "more_mappings": len(rows) > MAPPINGS_SHOWN,
            "q": q, "sku_form": form or SkuMappingForm(formdata=None), "sku_error": error}


def _skus_section(supplier: Supplier, status: int = 200, **context):
    """The SKU mappings section for htmx, else back to the supplier page."""
    if not is_fragment():
        if context.get("error"):
            flash(context["error"][1], "error")
        return redirect(url_for("dropship.edit_supplier", supplier_id=supplier.id,
                                _anchor="sku-mappings"), code=303)
    return render_template("dropship/_sku_mappings.html", supplier=supplier,
                           buttons=ButtonForm(), **_skus_context(supplier, **context)), status


@bp.get("/suppliers/<int:supplier_id>/skus")
@role_required(Role.MANAGER)
def sku_mappings(supplier_id: int):
    """The SKU mappings whose SKU (ours or theirs) starts with the search."""
    supplier = get_or_404(Supplier, supplier_id)
    return render_template("dropship/_sku_mappings.html", supplier=supplier, buttons=ButtonForm(),
                           **_skus_context(supplier, request.args.get("q", "")))


def _cost(text: str | None) -> int | None:
    """A typed cost in cents; None when left empty (keep the stored one)."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return parse_amount(text)
    except ValueError:
        raise invalid("cost", _("Cost “%(cost)s” is not an amount (write 12.50 or 12,50).",
                                cost=text)) from None


@bp.post("/suppliers/<int:supplier_id>/skus")
@role_required(Role.MANAGER)
def save_sku_mapping(supplier_id: int):
    """Map one of our SKUs to the supplier's (add or change); the catalogue must have it."""
    supplier = get_or_404(Supplier, supplier_id)
    form = SkuMappingForm()
    if not form.validate():
        raise form_error(form)
    try:
        set_sku_mapping(supplier, form.sku.data, form.supplier_sku.data, _cost(form.cost.data),
                        form.shipping_method.data, Actor.of(current_user))
    except InvalidInput as refused:
        db.session.rollback()
        error = (getattr(refused, "field", None) or "sku", refused.message)
        return _skus_section(supplier, 422, form=form, error=error)
    db.session.commit()
    return _skus_section(supplier)


@bp.post("/suppliers/<int:supplier_id>/skus/<int:mapping_id>/delete")
@role_required(Role.MANAGER)
def remove_sku_mapping(supplier_id: int, mapping_id: int):
    """Forget one SKU mapping."""
    supplier = get_or_404(Supplier, supplier_id)
    mapping = get_or_404(SupplierSku, mapping_id)
    if mapping.supplier_id != supplier.id:
        abort(404)
    delete_sku_mapping(mapping, Actor.of(current_user))
    db.session.commit()
    return _skus_section(supplier)


def _uploaded() -> tuple[str, bytes]:
    """(name, bytes) of the uploaded CSV file; InvalidInput when there is none or it is not one."""
    form = FileForm()
    if not form.validate():
        raise form_error(form)
    return upload_content(form.file.data)


@bp.post("/suppliers/<int:supplier_id>/skus/upload")
@role_required(Role.MANAGER)
def upload_sku_mappings(supplier_id: int):
    """Apply a CSV of SKU mappings in one transaction; each refused row with its line and why."""
    supplier = get_or_404(Supplier, supplier_id)
    try:
        name, content = _uploaded()
        report = import_sku_mappings(supplier, read_mapping_csv(content),
                                     Actor.of(current_user))
    except InvalidInput as refused:
        db.session.rollback()
        return _report("dropship/_sku_report.html", supplier, 422, problem=refused.message)
    db.session.commit()
    return _report("dropship/_sku_report.html", supplier, report=report, filename=name,
                   **_skus_context(supplier))


def _report(template: str, supplier: Supplier, status: int = 200, **context):
    """A file's report: alone for htmx, else on the supplier page."""
    if is_fragment():
        # The mappings table beside the report is refreshed out of band.
        return render_template(template, supplier=supplier, buttons=ButtonForm(), oob=True,
                               **context), status
    form = SupplierForm(formdata=None, data=_stored(supplier))
    return _page(supplier, form, status=status, report_template=template, **context)


# ---- shipping mappings ----------------------------------------------------------------------


def _shipping_context(supplier: Supplier, form: ShippingMappingForm | None = None,
                      error: str | None = None) -> dict:
    """The supplier's shipping mappings by rate name, and the add form."""
    rows = db.session.scalars(select(ShippingMapping).where(
        ShippingMapping.supplier_id == supplier.id).order_by(ShippingMapping.rate_key)).all()
    return {"shipping_mappings": rows,
            "shipping_form": form or ShippingMappingForm(formdata=None), "shipping_error": error}


def _shipping_section(supplier: Supplier, status: int = 200, **context):
    """The shipping mappings section for htmx, else back to the supplier page."""
    if not is_fragment():
        if context.get("error"):
            flash(context["error"], "error")
        return redirect(url_for("dropship.edit_supplier", supplier_id=supplier.id,
                                _anchor="shipping-mappings"), code=303)
    return render_template("dropship/_shipping_mappings.html", supplier=supplier,
                           buttons=ButtonForm(), **_shipping_context(supplier, **context)), status


@bp.post("/suppliers/<int:supplier_id>/shipping")
@role_required(Role.MANAGER)
def save_shipping_mapping(supplier_id: int):
    """Send a channel's rate name as one of the supplier's shipping methods."""
    supplier = get_or_404(Supplier, supplier_id)
    form = ShippingMappingForm()
    if not form.validate():
        raise form_error(form)
    try:
        set_shipping_mapping(supplier, form.rate_name.data, form.method.data,
                             Actor.of(current_user))
    except InvalidInput as refused:
        db.session.rollback()
        return _shipping_section(supplier, 422, form=form, error=refused.message)
    db.session.commit()
    return _shipping_section(supplier)


@bp.post("/suppliers/<int:supplier_id>/shipping/<int:mapping_id>/delete")
@role_required(Role.MANAGER)
def remove_shipping_mapping(supplier_id: int, mapping_id: int):
    """Forget a shipping mapping (the rate falls back to the default method)."""
    supplier = get_or_404(Supplier, supplier_id)
    mapping = get_or_404(ShippingMapping, mapping_id)
    if mapping.supplier_id != supplier.id:
        abort(404)
    delete_shipping_mapping(mapping, supplier, Actor.of(current_user))
    db.session.commit()
    return _shipping_section(supplier)


# ---- a file supplier's files ------------------------------------------------------------------


def _files_context(supplier: Supplier) -> dict:
    """The supplier's latest purchase-order files (without their bodies)."""
    files = db.session.scalars(
        select(SupplierFile).options(defer(SupplierFile.body))
        .where(SupplierFile.supplier_id == supplier.id)
        .order_by(SupplierFile.created_at.desc(), SupplierFile.id.desc()).limit(FILES_SHOWN)).all()
    return {"files": files}


@bp.post("/suppliers/<int:supplier_id>/files/<int:file_id>/download")
@role_required(Role.MANAGER)
def download_file(supplier_id: int, file_id: int):
    """Hand out a purchase-order file and note that it was downloaded."""
    supplier = get_or_404(Supplier, supplier_id)
    file = get_or_404(SupplierFile, file_id)
    if file.supplier_id != supplier.id:
        abort(404)
    mark_downloaded(file)
    db.session.commit()
    return Response(file.body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{file.name}"',
        "Cache-Control": "no-store"})


@bp.post("/suppliers/<int:supplier_id>/status-file")
@role_required(Role.MANAGER)
def upload_status_file(supplier_id: int):
    """Apply a supplier's status/tracking CSV in one transaction; a report line per row."""
    supplier = get_or_404(Supplier, supplier_id)
    try:
        name, content = _uploaded()
        read = adapter_for(supplier_config(supplier)).read_status_file(content)
    except InvalidInput as refused:
        return _report("dropship/_status_report.html", supplier, 422, problem=refused.message)
    except SupplierError as refused:
        return _report("dropship/_status_report.html", supplier, 422, problem=refused.message)
    rows = apply_status_file(supplier, read.replies, read.errors)
    db.session.commit()
    return _report("dropship/_status_report.html", supplier, rows=rows, filename=name)
