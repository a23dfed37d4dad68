"""What the HTTP supplier adapters share: one call with its failures sorted, and readers.

Failures are sorted the same way for every supplier: no answer (timeout, refused
connection), 408, 429 and 5xx are transient (the job tries again later with the same
idempotency key); any other 4xx is the supplier saying no, kept with its status, its
decoded answer and its own words, so that a submit can tell an order the supplier
refused (REJECTED) from a key or a path it refused (FAILED until someone fixes it);
a 2xx whose body is not JSON is transient. Messages never carry the API key, nor
a URL's query string or user part.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

import requests

from workers.carriers.jsonpath import MISSING, text_at

from .base import (
    FAILED,
    REJECTED,
    PurchaseOrder,
    SupplierAdapter,
    SupplierConfig,
    SupplierError,
    SupplierReply,
)

# Refusals that say nothing about the order itself: our key, or the address we called.
SETUP_REFUSALS = (401, 403, 404, 405)
TRANSIENT_STATUSES = (408, 425, 429)
# Where suppliers usually put the reason of an error answer, most specific first.
WORDS_PATHS = ("error.message", "message", "error", "detail", "errors.0.message", "errors.0")
HTML = re.compile(rb"^\s*<", re.ASCII)
MAX_WORDS = 300


class HttpFailure(SupplierError):
    """A call that did not succeed: no answer (status None) or the supplier's error status."""

    def __init__(self, message: str, *, status: int | None = None, answer=MISSING,
                 words: str = "", transient: bool = True):
        super().__init__(message, transient=transient)
        self.status = status
        self.answer = answer  # the decoded JSON of an error answer, or MISSING
        self.words = words  # the supplier's own reason ("" when none could be read)

    @property
    def whole_call(self) -> bool:
        """True when every other order would fail the same way (no answer, key refused...)."""
        return self.status is None or self.status in (401, 403, 429)

    @property
    def refuses_order(self) -> bool:
        """True when the supplier read this order and said why it will not take it."""
        return (self.status is not None and 400 <= self.status < 500 and not self.transient
                and self.status not in SETUP_REFUSALS and bool(self.words))


def shown(url: str) -> str:
    """A URL as it may appear in a message: no user part, no query string, no fragment."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an unreadable address)"
    if not parts.scheme or not host:
        return repr(url.split("?", 1)[0][:100])
    return f"{parts.scheme}://{host}{port}{parts.path}"


def words_of(response: requests.Response, answer=MISSING) -> str:
    """The supplier's own words in an error answer: its JSON message, or a short plain text."""
    if answer is not MISSING:
        for path in WORDS_PATHS:
            found = text_at(answer, path)
            if found:
                return found[:MAX_WORDS]
        return ""
    body = response.content or b""
    if not body.strip() or HTML.match(body) or len(body) > 4 * MAX_WORDS:
        return ""  # an HTML error page or a long dump is not the supplier speaking to us
    return body.decode("utf-8", "replace").strip()[:MAX_WORDS]


def decoded(response: requests.Response):
    """The response's JSON document, or MISSING when its body is not JSON."""
    try:
        return response.json()
    except ValueError:
        return MISSING


def failed(supplier_order_id: int, message: str, **fields) -> SupplierReply:
    """A FAILED reply: we have no answer about this order yet (it is tried again)."""
    return SupplierReply(supplier_order_id=supplier_order_id, outcome=FAILED, message=message,
                         **fields)


def refusal_or_failure(supplier_order_id: int, exc: SupplierError) -> SupplierReply:
    """An order's reply from a failed submit: REJECTED with the supplier's words, else FAILED."""
    if isinstance(exc, HttpFailure) and exc.refuses_order:
        return SupplierReply(supplier_order_id=supplier_order_id, outcome=REJECTED,
                             message=exc.words)
    return failed(supplier_order_id, exc.message)


class HttpSupplier(SupplierAdapter):
    """A supplier reached over HTTP with `requests`, within the configured timeout."""

    def __init__(self, config: SupplierConfig, session: requests.Session | None = None):
        super().__init__(config)
        self.http = session or requests.Session()

    def url(self, path: str) -> str:
        """`path` under config.base_url, or `path` itself when it is an absolute URL."""
        if path.startswith(("http://", "https://")):
            return path
        if not self.config.base_url:
            raise HttpFailure(f"{self.config.name} has no API address set.", transient=False)
        return self.config.base_url.rstrip("/") + "/" + path.lstrip("/")

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """JSON accepted, the API key as a bearer token, and `extra` (Idempotency-Key...)."""
        sent = {"Accept": "application/json"}
        if self.config.api_key:
            sent["Authorization"] = f"Bearer {self.config.api_key}"
        return {**sent, **(extra or {})}

    def call(self, method: str, url: str, *, accept: tuple[int, ...] = (),
             **options) -> requests.Response:
        """One request; a 2xx response (or one of `accept`), else HttpFailure, sorted."""
        name = self.config.name
        try:
            response = self.http.request(method, url, timeout=self.config.timeout, **options)
        except requests.Timeout as exc:
            raise HttpFailure(f"{name} did not answer within {self.config.timeout:g} s.") from exc
        except requests.ConnectionError as exc:
            raise HttpFailure(f"Could not reach {name} at {shown(url)} "
                              f"({exc.__class__.__name__}).") from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema, requests.exceptions.InvalidHeader) as exc:
            # A wrong address or key in the settings: retrying will not fix it.
            raise HttpFailure(f"{name}: bad address {shown(url)} or API key in its settings "
                              f"({exc.__class__.__name__}).", transient=False) from exc
        except requests.RequestException as exc:
            raise HttpFailure(f"{name}: the answer broke off ({exc.__class__.__name__}).") from exc
        status = response.status_code
        if status in accept or 200 <= status < 300:
            return response
        answer = decoded(response)
        words = words_of(response, answer)
        if self.config.api_key and self.config.api_key in words:
            words = words.replace(self.config.api_key, "****")  # an API that echoes our key
        said = f": {words}" if words else "."
        if status == 429:
            wait = response.headers.get("Retry-After", "").strip()
            raise HttpFailure(f"{name} is rate limiting us (HTTP 429)"
                              + (f"; it asks to retry after {wait[:20]} s." if wait else "."),
                              status=status, answer=answer, words=words)
        if status >= 500 or status in TRANSIENT_STATUSES:
            raise HttpFailure(f"{name} answered HTTP {status}; will retry{said}",
                              status=status, answer=answer, words=words)
        if status in (401, 403):
            raise HttpFailure(f"{name} refused our API key (HTTP {status}){said}",
                              status=status, answer=answer, words=words, transient=False)
        if status in (404, 405):
            raise HttpFailure(f"{name} has nothing at {method} {shown(url)} (HTTP {status}){said}",
                              status=status, answer=answer, words=words, transient=False)
        if status >= 400:
            raise HttpFailure(f"{name} refused (HTTP {status}){said}",
                              status=status, answer=answer, words=words, transient=False)
        raise HttpFailure(f"{name} answered HTTP {status}.", status=status, answer=answer)

    def json_of(self, response: requests.Response, kinds: tuple[type, ...] = (dict,)):
        """The decoded body, which must be one of `kinds`; else a transient HttpFailure."""
        data = decoded(response)
        if data is MISSING or not isinstance(data, kinds):
            raise HttpFailure(f"{self.config.name} sent malformed JSON "
                              f"(HTTP {response.status_code}).", status=response.status_code)
        return data

    def submit_each(self, orders: Iterable[PurchaseOrder],
                    send: Callable[[PurchaseOrder], SupplierReply]) -> list[SupplierReply]:
        """`send` each order in turn; one order's trouble is its reply, never an exception.

        After a failure that every order would meet (no answer, key refused, rate limited,
        a bad address) the rest are not sent: a supplier that is down is not waited on
        once per order. A 5xx or a malformed answer only fails its own order.
        """
        replies: list[SupplierReply] = []
        stop: SupplierError | None = None
        for order in orders:
            if stop is not None:
                replies.append(failed(order.supplier_order_id, f"Not sent: {stop.message}"))
                continue
            try:
                replies.append(send(order))
            except SupplierError as exc:
                replies.append(refusal_or_failure(order.supplier_order_id, exc))
                if not isinstance(exc, HttpFailure) or exc.whole_call:
                    stop = exc
        return replies
