"""The generic http_json supplier against a local peer playing a wholesaler's JSON API.

"Souk Grossiste" is invented: orders under data.order, statuses in French capitals,
a tracking block, and its own names for our fields.
"""

import copy

import pytest
import requests

from tests.blueprints.test_sandbox_carrier import closed_port_url
from tests.workers.carriers.peer import Peer, Reply
from workers.suppliers import (
    ACCEPTED,
    CANCELED,
    FAILED,
    REJECTED,
    SHIPPED,
    SUBMITTED,
    CannotCancel,
    SupplierConfig,
    SupplierError,
    adapter_for,
)
from workers.suppliers.http_json import DEFAULT_SETTINGS, HttpJsonSupplier, check_settings

from .orders import purchase_order, query

SETTINGS = {
    "submit_path": "/api/v2/commandes",
    "status_path": "/api/v2/commandes/{ref}",
    "cancel_path": "/api/v2/commandes/{ref}/annulation",
    "fields": {
        "reference": "ref_client",
        "idempotency_key": "meta.cle",
        "customer_name": "destinataire.nom",
        "phone": "destinataire.tel",
        "address": "destinataire.adresse",
        "city": "destinataire.ville",
        "region": "destinataire.region",
        "shipping_method": "livraison",
        "currency": "devise",
        "lines": "articles",
        "line.supplier_sku": "code",
        "line.quantity": "qte",
        "line.unit_cost": "prix.unitaire",
    },
    "reply": {"supplier_ref": "data.order.id", "status": "data.order.etat",
              "message": "data.message", "tracking_number": "data.order.suivi.numero",
              "carrier": "data.order.suivi.transporteur"},
    "statuses": {"EN_ATTENTE": "submitted", "VALIDEE": "accepted", "EXPEDIEE": "shipped",
                 "REFUSEE": "rejected", "ANNULEE": "canceled"},
}


def souk(order_id="SG-7781", etat="VALIDEE", message=None, **suivi) -> dict:
    """Souk Grossiste's answer about one order."""
    order = {"id": order_id, "etat": etat}
    if suivi:
        order["suivi"] = suivi
    return {"data": {"order": order, "message": message}}


@pytest.fixture
def peer():
    """A local Souk Grossiste on 127.0.0.1."""
    with Peer.running() as running:
        yield running


@pytest.fixture
def http():
    """One HTTP session per test, closed so no socket outlives it."""
    with requests.Session() as session:
        yield session


def make(peer=None, http=None, *, settings=None, **changes) -> HttpJsonSupplier:
    """A Souk Grossiste adapter pointed at the peer (at nothing, for offline checks)."""
    values = dict(id=4, name="Souk Grossiste", kind="http_json",
                  base_url=peer.url + "/" if peer else None, api_key="sg_live_9f3a",
                  settings=SETTINGS if settings is None else settings, timeout=2.0)
    values.update(changes)
    return adapter_for(SupplierConfig(**values), http)


SUBMIT = "/api/v2/commandes"


# --- submit -----------------------------------------------------------------------------


def test_submit_sends_their_shape_with_the_key_and_reads_their_answer(peer, http):
    """Our fields go where the settings say; the answer gives their id and status."""
    peer.on("POST", SUBMIT, Reply(201, json=souk()))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert (reply.supplier_order_id, reply.outcome, reply.supplier_ref) == (1, ACCEPTED, "SG-7781")
    [sent] = peer.seen("POST", SUBMIT)
    assert sent.headers["Idempotency-Key"] == "cbs-so-1-k1"
    assert sent.headers["Authorization"] == "Bearer sg_live_9f3a"
    assert sent.json() == {
        "ref_client": "#1201-1", "meta": {"cle": "cbs-so-1-k1"},
        "destinataire": {"nom": "Salma Idrissi", "tel": "+212612345678",
                         "adresse": "12 rue des Fleurs, Agdal", "ville": "Rabat",
                         "region": "Rabat-Salé-Kénitra"},
        "livraison": "Standard", "devise": "MAD",
        "articles": [{"code": "ATL-SW-X8U", "qte": 2, "prix": {"unitaire": "129.50"}},
                     {"code": "ATL-MG-PRO", "qte": 1, "prix": {"unitaire": "210.00"}}]}


def test_submit_with_the_default_settings_sends_a_usable_body(peer, http):
    """The example settings the page starts from work as they are."""
    peer.on("POST", "/orders", Reply(201, json={"id": "A-1", "status": "Confirmed"}))
    [reply] = make(peer, http, settings=DEFAULT_SETTINGS).submit([purchase_order()]).replies
    assert (reply.outcome, reply.supplier_ref) == (ACCEPTED, "A-1")
    body = peer.seen("POST", "/orders")[0].json()
    assert body["shipping_address"]["city"] == "Rabat"
    assert body["items"][0] == {"sku": "ATL-SW-X8U", "quantity": 2, "price": "129.50"}
    assert check_settings(DEFAULT_SETTINGS) == []


def test_submit_absolute_path_ignores_the_base_url(peer, http):
    """submit_path may be a whole URL (an API on another host)."""
    peer.on("POST", "/elsewhere/orders", Reply(201, json=souk()))
    adapter = make(peer, http, base_url="http://127.0.0.1:9/unused",
                   settings={**SETTINGS, "submit_path": f"{peer.url}/elsewhere/orders"})
    assert adapter.submit([purchase_order()]).replies[0].outcome == ACCEPTED


def test_submit_repeated_key_is_answered_with_the_same_order(peer, http):
    """A retry after a lost answer: the same key gets the order they made the first time."""
    made: dict[str, str] = {}

    def answer(seen):
        """Souk makes an order per new key and answers a known key with that order (200)."""
        key = seen.headers["Idempotency-Key"]
        status = 200 if key in made else 201
        made.setdefault(key, f"SG-{len(made) + 1}")
        return Reply(status, json=souk(made[key]))

    peer.on("POST", SUBMIT, answer)
    adapter = make(peer, http)
    first = adapter.submit([purchase_order()]).replies[0]
    again = adapter.submit([purchase_order()]).replies[0]
    assert first.supplier_ref == again.supplier_ref == "SG-1"
    assert len(made) == 1


def test_submit_conflict_showing_the_order_is_that_order(peer, http):
    """A 409 that shows their order is the order they already have, not a refusal."""
    peer.on("POST", SUBMIT, Reply(409, json=souk("SG-0042", etat="EXPEDIEE", numero="X")))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert (reply.outcome, reply.supplier_ref) == (SHIPPED, "SG-0042")


def test_submit_conflict_without_an_order_is_a_refusal_with_their_words(peer, http):
    """A 409 that only says why is their refusal."""
    peer.on("POST", SUBMIT, Reply(409, json={"message": "Référence client déjà utilisée"}))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert (reply.outcome, reply.message) == (REJECTED, "Référence client déjà utilisée")


@pytest.mark.parametrize("body, words", [
    ({"error": {"code": "STOCK", "message": "Rupture de stock: ATL-MG-PRO"}},
     "Rupture de stock: ATL-MG-PRO"),
    ({"message": "Ville non desservie"}, "Ville non desservie"),
    ({"errors": [{"message": "Téléphone invalide"}]}, "Téléphone invalide"),
])
def test_submit_client_error_is_rejected_with_their_message(peer, http, body, words):
    """A 422 whose body says why: REJECTED with those words; the next order still goes."""
    peer.on("POST", SUBMIT, Reply(422, json=body), Reply(201, json=souk("SG-2")))
    replies = make(peer, http).submit([purchase_order(1), purchase_order(2)]).replies
    assert [(r.outcome, r.message) for r in replies] == [(REJECTED, words), (ACCEPTED, "")]


def test_submit_client_error_without_a_reason_is_failed(peer, http):
    """A 400 HTML page says nothing about the order: FAILED, not blamed on it."""
    peer.on("POST", SUBMIT, Reply(400, body=b"<html><body>Bad Request</body></html>"))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert reply.outcome == FAILED and "HTTP 400" in reply.message


@pytest.mark.parametrize("status, words", [
    (401, "refused our API key (HTTP 401)"), (403, "refused our API key (HTTP 403)"),
    (429, "rate limiting us (HTTP 429); it asks to retry after 30 s."),
])
def test_submit_refused_key_or_rate_limit_fails_all_and_sends_one(peer, http, status, words):
    """Not the orders' fault: all FAILED, and the supplier is not called once per order."""
    peer.on("POST", SUBMIT, Reply(status, json={"message": "Clé invalide"},
                                  headers=(("Retry-After", "30"),)))
    replies = make(peer, http).submit([purchase_order(1), purchase_order(2)]).replies
    assert [r.outcome for r in replies] == [FAILED, FAILED]
    assert words in replies[0].message and replies[1].message.startswith("Not sent: ")
    assert len(peer.seen("POST", SUBMIT)) == 1
    assert "sg_live_9f3a" not in replies[0].message


def test_submit_refusal_that_echoes_our_key_never_shows_it(peer, http):
    """An API that repeats the key it refused: the message masks it."""
    peer.on("POST", SUBMIT, Reply(422, body=b"Unknown account for key sg_live_9f3a"))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert (reply.outcome, reply.message) == (REJECTED, "Unknown account for key ****")


def test_submit_unreachable_address_is_shown_without_its_secrets(http):
    """A user part or a query string in the address never reaches a message."""
    port = closed_port_url().split(":")[2].split("/")[0]
    url = f"http://souk:hunter2@127.0.0.1:{port}/orders?token=tk_77"
    [reply] = make(http=http, settings={**SETTINGS, "submit_path": url}).submit(
        [purchase_order()]).replies
    assert reply.outcome == FAILED
    assert reply.message == (f"Could not reach Souk Grossiste at http://127.0.0.1:{port}/orders "
                             "(ConnectionError).")


def test_submit_wrong_path_is_failed_naming_it(peer, http):
    """A 404 means the settings point nowhere: FAILED with the path, not a refusal."""
    [reply] = make(peer, http, settings={**SETTINGS, "submit_path": "/api/v1/orders"}).submit(
        [purchase_order()]).replies
    assert reply.outcome == FAILED
    assert f"has nothing at POST {peer.url}/api/v1/orders (HTTP 404)" in reply.message


def test_submit_server_error_fails_only_its_order(peer, http):
    """A 503 fails its own order (tried again with the same key); the next one goes."""
    peer.on("POST", SUBMIT, Reply(503, json={"message": "maintenance"}),
            Reply(201, json=souk("SG-2")))
    replies = make(peer, http).submit([purchase_order(1), purchase_order(2)]).replies
    assert [r.outcome for r in replies] == [FAILED, ACCEPTED]
    assert replies[0].message == "Souk Grossiste answered HTTP 503; will retry: maintenance"


def test_submit_timeout_is_failed_and_the_rest_wait(peer, http):
    """A supplier slower than our timeout: FAILED with a clear message, the rest not sent."""
    peer.on("POST", SUBMIT, Reply(201, json=souk(), delay=4.0))
    replies = make(peer, http).submit([purchase_order(1), purchase_order(2)]).replies
    assert [r.message for r in replies] == [
        "Souk Grossiste did not answer within 2 s.",
        "Not sent: Souk Grossiste did not answer within 2 s."]
    assert {r.outcome for r in replies} == {FAILED}


def test_submit_malformed_json_is_failed(peer, http):
    """A 2xx body cut in half: FAILED (the same key will find the order next time)."""
    peer.on("POST", SUBMIT, Reply(201, body=b'{"data": {"order": {"id": "SG-'))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert reply.outcome == FAILED
    assert reply.message == "Souk Grossiste sent malformed JSON (HTTP 201)."


def test_submit_empty_answer_is_submitted(peer, http):
    """A bare 202: they have it and decided nothing yet."""
    peer.on("POST", SUBMIT, Reply(202))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert (reply.outcome, reply.supplier_ref) == (SUBMITTED, None)


def test_submit_answer_without_status_is_accepted_when_it_names_their_order(peer, http):
    """An id and no status: they made the order."""
    peer.on("POST", SUBMIT, Reply(201, json={"data": {"order": {"id": "SG-9"}}}))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert (reply.outcome, reply.supplier_ref) == (ACCEPTED, "SG-9")


def test_submit_status_is_mapped_whatever_its_case(peer, http):
    """"validee" matches the table's "VALIDEE"."""
    peer.on("POST", SUBMIT, Reply(201, json=souk(etat="validee")))
    assert make(peer, http).submit([purchase_order()]).replies[0].outcome == ACCEPTED


def test_submit_unknown_status_is_failed_asking_to_map_it(peer, http):
    """A status the table does not know is never guessed."""
    peer.on("POST", SUBMIT, Reply(201, json=souk(etat="EN_PREPARATION")))
    [reply] = make(peer, http).submit([purchase_order()]).replies
    assert reply.outcome == FAILED and reply.supplier_ref == "SG-7781"
    assert reply.message == ("unknown status “EN_PREPARATION”; map it in the supplier's "
                             "settings")


def test_submit_without_submit_path_fails_every_order_and_calls_nobody(peer, http):
    """Settings missing the one required path: each order says what to set."""
    settings = {k: v for k, v in SETTINGS.items() if k != "submit_path"}
    replies = make(peer, http, settings=settings).submit(
        [purchase_order(1), purchase_order(2)]).replies
    assert [r.outcome for r in replies] == [FAILED, FAILED]
    assert "set submit_path" in replies[0].message
    assert peer.seen() == []


# --- status -----------------------------------------------------------------------------


def test_fetch_status_reads_shipped_with_tracking(peer, http):
    """A shipped order comes with its tracking number and carrier."""
    peer.on("GET", "/api/v2/commandes/SG-7781", Reply(200, json=souk(
        etat="EXPEDIEE", numero="CTM123456789MA", transporteur="CTM Messagerie")))
    [reply] = make(peer, http).fetch_status([query(purchase_order(), "SG-7781")])
    assert (reply.outcome, reply.tracking_number, reply.carrier) == (
        SHIPPED, "CTM123456789MA", "CTM Messagerie")
    assert peer.seen("GET")[0].headers["Authorization"] == "Bearer sg_live_9f3a"


def test_fetch_status_by_our_key_and_refusals_read(peer, http):
    """status_path may name orders by our key; a refusal carries their message."""
    settings = {**SETTINGS, "status_path": "/api/v2/commandes?cle={key}"}
    peer.on("GET", "/api/v2/commandes",
            Reply(200, json=souk(etat="REFUSEE", message="Adresse incomplète")))
    [reply] = make(peer, http, settings=settings).fetch_status([query(purchase_order(), None)])
    assert (reply.outcome, reply.message) == (REJECTED, "Adresse incomplète")
    assert peer.seen("GET")[0].query == {"cle": "cbs-so-1-k1"}


def test_fetch_status_without_status_path_asks_nothing(peer, http):
    """An empty status_path: the supplier is never asked."""
    adapter = make(peer, http, settings={**SETTINGS, "status_path": ""})
    assert adapter.fetch_status([query(purchase_order(), "SG-7781")]) == []
    assert peer.seen() == []


def test_fetch_status_skips_orders_without_their_id(peer, http):
    """{ref} cannot be filled for an order they never numbered: it is not asked about."""
    assert make(peer, http).fetch_status([query(purchase_order(), None)]) == []
    assert peer.seen() == []


def test_fetch_status_one_unknown_order_does_not_stop_the_others(peer, http):
    """A 404 for one order is its FAILED reply; the next order is still asked."""
    peer.on("GET", "/api/v2/commandes/SG-2", Reply(200, json=souk("SG-2", etat="ANNULEE")))
    replies = make(peer, http).fetch_status([query(purchase_order(1), "SG-1"),
                                             query(purchase_order(2), "SG-2")])
    assert [(r.supplier_order_id, r.outcome) for r in replies] == [(1, FAILED), (2, CANCELED)]
    assert "HTTP 404" in replies[0].message


def test_fetch_status_unknown_status_is_failed_asking_to_map_it(peer, http):
    """The same rule as on submit."""
    peer.on("GET", "/api/v2/commandes/SG-1", Reply(200, json=souk("SG-1", etat="PERDUE")))
    [reply] = make(peer, http).fetch_status([query(purchase_order(), "SG-1")])
    assert (reply.outcome, reply.message) == (
        FAILED, "unknown status “PERDUE”; map it in the supplier's settings")


@pytest.mark.parametrize("reply", [Reply(500), Reply(401, json={"message": "no"}),
                                   Reply(200, json=souk(), delay=4.0)])
def test_fetch_status_failure_every_order_would_meet_raises(peer, http, reply):
    """Down, slow or refusing our key: the poll raises, and asks again next time."""
    peer.on("GET", "/api/v2/commandes/SG-1", reply)
    with pytest.raises(SupplierError) as raised:
        make(peer, http).fetch_status([query(purchase_order(), "SG-1")])
    assert raised.value.transient == (reply.status != 401)


# --- cancel -----------------------------------------------------------------------------


def test_cancel_reads_their_answer(peer, http):
    """A cancel they confirm is CANCELED."""
    peer.on("POST", "/api/v2/commandes/SG-1/annulation", Reply(200, json=souk("SG-1", "ANNULEE")))
    reply = make(peer, http).cancel(query(purchase_order(), "SG-1"))
    assert (reply.outcome, reply.supplier_ref) == (CANCELED, "SG-1")


def test_cancel_empty_answer_is_canceled(peer, http):
    """A bare 204 is their yes."""
    peer.on("POST", "/api/v2/commandes/SG-1/annulation", Reply(204))
    assert make(peer, http).cancel(query(purchase_order(), "SG-1")).outcome == CANCELED


def test_cancel_refused_raises_with_their_words(peer, http):
    """Too late at their end: a SupplierError that a retry will not change."""
    peer.on("POST", "/api/v2/commandes/SG-1/annulation",
            Reply(409, json={"message": "Commande déjà expédiée"}))
    with pytest.raises(SupplierError, match="Commande déjà expédiée") as refused:
        make(peer, http).cancel(query(purchase_order(), "SG-1"))
    assert not refused.value.transient


def test_cancel_without_cancel_path_cannot_cancel():
    """No cancel_path: someone must call them."""
    with pytest.raises(CannotCancel, match="by phone or e-mail"):
        make(settings={**SETTINGS, "cancel_path": ""}).cancel(query(purchase_order(), "SG-1"))


# --- settings -----------------------------------------------------------------------------


def test_check_settings_accepts_a_complete_description():
    """The test supplier's settings are fine."""
    assert check_settings(SETTINGS) == []


def broken(**changes) -> dict:
    """SETTINGS with some parts replaced (None removes one)."""
    settings = copy.deepcopy(SETTINGS)
    for key, value in changes.items():
        if value is None:
            settings.pop(key)
        else:
            settings[key] = value
    return settings


@pytest.mark.parametrize("settings, problem", [
    ([], "must be a JSON object"),
    (broken(submit_path=None), "submit_path is required"),
    (broken(submit_path="  "), "submit_path is required"),
    (broken(status_path="/commandes/{id}"), "status_path: unknown placeholder {id}"),
    (broken(fields={**SETTINGS["fields"], "email": "contact.mail"}),
     "fields: unknown field “email”"),
    (broken(fields={**SETTINGS["fields"], "phone": "destinataire"}),
     "would overwrite each other"),
    (broken(fields={k: v for k, v in SETTINGS["fields"].items() if k != "lines"}),
     "fields.lines is required"),
    (broken(fields={**SETTINGS["fields"], "city": "destinataire..ville"}),
     "fields.city: “destinataire..ville” is not a dotted path"),
    (broken(statuses={"EXPEDIEE": "sent"}),
     "“EXPEDIEE” is mapped to “sent”, which is not one of accepted, rejected, submitted, "
     "shipped, canceled"),
    (broken(statuses={"ok": "accepted", "OK": "shipped"}), "“OK” is mapped twice"),
    (broken(reply={"status": "etat"}), None),
    (broken(reply={"supplier_ref": "id"}), "status_path is set but reply.status is not"),
    (broken(reply={"order_id": "id", "status": "etat"}), "reply: unknown field “order_id”"),
    (broken(timeout=3), "Unknown setting “timeout”"),
])
def test_check_settings_names_each_problem(settings, problem):
    """Each mistake a manager can make is said in words they can act on."""
    problems = check_settings(settings)
    if problem is None:
        assert problems == []
    else:
        assert any(problem in p for p in problems), problems
