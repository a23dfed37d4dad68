"""AfterShip: one tracking service over 1,000+ couriers (Tracking API version 2025-01).

AfterShip creates no shipments. "Registering" a parcel gives AfterShip the tracking
number the courier printed, so it starts following it; events then come by batch
(track) or by webhook. Endpoints, the `as-api-key` header, meta codes and the webhook
signature follow AfterShip's 2025-01 documentation and its official Node SDK.

Event codes: a checkpoint's `subtag` ("Exception_010"), which AfterShip already spells
"<Tag>_<NNN>"; the bare `tag` ("Exception") when a checkpoint has no subtag. So a code
is either "Tag" or "Tag_NNN", and map_status reads subtag rules before tag rules.

Times: `checkpoint_time` is the courier's local time, often without a zone. With an
offset it is converted to UTC; without one it is kept as written (AfterShip does not
say which zone it is in; for Moroccan couriers that is UTC or UTC+1).

Settings (`settings_fields`): `slug`, the courier's AfterShip code; optional, since
AfterShip detects the courier from the tracking number when it is empty.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime

import requests
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from .base import CarrierAdapter, CarrierError, CarrierRefused, Registration, TrackingEvent, Webhook

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.aftership.com/tracking/2025-01"
SIGNATURE_HEADER = "aftership-hmac-sha256"
META_ALREADY_EXISTS = 4003  # POST /trackings: "tracking already exists" (HTTP 400)
# A cursor loop that never ends would hang a worker; 50 numbers fit one page anyway.
MAX_PAGES = 20

# Subtags that mean more than their tag says; checked before TAG_STATUS.
SUBTAG_STATUS = {
    "Exception_010": "in_return",  # returning to sender
    "Exception_011": "in_return",  # returned to sender (we mark "returned" on receipt)
}
# The 9 documented tags. Anything else (a tag AfterShip adds later) stays unmapped.
TAG_STATUS = {
    "InfoReceived": "created",
    "InTransit": "shipped",
    "OutForDelivery": "shipped",
    "AvailableForPickup": "shipped",
    "AttemptFail": "package_issue",
    "Exception": "package_issue",
    "Delivered": "delivered",
    "Pending": "ignore",
    "Expired": "ignore",
}


class AfterShipCarrier(CarrierAdapter):
    """Tracking through AfterShip: register numbers, read checkpoints, take webhooks."""

    kind = "aftership"
    registers_known_numbers = True
    # The list endpoint's tracking_numbers filter; AfterShip's page cap is not pinned
    # down in its 2025-01 docs, so batches stay small enough for one page.
    batch_size = 50
    settings_fields = (
        ("slug", _l("Courier slug"),
         _l('AfterShip\'s code for the courier, e.g. "%(example)s". Leave empty to let '
            "AfterShip detect the courier from the tracking number.", example="aramex")),
    )

    # -- calls out -------------------------------------------------------------
    def register(self, parcel) -> Registration:
        """Start tracking the courier's number; "already exists" reads the existing tracking."""
        number = (parcel.tracking_number or "").strip()
        if not number:
            raise CarrierRefused(
                "AfterShip needs a tracking number: enter the one the courier gave you")
        body = {
            "tracking_number": number,
            "title": parcel.reference,
            "order_id": str(parcel.order_id),
            "order_number": parcel.reference,
            "destination_city": parcel.city,
        }
        customer = {k: v for k, v in (("name", parcel.customer_name),
                                      ("phone_number", parcel.phone)) if v}
        if customer:
            body["customers"] = [customer]
        if self._slug():
            body["slug"] = self._slug()
        # AfterShip documents no idempotency header; the header costs nothing, and the
        # real guard is that a number is unique per courier (meta code 4003 below).
        response = self._send("POST", "/trackings", body=body,
                              headers={"Idempotency-Key": parcel.idempotency_key})
        if _meta_code(response) == META_ALREADY_EXISTS:
            return self._existing(number)
        tracking = self._answer(response).get("data")
        if not isinstance(tracking, dict):
            raise self._malformed("a created tracking without data")
        return Registration(tracking_number=str(tracking.get("tracking_number") or number))

    def track(self, tracking_numbers: list[str]) -> list[TrackingEvent]:
        """One event per checkpoint of these trackings, as AfterShip lists them."""
        asked = {_norm(n): n for n in tracking_numbers if n}
        numbers = list(asked.values())
        events: list[TrackingEvent] = []
        for start in range(0, len(numbers), self.batch_size):
            for tracking in self._list(numbers[start:start + self.batch_size]):
                number = asked.get(_norm(tracking.get("tracking_number")))
                if number is None:  # the filter is AfterShip's: keep only what we asked
                    continue
                # The number as we asked, so the caller finds its parcel by equality.
                events.extend(_checkpoint_events(tracking, number))
        return events

    def test_connection(self) -> str:
        """GET the couriers active on the account: proves the key and the slug."""
        data = self._answer(self._send("GET", "/couriers")).get("data")
        couriers = data.get("couriers") if isinstance(data, dict) else None
        if not isinstance(couriers, list):
            raise self._malformed("a courier list without couriers")
        message = ngettext("AfterShip accepted the API key: %(num)d courier active.",
                           "AfterShip accepted the API key: %(num)d couriers active.",
                           len(couriers))
        slug = self._slug()
        if slug and not any(isinstance(c, dict) and c.get("slug") == slug for c in couriers):
            # Two sentences, each whole: the second only when the slug is off.
            message += " " + _('"%(slug)s" is not among them: activate it in AfterShip or fix '
                               "the slug.", slug=slug)
        return message

    # -- calls in --------------------------------------------------------------
    def verify_webhook(self, headers, body: bytes) -> bool:
        """Base64 HMAC-SHA256 of the raw body with the webhook secret, compared in constant time."""
        secret = self.config.webhook_secret
        given = _header(headers, SIGNATURE_HEADER)
        if not secret or not given:
            return False
        expected = base64.b64encode(
            hmac.new(secret.encode(), _bytes(body), hashlib.sha256).digest())
        return hmac.compare_digest(expected, given.strip().encode("utf-8", "replace"))

    def parse_webhook(self, headers, body: bytes) -> Webhook:
        """The event_id as delivery id and the tracking's checkpoints (or its tag) as events."""
        try:
            payload = json.loads(_bytes(body))
        except ValueError as exc:
            raise CarrierRefused("AfterShip webhook: the body is not JSON.") from exc
        tracking = payload.get("msg") if isinstance(payload, dict) else None
        if not isinstance(tracking, dict):
            raise CarrierRefused("AfterShip webhook: no tracking object in msg.")
        number = tracking.get("tracking_number")
        if not isinstance(number, str) or not number.strip():
            raise CarrierRefused("AfterShip webhook: the tracking has no tracking_number.")
        event_id = payload.get("event_id")
        # event_id is unique per event and repeated on retries; the body hash only
        # stands in when it is missing (same bytes, same delivery).
        delivery_id = (str(event_id).strip() if event_id else ""
                       ) or hashlib.sha256(_bytes(body)).hexdigest()
        events = _checkpoint_events(tracking, number)
        code = tracking.get("subtag") or tracking.get("tag")
        if not events and isinstance(code, str) and code:
            # No checkpoints (Pending, Expired): the tag change is the news.
            when = _from_unix(payload.get("ts")) or _naive_utc(tracking.get("updated_at"))
            if when is None:
                raise CarrierRefused("AfterShip webhook: a tag change without any time.")
            events = [TrackingEvent(tracking_number=number, occurred_at=when, code=code,
                                    text=str(tracking.get("subtag_message") or ""))]
        return Webhook(delivery_id=delivery_id[:128], events=events)

    # -- meaning ---------------------------------------------------------------
    def map_status(self, code: str, text: str = "") -> str | None:
        """Manager's code/text entry, our subtag rule, manager's tag entry, our tag rule."""
        chosen = super().map_status(code, text)
        if chosen is not None:
            return chosen
        code = (code or "").strip()
        if code in SUBTAG_STATUS:
            return SUBTAG_STATUS[code]
        tag = code.split("_", 1)[0]
        if tag != code:
            # A manager's "Exception" entry covers the Exception_NNN we have no rule for.
            chosen = super().map_status(tag)
            if chosen is not None:
                return chosen
        return TAG_STATUS.get(tag)

    # -- HTTP ------------------------------------------------------------------
    def _slug(self) -> str:
        """The configured courier slug, or "" to let AfterShip detect it."""
        return str((self.config.settings or {}).get("slug") or "").strip()

    def _send(self, method: str, path: str, *, params=None, body=None,
              headers=None) -> requests.Response:
        """One authenticated call; network failures become transient CarrierErrors."""
        base = (self.config.base_url or DEFAULT_BASE_URL).rstrip("/")
        sent = {"as-api-key": self.config.api_key or "", "Accept": "application/json"}
        sent.update(headers or {})
        try:
            return self.http.request(method, base + path, params=params, json=body,
                                     headers=sent, timeout=self.config.timeout)
        except requests.Timeout as exc:
            raise CarrierError(f"{self._who()} did not answer within "
                               f"{self.config.timeout:g} s.") from exc
        except requests.ConnectionError as exc:
            raise CarrierError(f"Could not reach {self._who()}: {exc.__class__.__name__}.") from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            # A bad base URL is a settings mistake: retrying will not fix it.
            raise CarrierError(f"{self._who()}: bad base URL ({exc}).", transient=False) from exc
        except requests.RequestException as exc:
            raise CarrierError(f"{self._who()}: the answer broke off ({exc}).") from exc

    def _answer(self, response: requests.Response) -> dict:
        """The decoded envelope of a 2xx answer; 429/5xx transient, other 4xx refused."""
        payload = _json(response)
        meta = payload.get("meta") if isinstance(payload, dict) else None
        message = str(meta.get("message") or "") if isinstance(meta, dict) else ""
        status = response.status_code
        if status == 429 or status >= 500:
            raise CarrierError(f"{self._who()} is busy or failing (HTTP {status})"
                               + (f": {message}" if message else "."))
        if status >= 400:
            raise CarrierRefused(f"{self._who()} refused: {message or f'HTTP {status}'}")
        if not isinstance(payload, dict) or not 200 <= status < 300:
            raise self._malformed(f"HTTP {status}")
        return payload

    def _list(self, numbers: list[str]) -> list[dict]:
        """Every tracking GET /trackings lists for these numbers, following the cursor."""
        params = {"tracking_numbers": ",".join(numbers), "limit": self.batch_size}
        if self._slug():
            params["slug"] = self._slug()
        found: list[dict] = []
        seen: set[str] = set()
        for _page in range(MAX_PAGES):
            data = self._answer(self._send("GET", "/trackings", params=params)).get("data")
            if not isinstance(data, dict) or not isinstance(data.get("trackings"), list):
                raise self._malformed("a tracking list without trackings")
            found.extend(t for t in data["trackings"] if isinstance(t, dict))
            page = data.get("pagination") if isinstance(data.get("pagination"), dict) else {}
            cursor = page.get("next_cursor")
            if not page.get("has_next_page") or not cursor or cursor in seen:
                break
            seen.add(cursor)
            params = {**params, "cursor": cursor}
        return found

    def _existing(self, number: str) -> Registration:
        """The tracking AfterShip says already exists, read back by its number."""
        for tracking in self._list([number]):
            if _norm(tracking.get("tracking_number")) == _norm(number):
                return Registration(tracking_number=str(tracking["tracking_number"]))
        # Said "exists" yet lists nothing: likely its index lagging; try again later.
        raise CarrierError(f"{self._who()} says {number} already exists but does not list it.")

    def _who(self) -> str:
        """The carrier's name for messages, with AfterShip when the name lacks it."""
        name = self.config.name or "AfterShip"
        return name if "aftership" in name.lower() else f"{name} (AfterShip)"

    def _malformed(self, what: str) -> CarrierError:
        """A transient error for an answer we cannot read (a proxy page, a cut body)."""
        return CarrierError(f"{self._who()} answered malformed JSON ({what}).")


# -- helpers ---------------------------------------------------------------------
def _checkpoint_events(tracking: dict, number: str) -> list[TrackingEvent]:
    """One TrackingEvent per checkpoint, in AfterShip's order, repeats kept."""
    events = []
    for point in tracking.get("checkpoints") or []:
        if not isinstance(point, dict):
            continue
        code = point.get("subtag") or point.get("tag")
        when = _naive_utc(point.get("checkpoint_time")) or _naive_utc(point.get("created_at"))
        if not isinstance(code, str) or not code or when is None:
            log.warning("AfterShip checkpoint of %s without status or time skipped", number)
            continue
        place = point.get("location") or ", ".join(
            str(point[k]) for k in ("city", "state", "country_region_name") if point.get(k))
        event_id = point.get("id")  # 2025-01 checkpoints carry none; later ones may
        events.append(TrackingEvent(
            tracking_number=number, occurred_at=when, code=code,
            text=str(point.get("message") or point.get("subtag_message") or ""),
            location=str(place or ""), event_id=str(event_id) if event_id else None))
    return events


def _naive_utc(value) -> datetime | None:
    """An ISO 8601 time as naive UTC; one without an offset is kept as written."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _from_unix(value) -> datetime | None:
    """Unix seconds (the webhook's ts) as naive UTC."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC).replace(tzinfo=None)
    except (OverflowError, OSError, ValueError):
        return None


def _json(response: requests.Response):
    """The decoded body, or None when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return None


def _meta_code(response: requests.Response) -> int | None:
    """AfterShip's meta.code of a 4xx answer (4003 = already exists), else None."""
    if not 400 <= response.status_code < 500:
        return None
    payload = _json(response)
    meta = payload.get("meta") if isinstance(payload, dict) else None
    return meta.get("code") if isinstance(meta, dict) else None


def _norm(number) -> str:
    """A tracking number compared without case or spaces (AfterShip may normalise it)."""
    return "".join(str(number or "").split()).upper()


def _header(headers, name: str) -> str | None:
    """A header by name, case-insensitively, from a dict or any headers mapping."""
    value = headers.get(name) if headers is not None else None
    if value is None and headers is not None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def _bytes(body) -> bytes:
    """The raw body as bytes (a str body is encoded as UTF-8)."""
    return body.encode() if isinstance(body, str) else bytes(body)
