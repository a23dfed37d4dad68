"""The call screen for agents, and the team view and settings for managers."""

from flask import abort, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from extensions import db
from models import Actor, CallSettings, Order, User, utcnow
from models.calls.card import call_card
from models.calls.outcome import Corrections, record_outcome
from models.calls.queue import (
    assign_order,
    claim_after_outcome,
    claim_next,
    held_order,
    queue_summary,
    release_claim,
    team,
)
from models.errors import DomainError, InvalidInput
from models.orders.agent_days import AgentDay, agent_day, local_day
from models.status import Role

from ..delayed import start_due
from ..web import MAX_ID, form_error, get_or_404, is_fragment, render, role_required
from . import bp
from .announce import recorded_sentence
from .forms import CALLBACK_CHOICES, REASONS, AssignForm, CallSettingsForm, OutcomeForm, ReleaseForm
from .parse import callback_time, line_changes, reason_note


def _screen(agent_id: int, order, status: int = 200, error: DomainError | None = None,
            typed=None, day: AgentDay | None = None, announce: str = "", due=()):
    """The agent's screen, or for htmx the call area (card) with the strip out of band.

    `announce` (after an outcome) goes to the live region and moves focus to the new card;
    the jobs `due` start once committed, and a delay among them is announced too.
    """
    card = call_card(order) if order is not None else None
    context = {
        "card": card, "error": error, "reasons": REASONS, "typed": typed or {},
        "announce": announce, "callbacks": CALLBACK_CHOICES,
        # After an outcome or a Next call, the new card's heading takes the focus.
        "take_focus": bool(announce) or request.endpoint == "calls.next_call",
        "day": day or agent_day(agent_id, local_day(utcnow())),
        # Counting the queue is for the idle screen only; a card doesn't show it.
        "summary": queue_summary(CallSettings.load()) if card is None else None,
    }
    # The outcome and claim of this request, if any, become visible together with the
    # card read in the same transaction.
    db.session.commit()
    if delayed := start_due(due):
        context["announce"] = f"{announce} {delayed}".strip()
    if is_fragment():
        return render("calls/_call_area.html", status=status, oob=True, **context)
    return render("calls/agent.html", status=status, **context)


@bp.get("/")
@role_required(Role.AGENT, Role.MANAGER)
def index():
    """Agents: the call screen with the order they hold. Managers: the team view."""
    if current_user.role != Role.AGENT:
        return redirect(url_for("calls.team_view"))
    return _screen(current_user.id, held_order(current_user.id, CallSettings.load()))


@bp.post("/next")
@role_required(Role.AGENT)
def next_call():
    """Claim the next order in the queue (or show the one already held)."""
    actor = Actor.of(current_user)
    order = claim_next(actor, CallSettings.load())
    if not is_fragment():
        return redirect(url_for("calls.index"), code=303)
    return _screen(actor.user_id, order)


@bp.post("/<int:order_id>/outcome")
@role_required(Role.AGENT)
def outcome(order_id: int):
    """Record the call's outcome (with corrections), then bring the next call."""
    if not 0 < order_id <= MAX_ID:
        abort(404)
    actor = Actor.of(current_user)
    settings = CallSettings.load()
    form = OutcomeForm()
    try:
        if not form.validate():
            raise form_error(form)
        quantities, remove = line_changes(request.form)
        corrections = Corrections(address=form.address.data, city=form.city.data,
                                  phone=form.phone.data, quantities=quantities, remove=remove)
        recorded = record_outcome(order_id, form.outcome.data, actor, settings,
                                  note=reason_note(form), expected_version=form.version.data,
                                  callback_at=callback_time(form, utcnow()),
                                  corrections=corrections)
        # One transaction for the outcome and the next claim: _screen commits it after
        # reading the card.
        next_order = claim_after_outcome(actor, settings)
    except DomainError as error:
        db.session.rollback()
        return _refused(actor.user_id, order_id, error)
    if not is_fragment():
        db.session.commit()
        if delayed := start_due(recorded.outcome.due):
            flash(delayed, "info")
        return redirect(url_for("calls.index"), code=303)
    said = recorded_sentence(order_id, form.outcome.data,
                             next_order.id if next_order is not None else None)
    return _screen(actor.user_id, next_order, day=recorded.day, announce=said,
                   due=recorded.outcome.due)


def _refused(agent_id: int, order_id: int, error: DomainError):
    """A refused outcome: bad input keeps the card; a lost order explains and offers the next."""
    db.session.expire_all()
    held = held_order(agent_id, CallSettings.load())
    if error.status_code == 422 and held is not None and held.id == order_id:
        # Keep what the agent typed, so they fix the one field instead of retyping.
        return _screen(agent_id, held, status=422, error=error, typed=request.form)
    return _screen(agent_id, None, status=error.status_code, error=error)


@bp.get("/team")
@role_required(Role.MANAGER)
def team_view():
    """Managers: each agent's current call and figures, and the queue by bucket."""
    settings = CallSettings.load()
    assign = AssignForm()
    assign.agent_id.choices = _agent_choices()
    return render("calls/team.html", block="team", team=team(settings, local_day(utcnow())),
                  summary=queue_summary(settings), settings=settings, assign=assign,
                  release=ReleaseForm())


def _agent_choices() -> list[tuple[int, str]]:
    """Active agents for the assign form."""
    agents = db.session.execute(select(User).where(User.role == Role.AGENT, User.active)
                                .order_by(User.username)).scalars()
    return [(a.id, a.display_name) for a in agents]


@bp.post("/<int:order_id>/release")
@role_required(Role.MANAGER)
def release(order_id: int):
    """Take an order back from an agent and return it to the queue."""
    order = get_or_404(Order, order_id)
    release_claim(order, Actor.of(current_user))
    db.session.commit()
    return redirect(url_for("calls.team_view"), code=303)


@bp.post("/assign")
@role_required(Role.MANAGER)
def assign():
    """Give a waiting order to an agent who is free."""
    form = AssignForm()
    form.agent_id.choices = _agent_choices()
    if not form.validate():
        raise InvalidInput(_("Pick an order number and an agent."))
    order = db.session.get(Order, form.order_id.data)
    if order is None:
        raise InvalidInput(_("There is no order #%(id)s.", id=form.order_id.data))
    assign_order(order, db.session.get(User, form.agent_id.data), Actor.of(current_user),
                 CallSettings.load())
    db.session.commit()
    return redirect(url_for("calls.team_view"), code=303)


@bp.route("/settings", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def settings():
    """The call queue's settings."""
    current = CallSettings.load()
    form = CallSettingsForm(data=current.__dict__ if request.method == "GET" else None)
    if form.validate_on_submit():
        CallSettings(
            retry_delay_minutes=form.retry_delay_minutes.data,
            max_attempts=form.max_attempts.data,
            claim_timeout_minutes=form.claim_timeout_minutes.data,
            phone_region=form.phone_region.data.upper(),
        ).save()
        db.session.commit()
        return redirect(url_for("calls.team_view"), code=303)
    status = 422 if form.is_submitted() else 200
    return render("calls/settings.html", status=status, form=form)
