"""Channel settings (managers): every channel with its health and Sync now, the channel
form with its forwarding settings and webhook URL, and the channel's API keys."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from extensions import db
from models import Actor, Carrier, Channel, User, utcnow
from models.errors import InvalidInput
from models.intake.api_keys import issue_key, revoke_key
from models.intake.channels import (
    CONFIRM_BY,
    DROPSHIP_PROCESS,
    FORWARD_WHEN,
    FORWARDING,
    KEEP,
    ChannelFields,
    channel_health,
    forwarding_summary,
    save_channel,
)
from models.intake.tables import ApiKey
from models.shipping.carriers import mask
from models.status import Role
from workers.channels import ADAPTERS, KINDS
from workers.channels.jobs import request_sync

from ..shipping.views import ago
from ..web import form_error, get_or_404, is_fragment, render, role_required
from . import bp
from .forms import ApiKeyForm, ButtonForm, ChannelForm

OPTIONS = {"forwarding": FORWARDING, "forward_when": FORWARD_WHEN, "confirm_by": CONFIRM_BY,
           "dropship_process": DROPSHIP_PROCESS}


def webhook_url(channel: Channel) -> str:
    """Where the shop sends its order webhooks (pasted into Shopify or WooCommerce)."""
    return f"{current_app.config['PUBLIC_URL']}/api/v1/channels/{channel.code}/webhook"


@bp.get("/channels")
@role_required(Role.MANAGER)
def channels():
    """Every channel: forwarding, health, last sync, orders imported, and Sync now."""
    rows = db.session.scalars(select(Channel).order_by(Channel.name)).all()
    now = utcnow()
    health = {c.id: channel_health(c, now, c.kind in ADAPTERS) for c in rows}
    return render("settings/channels.html", channels=rows, health=health, now=now, ago=ago,
                  summary=forwarding_summary, polled=ADAPTERS, buttons=ButtonForm())


@bp.post("/channels/<int:channel_id>/sync")
@role_required(Role.MANAGER)
def sync_channel(channel_id: int):
    """Ask for one sync of a polled channel now (a job; the web never calls the shop)."""
    channel = get_or_404(Channel, channel_id)
    if channel.kind not in ADAPTERS:
        raise InvalidInput(_("%(name)s is fed by people: there is nothing to sync.",
                             name=channel.name))
    if not channel.active:
        raise InvalidInput(_("%(name)s is switched off: make it active to sync it.",
                             name=channel.name))
    started = request_sync(channel.id)
    if not is_fragment():
        flash(_("%(name)s: sync started.", name=channel.name) if started else
              _("Queue unreachable: the sync will run when it is back."),
              "success" if started else "error")
        return redirect(url_for("settings.channels"), code=303)
    return (render_template("settings/_channel_sync.html", c=channel, started=started,
                            buttons=ButtonForm()), 202 if started else 503)


@bp.route("/channels/new", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def new_channel():
    """Add a channel."""
    return _edit(None)


@bp.route("/channels/<int:channel_id>", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def edit_channel(channel_id: int):
    """One channel: settings, forwarding, credentials, webhook URL and API keys."""
    return _edit(get_or_404(Channel, channel_id))


@bp.get("/channels/fields")
@role_required(Role.MANAGER)
def channel_fields():
    """The connection fields of the kind just chosen (swapped in when the kind changes)."""
    kind = request.args.get("kind", "")
    if kind not in KINDS:
        abort(404)
    channel_id = request.args.get("channel_id", type=int)
    channel = get_or_404(Channel, channel_id) if channel_id else None
    form = ChannelForm(data={**(_stored(channel) if channel else {}), "kind": kind})
    return render_template("settings/_channel_connection.html", form=form,
                           **_connection(channel, kind))


def _stored(channel: Channel) -> dict:
    """A channel's row as form data (never its secrets)."""
    return {
        "name": channel.name, "code": channel.code, "kind": channel.kind,
        "active": channel.active, "base_url": channel.base_url or "",
        "api_version": (channel.settings or {}).get("api_version", ""),
        "poll_interval_minutes": channel.poll_interval_minutes,
        "forwarding": channel.forwarding, "forward_when": channel.forward_when,
        "confirm_by": channel.confirm_by, "default_carrier_id": channel.default_carrier_id,
        "dropship_process": channel.dropship_process,
    }


def _secret(value: str | None, clear: bool):
    """A secret field as the operation takes it: clear, a new value, or keep (left empty)."""
    if clear:
        return None
    return value.strip() if value and value.strip() else KEEP


def _fields(form: ChannelForm) -> ChannelFields:
    """What the manager typed, as save_channel takes it."""
    return ChannelFields(
        name=form.name.data, code=form.code.data, kind=form.kind.data,
        polled=form.kind.data in ADAPTERS, active=form.active.data,
        base_url=form.base_url.data or "", api_version=form.api_version.data or "",
        forwarding=form.forwarding.data, forward_when=form.forward_when.data,
        confirm_by=form.confirm_by.data, default_carrier_id=form.default_carrier_id.data,
        dropship_process=form.dropship_process.data,
        poll_interval_minutes=form.poll_interval_minutes.data,
        api_key=_secret(form.api_key.data, form.clear_api_key.data),
        api_secret=_secret(form.api_secret.data, form.clear_api_secret.data),
        webhook_secret=_secret(form.webhook_secret.data, form.clear_webhook_secret.data))


def _edit(channel: Channel | None):
    """Show the channel form; on a valid POST save it, else 422 with the form and message."""
    stored = _stored(channel) if channel and request.method == "GET" else None
    form = _form(data=stored)
    if form.validate_on_submit():
        try:
            saved = save_channel(channel, _fields(form), Actor.of(current_user))
        except InvalidInput as error:
            db.session.rollback()
            name = getattr(error, "field", None)
            if name and name in form:
                form[name].errors = [*form[name].errors, error.message]
            return _page(channel, form, status=422, error=error.message)
        db.session.commit()
        flash(_("%(name)s saved.", name=saved.name), "success")
        return redirect(url_for("settings.edit_channel", channel_id=saved.id), code=303)
    if form.is_submitted():
        return _page(channel, form, status=422, error=form_error(form).message)
    return _page(channel, form)


def _form(**kwargs) -> ChannelForm:
    """The channel form, its default carrier select offering every carrier by name."""
    form = ChannelForm(**kwargs)
    carriers = db.session.execute(select(Carrier.id, Carrier.name).order_by(Carrier.name))
    form.default_carrier_id.choices = {"": _("None (decided per order)"), **dict(carriers.all())}
    return form


def _connection(channel: Channel | None, kind: str) -> dict:
    """What the connection fields show: which ones the kind needs, and stored secrets."""
    return {"channel": channel, "kind": kind, "polled": kind in ADAPTERS,
            "stored": {name: mask(getattr(channel, name)) if channel else ""
                       for name in ("api_key", "api_secret", "webhook_secret")}}


def _page(channel: Channel | None, form, status: int = 200, error: str | None = None,
          issued: tuple[ApiKey, str] | None = None):
    """The channel page (new: the form alone); `issued` shows a new key's plain text."""
    kind = form.kind.data if form.kind.data in KINDS else KINDS[0]
    context = {"form": form, "error": error, "options": OPTIONS, "buttons": ButtonForm(),
               **_connection(channel, kind)}
    if channel is not None:
        context.update(hook=webhook_url(channel), hooked=channel.kind in ADAPTERS,
                       **_keys_context(channel, issued))
    return render("settings/channels_edit.html", status=status, **context)


# -- API keys -------------------------------------------------------------------------

def _keys_context(channel: Channel, issued: tuple[ApiKey, str] | None = None) -> dict:
    """The channel's keys (live first, newest first) with who made them, and the add form."""
    keys = db.session.execute(
        select(ApiKey, User.username).outerjoin(User, User.id == ApiKey.created_by_id)
        .where(ApiKey.channel_id == channel.id)
        .order_by(ApiKey.revoked_at.is_not(None), ApiKey.created_at.desc(), ApiKey.id.desc())
    ).all()
    return {"keys": keys, "key_form": ApiKeyForm(formdata=None), "issued": issued}


def _keys_after(channel: Channel, issued: tuple[ApiKey, str] | None = None):
    """The refreshed keys section for htmx; else the channel page (which shows a new key)."""
    if issued is None and not is_fragment():
        return redirect(url_for("settings.edit_channel", channel_id=channel.id,
                                _anchor="api-keys"), code=303)
    if is_fragment():
        body = render_template("settings/_channel_keys.html", channel=channel,
                               buttons=ButtonForm(), **_keys_context(channel, issued))
        response = current_app.make_response(body)
    else:
        page, status = _page(channel, _form(data=_stored(channel), formdata=None),
                             issued=issued)
        response = current_app.make_response((page, status))
    # The plain text of a new key is in this answer only: no cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/channels/<int:channel_id>/keys")
@role_required(Role.MANAGER)
def new_api_key(channel_id: int):
    """Issue an API key for the channel; its plain text is shown this once."""
    channel = get_or_404(Channel, channel_id)
    form = ApiKeyForm()
    if not form.validate():
        raise form_error(form)
    issued = issue_key(channel, form.name.data, Actor.of(current_user))
    db.session.commit()
    return _keys_after(channel, issued)


@bp.post("/channels/<int:channel_id>/keys/<int:key_id>/revoke")
@role_required(Role.MANAGER)
def revoke_api_key(channel_id: int, key_id: int):
    """Revoke one of the channel's keys: requests with it are refused from now on."""
    channel = get_or_404(Channel, channel_id)
    key = get_or_404(ApiKey, key_id)
    if key.channel_id != channel.id:
        abort(404)
    revoke_key(key, Actor.of(current_user))
    db.session.commit()
    return _keys_after(channel)
