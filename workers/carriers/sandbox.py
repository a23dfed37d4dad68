"""The sandbox carrier's adapter: codboard's side of the fake courier's JSON API.

It reaches the sandbox over real HTTP exactly as it would a real carrier, so the demo
and the tests exercise timeouts, errors, retries and signed webhooks for real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import quote

import requests
from flask_babel import ngettext

from .base import (
    CarrierAdapter,
    CarrierError,
    CarrierRefused,
    ParcelRequest,
    Registration,
    TrackingEvent,
    Webhook,
)

STATUSES = {
    "INFO_RECEIVED": "ignore",  # only says the label exists
    "PICKED_UP": "shipped",
    "IN_TRANSIT": "shipped",
    "OUT_FOR_DELIVERY": "shipped",
    "DELIVERY_FAILED": "package_issue",
    "REFUSED": "package_issue",
    "DELIVERED": "delivered",
    "RETURN_TO_SENDER": "in_return",
}
SIGNATURE_HEADER = "X-Sandbox-Signature"
DELIVERY_HEADER = "X-Sandbox-Delivery"


class Malformed(ValueError):
    """An answer or a webhook that does not have the sandbox's shape."""


def _header(headers, name: str) -> str | None:
    """A header from werkzeug Headers or a plain dict, whatever the case of its name."""
    value = headers.get(name)
    if value is None and isinstance(headers, dict):
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def _utc(text: str) -> datetime:
    """An ISO-8601 time as naive UTC (a time without a zone is taken as UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _events(parcel) -> list[TrackingEvent]:
    """The TrackingEvents of one parcel of a track answer or a webhook; Malformed if odd."""
    try:
        tracking_number = parcel["tracking_number"]
        if not isinstance(tracking_number, str) or not isinstance(parcel["events"], list):
            raise Malformed("tracking_number and events are required")
        return [
            TrackingEvent(
                tracking_number=tracking_number,
                occurred_at=_utc(event["time"]),
                code=str(event["code"]),
                text=str(event.get("description") or ""),
                location=str(event.get("location") or ""),
                event_id=str(event["id"]),
            )
            for event in parcel["events"]
        ]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise Malformed(str(exc)) from exc


class SandboxCarrier(CarrierAdapter):
    """The built-in sandbox carrier, reached over HTTP at config.base_url."""

    kind = "sandbox"
    batch_size = 100
    # (key, label, help) of adapter-specific settings: none, base_url and api_key suffice.
    settings_fields = ()

    # -- plumbing ----------------------------------------------------------------------
    def _call(self, method: str, path: str, *, body: dict | None = None,
              headers: dict | None = None) -> dict:
        """One API call; the JSON object answered, or CarrierError / CarrierRefused."""
        name = self.config.name
        if not self.config.base_url:
            raise CarrierRefused(f"{name} has no API address set.")
        url = self.config.base_url.rstrip("/") + path
        sent = dict(headers or {})
        if self.config.api_key:
            sent["Authorization"] = f"Bearer {self.config.api_key}"
        try:
            response = self.http.request(method, url, json=body, headers=sent,
                                         timeout=self.config.timeout)
        except requests.Timeout as exc:
            raise CarrierError(f"{name} did not answer within {self.config.timeout:g} s.") from exc
        except requests.ConnectionError as exc:
            raise CarrierError(f"Could not reach {name} at {self.config.base_url}.") from exc
        except requests.RequestException as exc:
            raise CarrierError(f"Calling {name} failed: {exc}") from exc
        if response.status_code >= 500:
            raise CarrierError(f"{name} answered {response.status_code}; will retry.")
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            raise CarrierRefused(f"{name} refused ({response.status_code}): "
                                 f"{message or response.reason or 'no reason given'}")
        if not isinstance(data, dict):
            raise CarrierError(f"{name} sent malformed JSON ({response.status_code}).")
        return data

    def _malformed(self, what: str) -> CarrierError:
        """A transient error for an answer that is JSON but not of the expected shape."""
        return CarrierError(f"{self.config.name} sent malformed JSON: {what}.")

    # -- calls out ---------------------------------------------------------------------
    def register(self, parcel: ParcelRequest) -> Registration:
        """Create the parcel (a repeat with the same idempotency key returns the same one)."""
        body = {**parcel.common_body(), "cod_amount_cents": parcel.cod_amount_cents}
        if parcel.callback_url:
            body["callback_url"] = parcel.callback_url
        data = self._call("POST", "/parcels", body=body,
                          headers={"Idempotency-Key": parcel.idempotency_key})
        tracking_number = data.get("tracking_number")
        if not isinstance(tracking_number, str) or not tracking_number:
            raise self._malformed("no tracking_number in the registration")
        return Registration(tracking_number=tracking_number, label_url=data.get("label_url"))

    def track(self, tracking_numbers: list[str]) -> list[TrackingEvent]:
        """Every event the sandbox shows for these parcels, batch_size numbers per call."""
        events: list[TrackingEvent] = []
        for start in range(0, len(tracking_numbers), self.batch_size):
            batch = tracking_numbers[start:start + self.batch_size]
            data = self._call("POST", "/track", body={"tracking_numbers": batch})
            parcels = data.get("parcels")
            if not isinstance(parcels, list):
                raise self._malformed("no parcels list in the track answer")
            try:
                for parcel in parcels:
                    events.extend(_events(parcel))
            except Malformed as exc:
                raise self._malformed(str(exc)) from exc
        return events

    def hand_over(self, tracking_numbers: list[str]) -> None:
        """Tell the sandbox these parcels are packed: their journeys start now."""
        refused = []
        for start in range(0, len(tracking_numbers), self.batch_size):
            batch = tracking_numbers[start:start + self.batch_size]
            data = self._call("POST", "/pickups", body={"tracking_numbers": batch})
            refused += [*data.get("unknown", []), *data.get("canceled", [])]
        if refused:
            # The others were taken over; a retry repeats nothing for them.
            raise CarrierRefused(f"{self.config.name} cannot pick up {', '.join(refused)}: "
                                 "unknown or canceled.")

    def cancel(self, tracking_number: str) -> None:
        """Cancel a parcel that was not picked up yet (CarrierRefused once it has left)."""
        self._call("POST", f"/parcels/{quote(tracking_number, safe='')}/cancel")

    def test_connection(self) -> str:
        """Read the account: its masked key and how many parcels it holds."""
        data = self._call("GET", "/account")
        if "account" not in data:
            raise self._malformed("no account in the answer")
        count = data.get("parcels", 0)
        count = count if isinstance(count, int) else 0  # %(num)d below needs a number
        return ngettext("Connected to %(carrier)s as account %(account)s (%(num)d parcel).",
                        "Connected to %(carrier)s as account %(account)s (%(num)d parcels).",
                        count, carrier=self.config.name, account=data["account"])

    # -- calls in ----------------------------------------------------------------------
    def verify_webhook(self, headers, body: bytes) -> bool:
        """True when X-Sandbox-Signature is the HMAC-SHA256 of the body with our key."""
        secret = self.config.webhook_secret or self.config.api_key
        given = _header(headers, SIGNATURE_HEADER)
        if not secret or not given:
            return False
        expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), given.strip().lower().encode())

    def parse_webhook(self, headers, body: bytes) -> Webhook:
        """The delivery id and events of a sandbox webhook; CarrierRefused if malformed."""
        delivery_id = _header(headers, DELIVERY_HEADER)
        if not delivery_id:
            raise CarrierRefused(f"{self.config.name} webhook without {DELIVERY_HEADER}.")
        try:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise Malformed("not a JSON object")
            events = _events(data)
        except (ValueError, Malformed) as exc:
            raise CarrierRefused(f"{self.config.name} sent a malformed webhook: {exc}") from exc
        return Webhook(delivery_id=delivery_id, events=events)

    # -- meaning -----------------------------------------------------------------------
    def map_status(self, code: str, text: str = "") -> str | None:
        """The manager's mapping when there is one, else the sandbox's own codes."""
        mapped = super().map_status(code, text)
        if mapped is not None:
            return mapped
        return STATUSES.get((code or "").upper())
