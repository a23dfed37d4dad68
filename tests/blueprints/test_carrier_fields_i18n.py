"""Carrier adapters' settings and the connection test in the manager's language."""

import re
import socket

from .pages import squash, text

POLL = re.compile(r'hx-get="(/settings/carriers/\d+/test/[^"]+)"')


def manager(login, make_user, language: str):
    """A client logged in as a manager who chose this language."""
    return login(make_user(role="manager", language=language))


def page_text(resp) -> str:
    """The page as read: entities decoded, whitespace collapsed."""
    assert resp.status_code == 200
    return squash(text(resp))


def connection_result(client, carrier, run_jobs) -> str:
    """Press Test connection, let a real worker run the job, and read the result."""
    resp = client.post(f"/settings/carriers/{carrier.id}/test", htmx=True)
    poll = POLL.search(resp.get_data(as_text=True)).group(1)
    run_jobs()
    result = client.hx_get(poll)
    assert "hx-trigger" not in result.get_data(as_text=True)  # finished: no more polling
    return page_text(result)


def closed_port() -> int:
    """A local port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the settings fields ---------------------------------------------------------------


def test_http_json_fields_in_french(login, make_user, make_carrier):
    """The edit page of a JSON-API courier labels and explains its settings in French."""
    carrier = make_carrier(kind="http_json")
    page = page_text(manager(login, make_user, "fr").get(f"/settings/carriers/{carrier.id}"))
    assert "Chemin du numéro de suivi" in page
    assert "Facultatif. Chemin à points dans la réponse JSON, p. ex. « data.tracking_number »." \
        in page
    assert "Seulement si Chemin de la liste d'événements est vide." in page
    # Code examples come through untouched, the strptime pattern's % signs included.
    assert "un motif strptime, p. ex. « %d/%m/%Y %H:%M »." in page
    assert "Point d'accès POST, p. ex. « {base_url}/parcels ». Le corps JSON contient " \
           "reference, customer_name, phone" in page
    assert "Tracking number path" not in page and "Dotted path" not in page


def test_http_json_fields_in_arabic(login, make_user, make_carrier):
    """The same page in Arabic, with the examples left as the courier's API spells them."""
    carrier = make_carrier(kind="http_json")
    page = page_text(manager(login, make_user, "ar").get(f"/settings/carriers/{carrier.id}"))
    assert "مسار رقم التتبع" in page
    assert "مسار بالنقاط داخل رد JSON، مثل «data.tracking_number»." in page
    assert "«%d/%m/%Y %H:%M»" in page
    assert "Tracking number path" not in page


def test_aftership_fields_fragment_in_french(login, make_user):
    """Switching the kind to AfterShip swaps in its slug field, in French."""
    c = manager(login, make_user, "fr")
    page = page_text(c.hx_get("/settings/carriers/fields?kind=aftership"))
    assert "Code (slug) du transporteur" in page
    assert "p. ex. « aramex ». Laissez vide pour qu'AfterShip détecte le transporteur" in page


def test_http_json_fields_in_english_unchanged(login, make_user, make_carrier):
    """English readers see the wording as before."""
    carrier = make_carrier(kind="http_json")
    page = page_text(manager(login, make_user, "en").get(f"/settings/carriers/{carrier.id}"))
    assert "Label URL path" in page
    assert 'Optional. Dotted path into the JSON answer, e.g. ' \
           '"data.tracking_number".' in page
    assert 'Optional, when times are not ISO 8601: a strptime pattern, e.g. ' \
           '"%d/%m/%Y %H:%M".' in page
    assert 'Word before the key, default "Bearer". Empty (or "-") sends the raw key.' in page


# --- the connection test ---------------------------------------------------------------


def test_connection_test_success_in_french(login, make_user, make_carrier, live_server,
                                           run_jobs):
    """A French manager's test, run by the worker, says it connected in French."""
    carrier = make_carrier(kind="sandbox", base_url=f"{live_server}/sandbox/carrier",
                           api_key="k")
    page = connection_result(manager(login, make_user, "fr"), carrier, run_jobs)
    assert f"Connecté à {carrier.name} avec le compte" in page
    assert "Connected to" not in page


def test_connection_test_success_in_english_unchanged(login, make_user, make_carrier,
                                                      live_server, run_jobs):
    """The same test for an English manager reads as before."""
    carrier = make_carrier(kind="sandbox", base_url=f"{live_server}/sandbox/carrier",
                           api_key="k")
    page = connection_result(manager(login, make_user, "en"), carrier, run_jobs)
    assert re.search(rf"Connected to {carrier.name} as account \S+ \(\d+ parcels?\)\.", page)


def test_connection_test_failure_in_french_quotes_the_error(login, make_user, make_carrier,
                                                            run_jobs):
    """A carrier nobody answers for: the sentence is French, the error itself as it came."""
    carrier = make_carrier(kind="sandbox", base_url=f"http://127.0.0.1:{closed_port()}",
                           api_key="k")
    page = connection_result(manager(login, make_user, "fr"), carrier, run_jobs)
    assert f"Le test de connexion a échoué : Could not reach {carrier.name}" in page


def test_connection_test_not_supported_in_french_and_arabic(login, make_user, make_carrier,
                                                           run_jobs):
    """A courier without a Test URL, and a local carrier, say so in the manager's language."""
    courier = make_carrier(kind="http_json")
    page = connection_result(manager(login, make_user, "fr"), courier, run_jobs)
    assert f"{courier.name} : renseignez l'URL de test pour tester la connexion." in page

    local = make_carrier(kind="local")
    page = connection_result(manager(login, make_user, "ar"), local, run_jobs)
    assert f"لا تملك {local.name} واجهة API لاختبارها." in page
