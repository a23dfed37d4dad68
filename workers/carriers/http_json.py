"""A generic local courier with a plain JSON REST API (most Moroccan COD last-mile couriers).

Nothing is hard-coded: the manager describes the courier's API in `config.settings`.
URL templates take `{base_url}` (config.base_url, without a trailing slash) and, where
a parcel is concerned, `{tracking_number}` (URL-encoded). Paths are dotted paths into
the JSON answer ("data.tracking_number", "history.0.status"; see jsonpath.py).

Registering
  create_url           POST template, e.g. "{base_url}/parcels". The body has fixed keys:
                       reference, customer_name, phone, address, city, cod_amount (decimal
                       units as a string with 2 decimals, "249.00"), currency, items
                       ([{sku, name, quantity}]). Header Idempotency-Key = the parcel's key.
  tracking_path        where the answer holds the new tracking number (required).
  label_path           where it holds the label URL (optional).

Tracking (one GET per parcel: such couriers rarely have a batch endpoint)
  track_url            GET template, e.g. "{base_url}/parcels/{tracking_number}".
  events_path          where the list of events is; empty = the answer is one current
                       status, read at status_path and time_path.
  event_status_path    in each event: the raw status (mapped by the manager's table).
  event_text_path      in each event: a human text (optional).
  event_time_path      in each event: the time (ISO 8601, or unix seconds).
  event_location_path  in each event: where (optional).
  event_id_path        in each event: the courier's own event id (optional).
  status_path          the current status, when events_path is empty.
  time_path            its time, when events_path is empty.
  timezone             IANA zone of times written without an offset (default "UTC";
                       e.g. "Africa/Casablanca").
  time_format          strptime pattern for times that are not ISO 8601 (optional,
                       e.g. "%d/%m/%Y %H:%M").

Auth
  auth_header          header carrying config.api_key (default "Authorization").
  auth_scheme          word before the key (default "Bearer" when the key is absent;
                       "" or "-" = the raw key).

Webhooks
  signature_header     header with the hex HMAC-SHA256 of the raw body, keyed with
                       config.webhook_secret (default "X-Signature"; "sha256=" prefix ok).
  webhook_tracking_path  where the body holds the tracking number (required for webhooks);
                       its events are read with the same event paths as tracking.
  delivery_id_header   header with the courier's delivery id (optional; else the
                       SHA-256 of the body, so a redelivery of the same bytes is one).

Other
  cancel_url           template to cancel a parcel (optional; without it cancel is not
                       supported).
  cancel_method        HTTP method for cancel_url (default "POST").
  test_url             a harmless authenticated GET for "Test connection" (optional).
  error_message_path   where a 4xx answer holds the courier's message (optional; else
                       "message", "error", "detail" are tried).

Statuses mean only what the manager's table (config.status_map) says: unknown -> None.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import requests
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .base import (
    CarrierAdapter,
    CarrierError,
    CarrierRefused,
    NotSupported,
    Registration,
    TrackingEvent,
    Webhook,
)
from .jsonpath import MISSING, lookup, text_at

log = logging.getLogger(__name__)

# Examples and names the courier's API uses are code: passed as values, never translated.
_PATH_EXAMPLE = "data.tracking_number"
_BODY_KEYS = "reference, customer_name, phone, address, city, cod_amount, currency, items"


class HttpRefused(CarrierRefused):
    """A 4xx answer, with its status (401/403 stop a tracking batch, 404 skips one parcel)."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


class HttpJsonCarrier(CarrierAdapter):
    """A courier whose REST API the manager describes in settings."""

    kind = "http_json"
    uses_status_table = True
    settings_fields = (
        ("create_url", _l("Create parcel URL"),
         _l('POST endpoint, e.g. "%(example)s". The JSON body has %(keys)s.',
            example="{base_url}/parcels", keys=_BODY_KEYS)),
        ("tracking_path", _l("Tracking number path"),
         _l('Dotted path into the JSON answer, e.g. "%(example)s".', example=_PATH_EXAMPLE)),
        ("label_path", _l("Label URL path"),
         _l('Optional. Dotted path into the JSON answer, e.g. "%(example)s".',
            example=_PATH_EXAMPLE)),
        ("track_url", _l("Track parcel URL"),
         _l('GET endpoint, e.g. "%(example)s".',
            example="{base_url}/parcels/{tracking_number}")),
        ("events_path", _l("Events list path"),
         _l("Where the list of events is. Leave empty when the courier only answers the "
            "current status (then fill Status path and Time path).")),
        ("event_status_path", _l("Event status path"),
         _l('Inside one event, e.g. "%(example)s".', example="status")),
        ("event_text_path", _l("Event text path"),
         _l('Optional. Inside one event, e.g. "%(example)s".', example="comment")),
        ("event_time_path", _l("Event time path"),
         _l('Inside one event, e.g. "%(example)s".', example="date")),
        ("event_location_path", _l("Event location path"), _l("Optional. Inside one event.")),
        ("event_id_path", _l("Event id path"),
         _l("Optional. Inside one event: the courier's own event id.")),
        ("status_path", _l("Status path"),
         _l('Only when Events list path is empty. Dotted path into the JSON answer, '
            'e.g. "%(example)s".', example=_PATH_EXAMPLE)),
        ("time_path", _l("Time path"),
         _l('Only when Events list path is empty. Dotted path into the JSON answer, '
            'e.g. "%(example)s".', example=_PATH_EXAMPLE)),
        ("timezone", _l("Time zone"),
         _l('Zone of times sent without an offset, e.g. "%(example)s". Default %(default)s.',
            example="Africa/Casablanca", default="UTC")),
        ("time_format", _l("Time format"),
         _l('Optional, when times are not %(iso)s: a strptime pattern, e.g. "%(example)s".',
            iso="ISO 8601", example="%d/%m/%Y %H:%M")),
        ("auth_header", _l("Auth header"),
         _l('Header carrying the API key. Default "%(default)s".', default="Authorization")),
        ("auth_scheme", _l("Auth scheme"),
         _l('Word before the key, default "%(default)s". Empty (or "%(raw)s") sends the raw '
            "key.", default="Bearer", raw="-")),
        ("signature_header", _l("Webhook signature header"),
         _l('Header with the hex %(algorithm)s of the body. Default "%(default)s".',
            algorithm="HMAC-SHA256", default="X-Signature")),
        ("webhook_tracking_path", _l("Webhook tracking number path"),
         _l("Where a webhook body holds the tracking number. Dotted path into the JSON "
            'answer, e.g. "%(example)s".', example=_PATH_EXAMPLE)),
        ("delivery_id_header", _l("Webhook delivery id header"),
         _l("Optional. Header with the courier's id for one delivery.")),
        ("cancel_url", _l("Cancel URL"),
         _l('Optional, e.g. "%(example)s".',
            example="{base_url}/parcels/{tracking_number}/cancel")),
        ("cancel_method", _l("Cancel method"),
         _l('HTTP method for the cancel URL. Default "%(default)s".', default="POST")),
        ("test_url", _l("Test URL"),
         _l('Optional harmless GET, e.g. "%(example)s".', example="{base_url}/me")),
        ("error_message_path", _l("Error message path"),
         _l('Optional. Where an error answer holds its message, e.g. "%(example)s".',
            example="error.message")),
    )

    # -- calls out -------------------------------------------------------------
    def register(self, parcel) -> Registration:
        """POST the parcel with its Idempotency-Key; the answer's tracking number (and label)."""
        url = self._url("create_url")
        tracking_path = self._setting("tracking_path")
        if not url or not tracking_path:
            raise NotSupported(f"{self.config.name}: set Create parcel URL and Tracking number "
                               "path to register parcels through its API.")
        body = {**parcel.common_body(), "cod_amount": _decimal_units(parcel.cod_amount_cents)}
        answer = self._call("POST", url, body=body,
                            headers={"Idempotency-Key": parcel.idempotency_key})
        number = text_at(answer, tracking_path)
        if not number:
            # Not transient: the same answer will come back; the manager must fix the
            # path. The Idempotency-Key keeps the next try from making a second parcel.
            raise CarrierError(f"{self.config.name} answered without a tracking number at "
                               f'"{tracking_path}".', transient=False)
        return Registration(tracking_number=number,
                            label_url=text_at(answer, self._setting("label_path")) or None)

    def track(self, tracking_numbers: list[str]) -> list[TrackingEvent]:
        """GET each parcel in turn; stops at the first transient error and raises it.

        A parcel the courier refuses (404: unknown yet) is skipped so one bad number
        does not starve the rest; a refused key (401/403) or a batch where every parcel
        was refused raises, so a broken setup is seen.
        """
        if not self._url("track_url"):
            raise NotSupported(f"{self.config.name}: set Track parcel URL to track parcels.")
        events: list[TrackingEvent] = []
        first_refusal: CarrierRefused | None = None
        answered = 0
        for number in tracking_numbers:
            try:
                answer = self._call("GET", self._url("track_url", number))
                events.extend(self._events(answer, number))
            except CarrierRefused as exc:
                if isinstance(exc, HttpRefused) and exc.status in (401, 403):
                    raise
                log.warning("%s refused tracking %s: %s", self.config.name, number, exc)
                first_refusal = first_refusal or exc
                continue
            answered += 1
        if first_refusal is not None and not answered:
            raise first_refusal
        return events

    def cancel(self, tracking_number: str) -> None:
        """Call cancel_url with cancel_method; NotSupported when no URL is set."""
        url = self._url("cancel_url", tracking_number)
        if not url:
            raise NotSupported(f"{self.config.name} has no cancel URL configured.")
        method = (self._setting("cancel_method") or "POST").upper()
        self._call(method, url, need_json=False)

    def test_connection(self) -> str:
        """GET test_url with the key; NotSupported when none is set."""
        url = self._url("test_url")
        if not url:
            raise NotSupported(_("%(carrier)s: set Test URL to test the connection.",
                                 carrier=self.config.name))
        self._call("GET", url, need_json=False)
        return _("%(carrier)s answered the test URL and accepted the API key.",
                 carrier=self.config.name)

    # -- calls in --------------------------------------------------------------
    def verify_webhook(self, headers, body: bytes) -> bool:
        """Hex HMAC-SHA256 of the raw body with the webhook secret, compared in constant time."""
        secret = self.config.webhook_secret
        given = _header(headers, self._setting("signature_header") or "X-Signature")
        if not secret or not given:
            return False
        given = given.strip()
        if given.lower().startswith("sha256="):
            given = given[len("sha256="):]
        expected = hmac.new(secret.encode(), _bytes(body), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected.encode(), given.lower().encode("utf-8", "replace"))

    def parse_webhook(self, headers, body: bytes) -> Webhook:
        """The delivery id (header or body hash) and the events a webhook body carries."""
        try:
            payload = json.loads(_bytes(body))
        except ValueError as exc:
            raise CarrierRefused(f"{self.config.name} webhook: the body is not JSON.") from exc
        path = self._setting("webhook_tracking_path")
        if not path:
            raise CarrierRefused(f"{self.config.name}: set Webhook tracking number path "
                                 "to read its webhooks.")
        number = text_at(payload, path)
        if not number:
            raise CarrierRefused(f'{self.config.name} webhook: no tracking number at "{path}".')
        name = self._setting("delivery_id_header")
        delivery_id = ((_header(headers, name) or "").strip() if name else ""
                       ) or hashlib.sha256(_bytes(body)).hexdigest()
        return Webhook(delivery_id=delivery_id[:128], events=self._events(payload, number))

    # map_status: the base class reads config.status_map only, which is all this kind has.

    # -- reading answers ---------------------------------------------------------
    def _events(self, answer, number: str) -> list[TrackingEvent]:
        """The events in a tracking answer or webhook body, as the settings describe them."""
        events_path = self._setting("events_path")
        if not events_path:
            # Only the current status: its time keeps the dedupe key stable across syncs.
            status = text_at(answer, self._setting("status_path"))
            if not status:
                raise CarrierRefused(f"{self.config.name}: no status at "
                                     f'"{self._setting("status_path")}" for {number}.')
            return [TrackingEvent(tracking_number=number, code=status,
                                  occurred_at=self._time(answer, "time_path", number))]
        items = lookup(answer, events_path, None)
        if not isinstance(items, list):
            raise CarrierRefused(f'{self.config.name}: no event list at "{events_path}" '
                                 f"for {number}.")
        events = []
        for item in items:
            status = text_at(item, self._setting("event_status_path"))
            if not status:
                log.warning("%s event of %s without status skipped", self.config.name, number)
                continue
            events.append(TrackingEvent(
                tracking_number=number, code=status,
                occurred_at=self._time(item, "event_time_path", number),
                text=text_at(item, self._setting("event_text_path")),
                location=text_at(item, self._setting("event_location_path")),
                event_id=text_at(item, self._setting("event_id_path")) or None))
        return events

    def _time(self, item, setting: str, number: str) -> datetime:
        """The time at the path named by `setting`, as naive UTC; CarrierRefused if unreadable."""
        path = self._setting(setting)
        raw = lookup(item, path, MISSING) if path else MISSING
        moment = _parse_time(raw, self._setting("time_format"))
        if moment is None:
            what = "no time" if raw is MISSING else f"unreadable time {raw!r}"
            raise CarrierRefused(f'{self.config.name}: {what} at "{path}" for {number}.')
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._zone())
        return moment.astimezone(UTC).replace(tzinfo=None)

    def _zone(self):
        """The zone of times without an offset (settings "timezone", default UTC)."""
        name = self._setting("timezone")
        if not name:
            return UTC
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise CarrierError(f"{self.config.name}: unknown time zone {name!r}.",
                               transient=False) from exc

    # -- HTTP ------------------------------------------------------------------
    def _setting(self, key: str) -> str:
        """A setting as a stripped string ("" when unset)."""
        return str((self.config.settings or {}).get(key) or "").strip()

    def _url(self, key: str, tracking_number: str | None = None) -> str:
        """The URL template in setting `key` filled in, or "" when it is not set."""
        template = self._setting(key)
        if not template:
            return ""
        # replace(), not format(): a URL may hold other braces, and a missing key
        # must not raise.
        url = template.replace("{base_url}", (self.config.base_url or "").rstrip("/"))
        if tracking_number is not None:
            url = url.replace("{tracking_number}", quote(tracking_number, safe=""))
        return url

    def _auth(self) -> dict[str, str]:
        """The auth header built from auth_header, auth_scheme and the API key."""
        if not self.config.api_key:
            return {}
        settings = self.config.settings or {}
        scheme = settings.get("auth_scheme")
        scheme = "Bearer" if scheme is None else str(scheme).strip()
        if scheme == "-":  # a form field cannot tell "empty" from "unset"; "-" says raw
            scheme = ""
        header = self._setting("auth_header") or "Authorization"
        return {header: f"{scheme} {self.config.api_key}" if scheme else self.config.api_key}

    def _call(self, method: str, url: str, *, body=None, headers=None, need_json=True):
        """One authenticated call and its decoded JSON; errors classed like AfterShip's.

        need_json=False (cancel, test): any 2xx will do, an empty 204 or a plain "OK".
        """
        sent = {"Accept": "application/json", **self._auth(), **(headers or {})}
        try:
            response = self.http.request(method, url, json=body, headers=sent,
                                         timeout=self.config.timeout)
        except requests.Timeout as exc:
            raise CarrierError(f"{self.config.name} did not answer within "
                               f"{self.config.timeout:g} s.") from exc
        except requests.ConnectionError as exc:
            raise CarrierError(f"Could not reach {self.config.name}: "
                               f"{exc.__class__.__name__}.") from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            # A bad URL template is a settings mistake: retrying will not fix it.
            raise CarrierError(f"{self.config.name}: bad URL {url!r} ({exc}).",
                               transient=False) from exc
        except requests.RequestException as exc:
            raise CarrierError(f"{self.config.name}: the answer broke off ({exc}).") from exc
        status = response.status_code
        try:
            answer = response.json()
        except ValueError:
            answer = MISSING
        if status == 429 or status >= 500:
            raise CarrierError(f"{self.config.name} is busy or failing (HTTP {status}).")
        if status >= 400:
            raise HttpRefused(f"{self.config.name} refused: "
                              f"{self._error_message(answer) or f'HTTP {status}'}", status)
        if not 200 <= status < 300:
            raise CarrierError(f"{self.config.name} answered HTTP {status}.")
        if answer is MISSING:
            if not need_json:
                return None
            raise CarrierError(f"{self.config.name} answered malformed JSON (HTTP {status}).")
        return answer

    def _error_message(self, answer) -> str:
        """The courier's own words in an error answer, where the settings or habit put them."""
        if answer is MISSING:
            return ""
        paths = [self._setting("error_message_path")] if self._setting(
            "error_message_path") else ["message", "error.message", "error", "detail"]
        for path in paths:
            text = text_at(answer, path)
            if text:
                return text
        return ""


# -- helpers ---------------------------------------------------------------------
def _decimal_units(cents: int) -> str:
    """Cents as decimal units with 2 decimals: 24900 -> "249.00"."""
    return str((Decimal(int(cents)) / 100).quantize(Decimal("0.01")))


def _parse_time(raw, time_format: str) -> datetime | None:
    """ISO 8601, unix seconds (or milliseconds), or `time_format`; None when unreadable."""
    if raw is MISSING or raw is None or isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        # Past year 33658 in seconds means it was milliseconds.
        seconds = raw / 1000 if raw > 1e12 else raw
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(raw).strip()
    if not text:
        return None
    if time_format:
        try:
            return datetime.strptime(text, time_format)
        except ValueError:
            pass
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _header(headers, name: str) -> str | None:
    """A header by name, case-insensitively, from a dict or any headers mapping."""
    if headers is None or not name:
        return None
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def _bytes(body) -> bytes:
    """The raw body as bytes (a str body is encoded as UTF-8)."""
    return body.encode() if isinstance(body, str) else bytes(body)
