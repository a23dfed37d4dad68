"""Carrier settings (managers): carriers, their status tables and tracking rules, and a
connection test that runs as a job while the page polls for its result."""

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from redis.exceptions import RedisError
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlalchemy import select

from extensions import db
from models import Actor, Carrier
from models.errors import InvalidInput
from models.shipping.carriers import (
    KEEP,
    CarrierFields,
    add_rule,
    delete_mapping,
    delete_rule,
    mask,
    parse_detect_as,
    save_carrier,
    set_mapping,
    unmapped_counts,
    unmapped_statuses,
)
from models.shipping.tables import CarrierStatusMapping, TrackingRule
from models.status import Role
from workers import PENDING, redis_connection
from workers.carrier_checks import is_job_of, new_job_id, test_carrier_connection
from workers.carriers import KINDS
from workers.shipping import webhook_url

from ..i18n import language
from ..web import form_error, get_or_404, is_fragment, render, role_required
from . import bp
from .forms import ButtonForm, MappingForm, RuleForm, carrier_form

TEST_JOB = f"{test_carrier_connection.__module__}.{test_carrier_connection.__qualname__}"


@bp.get("/carriers")
@role_required(Role.MANAGER)
def carriers():
    """Every carrier with its health: last sync, last error, statuses nobody mapped yet."""
    rows = db.session.scalars(select(Carrier).order_by(Carrier.name)).all()
    return render("settings/carriers.html", carriers=rows, unmapped=unmapped_counts())


@bp.route("/carriers/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def new_carrier():
    """Add a carrier."""
    return _edit(None)


@bp.route("/carriers/<int:carrier_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def edit_carrier(carrier_id: int):
    """One carrier: settings, webhook URL, status table, tracking rules, connection test."""
    return _edit(get_or_404(Carrier, carrier_id))


@bp.get("/carriers/fields")
@role_required(Role.MANAGER)
def carrier_fields():
    """The adapter settings of the kind just chosen (swapped in when the kind changes)."""
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        abort(404)
    carrier_id = request.args.get("carrier_id", type=int)
    carrier = get_or_404(Carrier, carrier_id) if carrier_id else None
    form = carrier_form(kind, data=_stored(carrier) if carrier else None)
    return render_template("settings/_carrier_fields.html", form=form)


def _stored(carrier: Carrier) -> dict:
    """A carrier's row as form data (never its secrets)."""
    settings = dict(carrier.settings or {})
    detect_as = settings.pop("detect_as", [])
    return {
        "name": carrier.name, "code": carrier.code, "kind": carrier.kind,
        "local_delivery": carrier.local_delivery, "active": carrier.active,
        "base_url": carrier.base_url or "",
        "detect_as": ", ".join([detect_as] if isinstance(detect_as, str) else detect_as),
        **{f"setting_{key}": value for key, value in settings.items()},
    }


def _secret(value: str | None, clear: bool):
    """A secret field as the operation takes it: clear, a new value, or keep (left empty)."""
    if clear:
        return None
    return value.strip() if value and value.strip() else KEEP


def _edit(carrier: Carrier | None):
    """Show the carrier form; on a valid POST save it, else 422 with the form and message."""
    kind = request.form.get("kind") if request.method == "POST" else None
    if kind not in KINDS:
        kind = carrier.kind if carrier and carrier.kind in KINDS else KINDS[0]
    stored = _stored(carrier) if carrier and request.method == "GET" else None
    form = carrier_form(kind, data=stored)
    if form.validate_on_submit():
        fields = CarrierFields(
            name=form.name.data, code=form.code.data, kind=form.kind.data,
            local_delivery=form.local_delivery.data, active=form.active.data,
            base_url=form.base_url.data or "", settings=form.adapter_settings(),
            detect_as=parse_detect_as(form.detect_as.data),
            api_key=_secret(form.api_key.data, form.clear_api_key.data),
            webhook_secret=_secret(form.webhook_secret.data, form.clear_webhook_secret.data))
        try:
            saved = save_carrier(carrier, fields, Actor.of(current_user))
        except InvalidInput as error:
            db.session.rollback()
            name = getattr(error, "field", None)
            if name and name in form:
                form[name].errors = [*form[name].errors, error.message]
            return _page(carrier, form, status=422, error=error.message)
        db.session.commit()
        flash(_("%(name)s saved.", name=saved.name), "success")
        return redirect(url_for("settings.edit_carrier", carrier_id=saved.id), code=303)
    if form.is_submitted():
        return _page(carrier, form, status=422, error=form_error(form).message)
    return _page(carrier, form)


def _page(carrier: Carrier | None, form, status: int = 200, error: str | None = None):
    """The carrier page (new: the form alone)."""
    context = {"carrier": carrier, "form": form, "error": error, "buttons": ButtonForm()}
    if carrier is not None:
        context.update(
            hook=webhook_url(carrier), api_key=mask(carrier.api_key),
            webhook_secret=mask(carrier.webhook_secret), test=_test_state(None),
            **_mappings_context(carrier), **_rules_context(carrier))
    return render("settings/carriers_edit.html", status=status, **context)


# -- status table ---------------------------------------------------------------------

def _mappings_context(carrier: Carrier) -> dict:
    """The status table, the statuses seen but not mapped, and their forms."""
    mappings = db.session.scalars(
        select(CarrierStatusMapping).where(CarrierStatusMapping.carrier_id == carrier.id)
        .order_by(CarrierStatusMapping.raw_status)).all()
    return {"mappings": mappings, "unmapped": unmapped_statuses(carrier.id),
            "mapping_form": MappingForm(formdata=None)}


def _after(carrier: Carrier, section: str):
    """The refreshed section ("mappings" or "rules") for htmx, or back to the carrier page."""
    if is_fragment():
        context = (_mappings_context if section == "mappings" else _rules_context)(carrier)
        return render_template(f"settings/_carrier_{section}.html", carrier=carrier,
                               buttons=ButtonForm(), **context)
    return redirect(url_for("settings.edit_carrier", carrier_id=carrier.id,
                            _anchor=section), code=303)


@bp.post("/carriers/<int:carrier_id>/mappings")
@role_required(Role.MANAGER)
def save_mapping(carrier_id: int):
    """Say what one of the carrier's raw statuses means (add, change, or map a seen one)."""
    carrier = get_or_404(Carrier, carrier_id)
    form = MappingForm()
    if not form.validate():
        raise form_error(form)
    set_mapping(carrier, form.raw_status.data, form.maps_to.data, Actor.of(current_user))
    db.session.commit()
    return _after(carrier, "mappings")


@bp.post("/carriers/<int:carrier_id>/mappings/<int:mapping_id>/delete")
@role_required(Role.MANAGER)
def remove_mapping(carrier_id: int, mapping_id: int):
    """Forget what a raw status means."""
    carrier = get_or_404(Carrier, carrier_id)
    mapping = get_or_404(CarrierStatusMapping, mapping_id)
    if mapping.carrier_id != carrier.id:
        abort(404)
    delete_mapping(mapping, Actor.of(current_user))
    db.session.commit()
    return _after(carrier, "mappings")


# -- tracking rules -----------------------------------------------------------------

def _rules_context(carrier: Carrier) -> dict:
    """The carrier's tracking rules in the order detection tries them, and the add form."""
    rules = db.session.scalars(
        select(TrackingRule).where(TrackingRule.carrier_id == carrier.id)
        .order_by(TrackingRule.position, TrackingRule.id)).all()
    return {"rules": rules, "rule_form": RuleForm(formdata=None)}


@bp.post("/carriers/<int:carrier_id>/rules")
@role_required(Role.MANAGER)
def save_rule(carrier_id: int):
    """Add a tracking rule that points matching codes to this carrier."""
    carrier = get_or_404(Carrier, carrier_id)
    form = RuleForm()
    if not form.validate():
        raise form_error(form)
    add_rule(carrier, form.kind.data, form.pattern.data, form.position.data,
             Actor.of(current_user))
    db.session.commit()
    return _after(carrier, "rules")


@bp.post("/carriers/<int:carrier_id>/rules/<int:rule_id>/delete")
@role_required(Role.MANAGER)
def remove_rule(carrier_id: int, rule_id: int):
    """Remove a tracking rule."""
    carrier = get_or_404(Carrier, carrier_id)
    rule = get_or_404(TrackingRule, rule_id)
    if rule.carrier_id != carrier.id:
        abort(404)
    delete_rule(rule, Actor.of(current_user))
    db.session.commit()
    return _after(carrier, "rules")


# -- test connection ------------------------------------------------------------------

def _test_state(job: Job | None, job_id: str | None = None, problem: str | None = None) -> dict:
    """What the test widget shows: the button, a job still running, or its result."""
    if problem:
        return {"state": problem}
    if job is None:
        return {"state": "idle"}
    status = job.get_status()
    if status == JobStatus.FINISHED:
        result = job.return_value() or {}
        return {"state": "ok" if result.get("ok") else "failed",
                "message": str(result.get("message") or "")}
    if status in PENDING:
        running = status == JobStatus.STARTED
        return {"state": "running" if running else "waiting", "job_id": job_id}
    return {"state": "broken"}


def _test_widget(carrier: Carrier, test: dict):
    """The test widget: alone for htmx, else within its own small page."""
    return render("settings/carriers_test.html", block="test", carrier=carrier, test=test,
                  buttons=ButtonForm())


@bp.post("/carriers/<int:carrier_id>/test")
@role_required(Role.MANAGER)
def test_carrier(carrier_id: int):
    """Start a connection test (a job; the web never calls the carrier) and poll it."""
    carrier = get_or_404(Carrier, carrier_id)
    job_id = new_job_id(carrier.id)
    try:
        # By keyword: test_result recognises the job by its args, the carrier id alone.
        job = test_carrier_connection.enqueue(carrier.id, lang=language(), job_id=job_id)
        test = _test_state(job, job_id)
    except RedisError:
        test = _test_state(None, problem="no_redis")
    if not is_fragment() and "job_id" in test:
        return redirect(url_for("settings.test_result", carrier_id=carrier.id,
                                job_id=job_id), code=303)
    return _test_widget(carrier, test)


@bp.get("/carriers/<int:carrier_id>/test/<job_id>")
@role_required(Role.MANAGER)
def test_result(carrier_id: int, job_id: str):
    """Where a connection test is: still running (the widget polls again) or its result."""
    carrier = get_or_404(Carrier, carrier_id)
    if not is_job_of(job_id, carrier.id):
        abort(404)  # only this carrier's tests: no reading other jobs' results
    try:
        job = Job.fetch(job_id, connection=redis_connection())
        if job.func_name != TEST_JOB or tuple(job.args) != (carrier.id,):
            abort(404)
        test = _test_state(job, job_id)
    except NoSuchJobError:
        test = _test_state(None, problem="gone")
    except RedisError:
        test = _test_state(None, problem="no_redis")
    return _test_widget(carrier, test)
