"""The whole app driven at random through its HTTP surface and its jobs, as its users and
partners would, with the invariants every order must keep checked after each step.

Agents take calls and record outcomes, operators scan and move parcels on the desk, a
shop sends orders and cancellations, a courier registers parcels and sends duplicated,
late and out-of-order tracking webhooks, and the jobs run (twice, re-enqueued, reconcile)
with a real Redis and RQ worker. Each example starts from empty tables.
"""

from __future__ import annotations

from copy import deepcopy
from datetime import datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from extensions import db
from models import Parcel
from models.catalog.products import SupplierSku
from models.shipping.tables import CarrierStatusMapping
from tests.blueprints.test_calls import card_order, next_call, record
from tests.dropship_support import SETTINGS as SUPPLIER_SETTINGS
from tests.dropship_support import SupplierPeer
from tests.properties import invariants as check
from tests.properties.partners import (
    COURIER_SECRET,
    COURIER_SETTINGS,
    RAW,
    STATUS_MAP,
    CourierPeer,
    courier_webhook,
    shop_webhook,
)
from tests.properties.work import empty_but_users, run_jobs
from tests.workers.carriers.peer import Peer
from workers.reconcile import reconcile
from workers.shipping import register_parcels
from workers.suppliers.jobs import sync_supplier

pytestmark = pytest.mark.slow

AGENTS = 2
LOCAL = ZoneInfo("Africa/Casablanca")
OUTCOMES = {"confirmed": {}, "no_answer": {}, "call_later": {"callback": "1h"},
            "canceled": {"reason": "Changed their mind"}, "fake": {"reason": "Prank"}}
# Raw courier codes the machine sends: the four mapped moves, one ignored, one nobody mapped.
COURIER_CODES = [RAW["shipped"], RAW["delivered"], RAW["package_issue"], RAW["in_return"],
                 RAW["ignore"], "LOST_IN_SPACE"]
# "next": the code that moves the parcel along a courier's usual road from where it is.
ROAD = {"fulfilled": ["shipped"], "shipped": ["delivered", "in_return", "package_issue"],
        "package_issue": ["delivered", "in_return"], "delivered": ["in_return"]}
pick = st.integers(min_value=0, max_value=10_000)
DROPSHIP_SKU = "LAMPE-CUIVRE"
# What the shop's customers buy: our own stock, the supplier's lamp, or both.
BASKETS = [("CAF-BRD-M",), (DROPSHIP_SKU,), ("CAF-BRD-M", "SAV-NOIR-200"),
           ("SAV-NOIR-200",), ("SAV-NOIR-200", DROPSHIP_SKU)]
# How the supplier's API says where an order is (DEFAULT_SETTINGS' status table).
SUPPLIER_NEWS = ["processing", "shipped", "rejected", "cancelled"]


class Storefront(RuleBasedStateMachine):
    """One shop, one courier, two agents, an operator; everything over HTTP or in jobs."""

    fx: SimpleNamespace  # the test's fixtures and partners, set before each run

    def __init__(self):
        """Empty tables and Redis, then the shop's setup as a manager would leave it."""
        super().__init__()
        fx = self.fx
        db.session.remove()
        empty_but_users()
        fx.app.extensions["redis"].flushdb()
        self.seen = check.Seen()
        self.cards: dict[int, int | None] = {}
        self.card_resp: dict[int, object] = {}
        self.shop_ids: list[int] = []
        self.events: list[tuple[str, list[dict]]] = []  # (tracking, history) sent before
        self.clock = datetime.now(LOCAL).replace(tzinfo=None, microsecond=0) - timedelta(
            days=3)
        self.serial = 0
        self.routine = 0
        with fx.supplier._lock:  # the supplier forgets the last example's orders
            fx.supplier.made.clear()
            fx.supplier.refuse.clear()

    @initialize()
    def open_shop(self):
        """A courier at the courier peer, a Shopify shop at the shop peer, stock, people."""
        fx = self.fx
        courier = fx.make_carrier(kind="http_json", code="rapido", name="Rapido",
                                  base_url=fx.courier.url, api_key="k",
                                  webhook_secret=COURIER_SECRET, settings=COURIER_SETTINGS)
        for raw, maps_to in STATUS_MAP.items():
            db.session.add(CarrierStatusMapping(carrier_id=courier.id, raw_status=raw,
                                                maps_to=maps_to))
        warehouse = fx.make_warehouse()
        for sku, price, stock in (("CAF-BRD-M", 39900, 4), ("SAV-NOIR-200", 7500, 9)):
            fx.make_product(stock=stock, warehouse=warehouse, sku=sku, price_cents=price)
        supplier = fx.make_supplier(kind="http_json", base_url=fx.supplier.url,
                                    api_key="sup-key", settings=deepcopy(SUPPLIER_SETTINGS),
                                    default_shipping_method="Standard")
        self.supplier_id = supplier.id
        lamp = fx.make_product(stock=0, dropship_supplier_id=supplier.id, sku=DROPSHIP_SKU)
        db.session.add(SupplierSku(supplier_id=supplier.id, product_id=lamp.id,
                                   supplier_sku=f"X-{DROPSHIP_SKU}", cost_cents=1000))
        # Confirmed dropship lines go to the supplier at once (what fails lands in error).
        fx.make_channel(kind="shopify", code="boutique", base_url=fx.shop.url,
                        api_key="shpat_test", webhook_secret=fx.shop_secret,
                        default_carrier_id=courier.id, dropship_process="always")
        db.session.commit()
        self.agents, self.operator, self.client = fx.agents, fx.operator, fx.client
        self.cards = {agent.uid: None for agent in self.agents}
        # A morning's first orders, so the call screen has work from the first step.
        for skus in BASKETS[:3]:
            self.shop_sends_an_order(skus, redeliver=False)
        run_jobs(self.fx.app)

    # -- an ordinary hour -------------------------------------------------------------

    @rule()
    def a_routine_hour(self):
        """One step of an ordinary day in turn: orders, confirmed calls, packing scans, the
        courier's news (some late or sent twice), the supplier's answers, returns booked,
        the jobs between. Hypothesis's first and simplest example repeats the first rule by
        name, so that example is a whole day."""
        self._begin()
        self.routine += 1
        n = self.routine
        phase = n % 8
        if phase == 1:
            self.shop_sends_an_order(BASKETS[n % len(BASKETS)], redeliver=n % 3 == 0)
        elif phase == 2:
            self.workers_run(twice=False)
            self.agent_takes_a_call(n % AGENTS, "confirmed" if n % 5 else "no_answer")
        elif phase in (3, 7):
            self.workers_run(twice=n % 2 == 0)
            if self._orders("created", "in_return"):
                self.operator_scans(n, by_tracking=n % 2 == 0)
        elif phase in (4, 5) and self._tracking():
            self.courier_sends_news(n, "next", "late" if n % 7 == 0 else "now", also=n % 3)
        elif phase == 6 and self.fx.supplier.made:
            self.supplier_moves_an_order(n, SUPPLIER_NEWS[n % len(SUPPLIER_NEWS)])
        elif self.events:
            self.courier_repeats_a_webhook(n, same_delivery=n % 2 == 0)
        else:
            self.reconcile_runs()

    # -- the shop ---------------------------------------------------------------------

    def _next_serial(self) -> int:
        self.serial += 1
        return self.serial

    @rule(skus=st.sampled_from(BASKETS), redeliver=st.booleans())
    def shop_sends_an_order(self, skus, redeliver):
        """orders/create, sometimes delivered twice."""
        self._begin()
        shop_id = 9000 + self._next_serial()
        body, headers = shop_webhook(shop_id, "orders/create", f"d-{shop_id}", skus)
        assert self._to_shop(body, headers) == 202
        if redeliver:
            assert self._to_shop(body, headers) == 200
        self.shop_ids.append(shop_id)

    @precondition(lambda self: self.shop_ids)
    @rule(which=pick)
    def shop_cancels_an_order(self, which):
        """orders/cancelled for an order the shop sent (confirmed or not)."""
        self._begin()
        shop_id = self.shop_ids[which % len(self.shop_ids)]
        body, headers = shop_webhook(shop_id, "orders/cancelled", f"c-{self._next_serial()}",
                                     cancelled_at="2026-11-28T12:00:00+01:00")
        assert self._to_shop(body, headers) == 202

    def _to_shop(self, body, headers) -> int:
        return self.client.post("/api/v1/channels/boutique/webhook", data=body,
                                headers=headers, csrf=False).status_code

    # -- the call screen --------------------------------------------------------------

    @rule(who=st.integers(0, AGENTS - 1))
    def agent_presses_next(self, who):
        """Next call: a card (the held one again, or the queue's head) or the idle panel."""
        self._begin()
        agent = self.agents[who]
        resp = next_call(agent)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]
        self._show(agent, resp)

    @rule(who=st.integers(0, AGENTS - 1), outcome=st.sampled_from(sorted(OUTCOMES)))
    def agent_records_an_outcome(self, who, outcome):
        """An outcome on the card the agent sees; refusals (stock, conflicts) are 409/403."""
        self._begin()
        agent = self.agents[who]
        if self.cards[agent.uid] is None:
            return
        resp = record(agent, self.card_resp[agent.uid], outcome, **OUTCOMES[outcome])
        assert resp.status_code in (200, 403, 409), resp.get_data(as_text=True)[:500]
        self._show(agent, resp)

    @rule(who=st.integers(0, AGENTS - 1), outcome=st.sampled_from(
        ["confirmed", "confirmed", *sorted(OUTCOMES)]))
    def agent_takes_a_call(self, who, outcome):
        """N, then an outcome: an agent's usual rhythm (Confirmed the likeliest)."""
        self.agent_presses_next(who)
        self.agent_records_an_outcome(who, outcome)

    def _show(self, agent, resp) -> None:
        order_id = card_order(resp)
        self.cards[agent.uid] = order_id
        self.card_resp[agent.uid] = resp

    # -- the shipping desk ------------------------------------------------------------

    def _orders(self, *shipping: str) -> list[int]:
        return sorted(oid for oid, (_c, ship) in check.orders_now().items() if ship in shipping)

    @precondition(lambda self: self._orders("created", "in_return", "fulfilled"))
    @rule(which=pick, by_tracking=st.booleans())
    def operator_scans(self, which, by_tracking):
        """A scan packs a Created parcel or books an In return one as Returned (refusals are
        shown on the scan list, never an error)."""
        self._begin()
        orders = self._orders("created", "in_return", "fulfilled")
        order_id = orders[which % len(orders)]
        code = (self._tracking().get(order_id) if by_tracking else None) or f"#{order_id}"
        resp = self.operator.post("/shipping/scan", data={"code": code}, htmx=True)
        # A refused scan is a 409 whose red entry says why; either way one entry comes back.
        assert resp.status_code in (200, 409), resp.get_data(as_text=True)[:500]
        assert resp.get_data(as_text=True).lstrip().startswith("<li")

    @precondition(lambda self: self._orders("created", "fulfilled", "in_return", "shipped"))
    @rule(which=st.lists(pick, min_size=1, max_size=3),
          action=st.sampled_from(["fulfilled", "returned", "canceled"]))
    def operator_moves_on_the_desk(self, which, action):
        """Bulk Fulfilled / Returned / Canceled; the door refuses what it must, per order."""
        self._begin()
        orders = self._orders("created", "fulfilled", "in_return", "shipped")
        ids = sorted({orders[i % len(orders)] for i in which})
        resp = self.operator.post("/shipping/bulk", data={"action": action, "ids": ids},
                                  htmx=True)
        assert resp.status_code == 200, resp.get_data(as_text=True)[:500]

    # -- the courier ------------------------------------------------------------------

    def _tracking(self) -> dict[int, str]:
        return {oid: tn for oid, tn in db.session.execute(
            select(Parcel.order_id, Parcel.tracking_number)
            .where(Parcel.tracking_number.is_not(None)))}

    @precondition(lambda self: self._tracking())
    @rule(which=pick, code=st.sampled_from(["next"] * 4 + COURIER_CODES),
          when=st.sampled_from(["now", "late"]), also=st.integers(0, 2))
    def courier_sends_news(self, which, code, when, also):
        """A signed webhook with one new event (now, or dated before earlier ones), and
        sometimes an old event of the same parcel repeated in the same body."""
        self._begin()
        tracking = self._tracking()
        order_id = sorted(tracking)[which % len(tracking)]
        number = tracking[order_id]
        if code == "next":
            road = ROAD.get(check.orders_now()[order_id][1], ["shipped"])
            code = RAW[road[which % len(road)]]
        self.clock += timedelta(minutes=7)
        moment = self.clock - (timedelta(hours=30) if when == "late" else timedelta(0))
        history = [{"id": self._next_serial(), "status": code, "comment": code,
                    "city": "Rabat", "date": moment.isoformat(sep=" ")}]
        earlier = [events for tn, events in self.events if tn == number]
        if earlier and also:
            history = [*earlier[also % len(earlier)], *history][::-1 if also == 2 else 1]
        self.events.append((number, history))
        self._to_courier(number, history, f"w-{self._next_serial()}")

    @precondition(lambda self: self.events)
    @rule(which=pick, same_delivery=st.booleans())
    def courier_repeats_a_webhook(self, which, same_delivery):
        """A webhook sent again: a redelivery (same id) or the same events under a new id."""
        self._begin()
        number, history = self.events[which % len(self.events)]
        delivery = f"repeat-{which % len(self.events)}" if same_delivery else (
            f"w-{self._next_serial()}")
        self._to_courier(number, history, delivery)

    def _to_courier(self, number, history, delivery) -> None:
        body, headers = courier_webhook(number, history, delivery)
        resp = self.client.post("/api/v1/carriers/rapido/webhook", data=body, headers=headers,
                                csrf=False)
        assert resp.status_code in (200, 202), resp.get_data(as_text=True)[:500]

    # -- the supplier -----------------------------------------------------------------

    @precondition(lambda self: self.fx.supplier.made)
    @rule(which=pick, news=st.sampled_from(SUPPLIER_NEWS))
    def supplier_moves_an_order(self, which, news):
        """The supplier accepts, ships (with a tracking number), rejects or cancels one of
        the orders it made; the next sync asks and hears it."""
        self._begin()
        peer = self.fx.supplier
        with peer._lock:
            made = sorted(peer.made.values(), key=lambda m: m.ref)[which % len(peer.made)]
            made.status = news
            if news == "shipped" and made.tracking_number is None:
                made.tracking_number, made.carrier = f"RPD-S{self._next_serial():04d}", "Rapido"
        sync_supplier.enqueue(self.supplier_id)
        run_jobs(self.fx.app)

    @rule(refuse=st.booleans())
    def supplier_stock_changes(self, refuse):
        """The supplier runs out of the lamp (refusing new orders of it) or has it again."""
        self._begin()
        with self.fx.supplier._lock:
            if refuse:
                self.fx.supplier.refuse[f"X-{DROPSHIP_SKU}"] = "Out of stock"
            else:
                self.fx.supplier.refuse.clear()

    # -- the jobs ---------------------------------------------------------------------

    @rule(twice=st.booleans())
    def workers_run(self, twice):
        """Every queued job, by a burst worker; sometimes a second burst right after."""
        self._begin()
        run_jobs(self.fx.app)
        if twice:
            run_jobs(self.fx.app)

    @rule()
    def registration_enqueued_again(self):
        """The same registration job enqueued twice (and reconcile's copy), then run."""
        self._begin()
        register_parcels.enqueue()
        register_parcels.enqueue(job_id="register-parcels")
        reconcile.enqueue()
        run_jobs(self.fx.app)

    @rule()
    def reconcile_runs(self):
        """The every-minute reconcile, then whatever it enqueued."""
        self._begin()
        reconcile.enqueue(job_id="reconcile")
        run_jobs(self.fx.app)

    # -- invariants -------------------------------------------------------------------

    def _begin(self):
        """The statuses before this step, which the invariants compare the step's to."""
        self._look()
        check.observe(self.seen)

    def _look(self):
        db.session.rollback()
        db.session.expire_all()

    @invariant()
    def no_order_held_by_two_agents(self):
        self._look()
        assert check.double_holds(self.cards) == []

    @invariant()
    def status_pairs_follow_the_tables(self):
        self._look()
        assert check.status_pairs(self.seen) == []

    @invariant()
    def final_statuses_stay(self):
        self._look()
        assert check.finals_moved(self.seen) == []

    @invariant()
    def stock_equals_the_ledger(self):
        self._look()
        assert check.stock_off_ledger() == []

    @invariant()
    def returned_lines_restocked_once(self):
        self._look()
        assert check.restocks_wrong() == []

    @invariant()
    def no_supplier_order_made_twice(self):
        with self.fx.supplier._lock:
            references = [m.body.get("external_reference") for m in self.fx.supplier.made.values()]
        assert check.resubmitted(references) == []

    @invariant()
    def counters_equal_a_recount(self):
        self._look()
        assert check.counter_differences() == []

    @invariant()
    def every_move_is_audited(self):
        self._look()
        assert check.unaudited(self.seen) == []


def test_storefront_keeps_its_invariants(app, login, make_carrier, make_channel,
                                         make_product, make_warehouse, make_supplier):
    """Random days of the shop, each from empty tables; every invariant after every step."""
    from tests.channel_support import SECRET as SHOP_SECRET

    agents = [login("agent") for _ in range(AGENTS)]
    for agent in agents:
        agent.uid = agent.user.id  # the row object goes when the first example starts
    with (CourierPeer.running() as courier, Peer.running() as shop,
          SupplierPeer.running() as supplier):
        Storefront.fx = SimpleNamespace(
            app=app, agents=agents, operator=login("operator"), client=app.test_client(),
            make_carrier=make_carrier, make_channel=make_channel, make_product=make_product,
            make_warehouse=make_warehouse, make_supplier=make_supplier, courier=courier,
            shop=shop, supplier=supplier, shop_secret=SHOP_SECRET)
        try:
            run_state_machine_as_test(Storefront, settings=settings(
                max_examples=8, stateful_step_count=35, deadline=None, derandomize=True,
                database=None, suppress_health_check=list(HealthCheck)))
        finally:
            del Storefront.fx  # the app and clients end with this test

