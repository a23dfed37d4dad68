"""What the HTTP channel adapters share: one call with errors sorted, and small readers.

Failures are sorted the same way for every platform: no answer, 5xx and 429 are
transient (the job retries later); 4xx is a refusal; a 2xx body that is not JSON is a
transient ChannelError (a proxy page or a cut answer). Messages never carry a secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import requests

from .base import ChannelAdapter, ChannelConfig, ChannelError, ChannelRefused


class HttpChannel(ChannelAdapter):
    """A channel reached over HTTP with `requests`, within the configured timeout."""

    def __init__(self, config: ChannelConfig, session: requests.Session | None = None):
        super().__init__(config)
        self.http = session or requests.Session()

    def call(self, method: str, url: str, *, accept: tuple[int, ...] = (),
             **options) -> requests.Response:
        """One request; a 2xx response (or one of `accept`), else ChannelError / ChannelRefused."""
        name = self.config.name
        try:
            response = self.http.request(method, url, timeout=self.config.timeout, **options)
        except requests.Timeout as exc:
            raise ChannelError(f"{name} did not answer within {self.config.timeout:g} s.") from exc
        except requests.ConnectionError as exc:
            raise ChannelError(f"Could not reach {name}: {exc.__class__.__name__}.") from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:
            # A wrong shop address is a settings mistake: retrying will not fix it.
            raise ChannelError(f"{name}: bad shop address ({exc}).", transient=False) from exc
        except requests.RequestException as exc:
            raise ChannelError(f"{name}: the answer broke off ({exc.__class__.__name__}).") from exc
        status = response.status_code
        if status in accept:
            return response
        if status == 429:
            wait = response.headers.get("Retry-After")
            raise ChannelError(f"{name} is rate limiting us (HTTP 429)"
                               + (f"; it asks to retry after {wait} s." if wait else "."))
        if status >= 500:
            raise ChannelError(f"{name} answered {status}; will retry.")
        if status >= 400:
            raise ChannelRefused(f"{name} refused ({status}): {reason(response)}")
        return response

    def json_of(self, response: requests.Response, kind: type = dict):
        """The decoded body, which must be a `kind` (dict or list); else ChannelError."""
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, kind):
            raise ChannelError(f"{self.config.name} sent malformed JSON "
                               f"(HTTP {response.status_code}).")
        return data


def reason(response: requests.Response) -> str:
    """The platform's own words for a refusal, as short as they come."""
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("errors", "error", "message"):
            if data.get(key):
                return str(data[key])[:300]
    return response.reason or "no reason given"


def header(headers, name: str) -> str | None:
    """A header by name, case-insensitively, from werkzeug Headers or a plain dict."""
    if headers is None:
        return None
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name.lower()), None)
    return value


def as_bytes(body) -> bytes:
    """The raw body as bytes (a str body is taken as UTF-8)."""
    return body.encode() if isinstance(body, str) else bytes(body)


def signature_matches(given: str | None, body: bytes, secrets, *, encoding: str) -> bool:
    """True when `given` is the HMAC-SHA256 of the body with one of the secrets.

    encoding "base64" (Shopify, WooCommerce) or "hex" (the sandbox); compared in
    constant time.
    """
    if not given:
        return False
    given_bytes = given.strip().encode("utf-8", "replace")
    if encoding == "hex":
        given_bytes = given_bytes.lower()
    matched = False
    for secret in secrets:
        if not secret:
            continue
        digest = hmac.new(secret.encode(), as_bytes(body), hashlib.sha256).digest()
        expected = (base64.b64encode(digest) if encoding == "base64"
                    else digest.hex().encode())
        matched |= hmac.compare_digest(expected, given_bytes)
    return matched


def cents(value) -> int | None:
    """A money amount ("578.00", 120, "75.5") in minor units; None when it is not one."""
    if value is None or isinstance(value, bool) or value == "":
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite():
        return None
    return int((amount * 100).to_integral_value())


def quantity(value) -> int:
    """A line's quantity as a whole number; 0 (which intake refuses, saying why) otherwise."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


def naive_utc(value) -> datetime | None:
    """An ISO 8601 time as naive UTC (one without an offset is taken as UTC); else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def text(value) -> str:
    """A platform field as text: None is empty, anything else is str() and stripped."""
    return "" if value is None else str(value).strip()


def joined(*parts, sep: str = ", ") -> str:
    """The non-empty parts joined ("27 Rue Ibn Toumert", "Appartement 4")."""
    return sep.join(t for t in (text(p) for p in parts) if t)


def note_with_reference(note, reference: str, limit: int = 1000) -> str:
    """The customer's note followed by the platform's order reference, cut to fit `limit`.

    The reference comes last but is never the part cut off: it is how people find the
    order on the platform.
    """
    tail = f"({reference})" if reference else ""
    body = text(note)
    room = limit - len(tail) - (1 if body and tail else 0)
    if len(body) > room:
        body = body[:max(room - 1, 0)].rstrip() + "…"
    return joined(body, tail, sep=" ")
