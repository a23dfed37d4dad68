"""Routing settings (managers): warehouse priority and catch-all, and the routing rules."""

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload
from wtforms import BooleanField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Optional

from extensions import db
from models import Actor, Channel, Product, RoutingRule, Warehouse
from models.intake.routing_settings import (
    RULE_KINDS,
    RuleFields,
    add_rule,
    remove_rule,
    set_warehouse_routing,
)
from models.status import Role

from ..web import form_error, get_or_404, is_fragment, render, role_required
from . import bp
from .forms import ButtonForm


class WarehouseRoutingForm(FlaskForm):
    """A warehouse's place in routing: its priority and whether it is the catch-all."""

    priority = IntegerField(_l("Priority"), validators=[InputRequired()])
    catch_all = BooleanField(_l("Catch-all"))


class RoutingRuleForm(FlaskForm):
    """A new rule; which fields count depends on its kind (the operation decides)."""

    kind = SelectField(_l("Rule"), choices=RULE_KINDS)
    warehouse_id = IntegerField(_l("Warehouse"), validators=[Optional()])
    channel_id = IntegerField(_l("Channel"), validators=[Optional()])
    sku = StringField(_l("SKU"), validators=[Optional()])
    place = StringField(_l("City or region"), validators=[Optional()])


def _warehouses_context() -> dict:
    """Every warehouse, active ones first in the order priority tries them."""
    rows = db.session.scalars(select(Warehouse).order_by(
        Warehouse.active.desc(), Warehouse.priority, Warehouse.id)).all()
    return {"warehouses": rows}


def _rules_context() -> dict:
    """The rules by kind in the order routing applies them, and what the add forms offer."""
    rules = db.session.scalars(select(RoutingRule).options(
        joinedload(RoutingRule.warehouse), joinedload(RoutingRule.channel),
        joinedload(RoutingRule.product)).order_by(RoutingRule.id)).all()
    return {
        "rules": {kind: [r for r in rules if r.kind == kind] for kind in RULE_KINDS},
        "active_warehouses": db.session.scalars(select(Warehouse).where(
            Warehouse.active.is_(True)).order_by(Warehouse.priority, Warehouse.id)).all(),
        "channels": db.session.scalars(select(Channel).order_by(Channel.name)).all(),
    }


@bp.get("/routing")
@role_required(Role.MANAGER)
def routing():
    """How each order line finds its warehouse: priorities, catch-all and the rules."""
    dropship = db.session.scalar(select(func.count()).select_from(Product).where(
        Product.dropship_supplier_id.is_not(None)))
    return render("settings/routing.html", dropship=dropship, buttons=ButtonForm(),
                  **_warehouses_context(), **_rules_context())


@bp.post("/routing/warehouses/<int:warehouse_id>")
@role_required(Role.MANAGER)
def save_warehouse_routing(warehouse_id: int):
    """Set a warehouse's priority and catch-all flag (a new catch-all replaces the old)."""
    warehouse = get_or_404(Warehouse, warehouse_id)
    form = WarehouseRoutingForm()
    if not form.validate():
        raise form_error(form)
    replaced = set_warehouse_routing(warehouse, form.priority.data, form.catch_all.data,
                                     Actor.of(current_user))
    db.session.commit()
    notice = _("%(name)s saved.", name=warehouse.name)
    if replaced is not None:
        notice = _("%(name)s is now the catch-all; %(old)s no longer is.",
                   name=warehouse.name, old=replaced.name)
    if is_fragment():
        return render("settings/routing.html", block="warehouses", notice=notice,
                      buttons=ButtonForm(), **_warehouses_context())
    flash(notice, "success")
    return redirect(url_for("settings.routing", _anchor="routing-warehouses"), code=303)


@bp.post("/routing/rules")
@role_required(Role.MANAGER)
def add_routing_rule():
    """Add a rule of any kind."""
    form = RoutingRuleForm()
    if not form.validate():
        raise form_error(form)
    add_rule(RuleFields(kind=form.kind.data, warehouse_id=form.warehouse_id.data,
                        channel_id=form.channel_id.data, sku=form.sku.data or "",
                        place=form.place.data or ""), Actor.of(current_user))
    db.session.commit()
    return _rules_after()


@bp.post("/routing/rules/<int:rule_id>/delete")
@role_required(Role.MANAGER)
def remove_routing_rule(rule_id: int):
    """Remove a rule."""
    remove_rule(get_or_404(RoutingRule, rule_id), Actor.of(current_user))
    db.session.commit()
    return _rules_after()


def _rules_after():
    """The refreshed rules for htmx, or back to the page."""
    if is_fragment():
        return render_template("settings/_routing_rules.html", buttons=ButtonForm(),
                               **_rules_context())
    return redirect(url_for("settings.routing", _anchor="routing-rules"), code=303)
