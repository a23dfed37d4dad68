"""The run's traffic, each kind a thread speaking HTTP to the two web servers as its real
counterpart would: a shop posting orders to the API, the marketplace announcing orders by
webhook, agents confirming on the call screen, an operator packing and taking returns back,
and a replayer sending stored carrier and channel webhooks again (same delivery id, shuffled).
"""

import hashlib
import hmac
import json
import random
import re
import threading
import time
from collections import Counter

import requests
from sqlalchemy import text

from workers.sandbox_jobs import _demo_order

SANDBOX_KEY = "sandbox-demo-key"  # the demo's marketplace and carrier accounts
TIMEOUT = 10
LOGIN_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
PAGE_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')
CARD = re.compile(r'<article class="call-card" data-order="(\d+)"')
VERSION = re.compile(r'name="version" value="([^"]*)"')


def sign(body: bytes) -> str:
    """The sandbox partners' signature: hex HMAC-SHA256 of the body with the account key."""
    return hmac.new(SANDBOX_KEY.encode(), body, hashlib.sha256).hexdigest()


class Tally:
    """Thread-safe counters of what the traffic did."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n


class Traffic(threading.Thread):
    """A loop that runs until stopped, never dying of one bad answer."""

    pace = 0.5  # seconds between rounds

    def __init__(self, bases: list[str], tally: Tally, seed: int) -> None:
        super().__init__(daemon=True, name=type(self).__name__)
        self.bases, self.tally, self.rng = bases, tally, random.Random(seed)
        self.stopping = threading.Event()
        self.http = requests.Session()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.round()
            except Exception as exc:  # one bad answer must not end the traffic
                self.tally.add(f"{self.name}: {type(exc).__name__}")
            self.stopping.wait(self.pace)

    def base(self) -> str:
        return self.rng.choice(self.bases)


class Shop(Traffic):
    """Orders through the API; some sent again (a replay must answer 200, not a second
    order). An order counts as sent once the API took it; until then it is retried."""

    pace = 0.3

    def __init__(self, bases, tally, seed, token: str, skus: list[str], run_id: str) -> None:
        super().__init__(bases, tally, seed)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.skus, self.run_id = skus, run_id
        self.bodies: dict[str, dict] = {}
        self.taken: set[str] = set()
        self.n = 0

    def round(self) -> None:
        if self.taken and self.rng.random() < 0.2:
            external_id = self.rng.choice(sorted(self.taken))
            self.tally.add("api replays")
        else:
            self.n += 1
            external_id = f"{self.run_id}-{self.n}"
            self.bodies[external_id] = self._order(external_id)
        self.send(external_id)
        for late in [e for e in self.bodies if e not in self.taken][:3]:
            self.send(late)

    def send(self, external_id: str) -> None:
        response = self.http.post(f"{self.base()}/api/v1/orders", json=self.bodies[external_id],
                                  headers=self.headers, timeout=TIMEOUT)
        self.tally.add(f"api {response.status_code}")
        if response.status_code in (200, 201):
            self.taken.add(external_id)

    def finish(self, seconds: float) -> int:
        """Send every order the API has not taken yet, until it has; return those left."""
        deadline = time.monotonic() + seconds
        while (left := [e for e in self.bodies if e not in self.taken]) and \
                time.monotonic() < deadline:
            for external_id in left:
                try:
                    self.send(external_id)
                except requests.RequestException:
                    time.sleep(1)
        return len([e for e in self.bodies if e not in self.taken])

    def _order(self, external_id: str) -> dict:
        lines = self.rng.sample(self.skus, k=self.rng.randint(1, 2))
        return {"external_id": external_id,
                "customer": {"name": "Chaos Client", "phone": f"06{self.rng.randrange(10**8):08d}",
                             "address": f"{self.rng.randint(1, 99)} rue Ibn Battouta",
                             "city": "Casablanca"},
                "lines": [{"sku": sku, "quantity": 1} for sku in lines]}


class Marketplace(Traffic):
    """Orders placed at the sandbox marketplace and announced by signed webhook (the
    channel's poll also finds them: each must land once)."""

    pace = 1.0

    def __init__(self, bases, tally, seed, products: list[tuple], run_id: str) -> None:
        super().__init__(bases, tally, seed)
        self.products, self.run_id, self.n = products, run_id, 0
        self.deliveries: list[tuple[str, bytes]] = []
        self.numbers: list[str] = []

    def round(self) -> None:
        self.n += 1
        data = {"number": f"{self.run_id}-M{self.n}", **_demo_order(self.rng, self.products)}
        response = self.http.post(f"{self.base()}/sandbox/marketplace/orders", json=data,
                                  headers={"Authorization": f"Bearer {SANDBOX_KEY}"},
                                  timeout=TIMEOUT)
        if response.status_code not in (200, 201):
            self.tally.add(f"marketplace order {response.status_code}")
            return
        self.numbers.append(data["number"])
        body = json.dumps({"topic": "order.created", "order": response.json()}).encode()
        delivery = f"{self.run_id}-mkt-{self.n}"
        self.deliveries.append((delivery, body))
        post_channel_webhook(self.http, self.base(), delivery, body, self.tally, "first")


def post_channel_webhook(http, base: str, delivery: str, body: bytes, tally: Tally,
                         kind: str) -> None:
    """One signed marketplace webhook delivery."""
    response = http.post(f"{base}/api/v1/channels/marketplace/webhook", data=body,
                         headers={"Content-Type": "application/json",
                                  "X-Sandbox-Delivery": delivery,
                                  "X-Sandbox-Signature": sign(body)}, timeout=TIMEOUT)
    tally.add(f"channel webhook {kind} {response.status_code}")


class Person(Traffic):
    """A logged-in user of one web server (its session belongs to that server's key)."""

    def __init__(self, bases, tally, seed, username: str) -> None:
        super().__init__(bases, tally, seed)
        self.username, self.token = username, None
        self.name = f"{type(self).__name__}({username})"

    def base(self) -> str:
        return self.bases[0]

    def login(self) -> None:
        page = self.http.get(f"{self.base()}/login", timeout=TIMEOUT).text
        form = {"username": self.username, "password": "demo",
                "csrf_token": LOGIN_TOKEN.search(page).group(1)}
        response = self.http.post(f"{self.base()}/login", data=form, timeout=TIMEOUT)
        self.token = PAGE_TOKEN.search(response.text).group(1)

    def post(self, path: str, data: dict | None = None) -> requests.Response:
        if self.token is None:
            self.login()
        response = self.http.post(f"{self.base()}{path}", data=data or {}, timeout=TIMEOUT,
                                  headers={"HX-Request": "true", "X-CSRFToken": self.token})
        if response.status_code in (400, 401, 403):
            self.token = None  # the session or its token is gone: log in again
        return response


class Agent(Person):
    """Takes the next call and confirms it (now and then: no answer)."""

    pace = 0.2

    def round(self) -> None:
        card = self.post("/calls/next")
        found = CARD.search(card.text)
        if not found:
            self.tally.add(f"agent next {card.status_code}")
            return
        outcome = "no_answer" if self.rng.random() < 0.1 else "confirmed"
        data = {"version": VERSION.search(card.text).group(1), "outcome": outcome}
        response = self.post(f"/calls/{found.group(1)}/outcome", data)
        self.tally.add(f"agent {outcome} {response.status_code}")


class Operator(Person):
    """Packs registered parcels and takes parcels back in (returned, which restocks)."""

    pace = 1.0

    def __init__(self, bases, tally, seed, username: str, engine) -> None:
        super().__init__(bases, tally, seed, username)
        self.engine = engine

    def round(self) -> None:
        with self.engine.connect() as conn:
            packable = conn.execute(text(
                "SELECT o.id, o.version FROM orders o WHERE o.shipping_status = 'created'"
                " AND EXISTS (SELECT 1 FROM parcels p WHERE p.order_id = o.id AND p.leads"
                " AND p.registered_at IS NOT NULL) ORDER BY o.id LIMIT 10")).all()
            # Parcels back from the carrier, and now and then a packed one the customer
            # cancelled before hand-over (fulfilled -> returned): both restock.
            back = conn.execute(text(
                "SELECT id, version FROM orders WHERE shipping_status = 'in_return'"
                " OR (shipping_status = 'fulfilled' AND id % 5 = 0)"
                " ORDER BY id LIMIT 10")).all()
        for to, rows in (("fulfilled", packable), ("returned", back)):
            for order_id, version in rows:
                response = self.post(f"/orders/{order_id}/shipping",
                                     {"to": to, "version": version})
                self.tally.add(f"operator {to} {response.status_code}")


class Replayer(Traffic):
    """Sends stored carrier webhooks and the marketplace's deliveries again, a few at a
    time in shuffled order: the same delivery id must change nothing twice."""

    pace = 0.5

    def __init__(self, bases, tally, seed, engine, marketplace: Marketplace) -> None:
        super().__init__(bases, tally, seed)
        self.engine, self.marketplace = engine, marketplace

    def round(self) -> None:
        with self.engine.connect() as conn:
            stored = conn.execute(text(
                "SELECT headers, body FROM carrier_webhooks ORDER BY random() LIMIT 4")).all()
        for headers, body in stored:
            headers = json.loads(headers) if isinstance(headers, str) else headers
            sent = {k: v for k, v in headers.items()
                    if k.lower() in {"content-type", "x-sandbox-delivery",
                                     "x-sandbox-signature"}}
            response = self.http.post(f"{self.base()}/api/v1/carriers/sandbox/webhook",
                                      data=body.encode(), headers=sent, timeout=TIMEOUT)
            self.tally.add(f"carrier webhook replay {response.status_code}")
        deliveries = list(self.marketplace.deliveries)
        for delivery, body in self.rng.sample(deliveries, k=min(3, len(deliveries))):
            post_channel_webhook(self.http, self.base(), delivery, body, self.tally, "replay")
