"""The benchmark's language scenarios: the busiest pages again in French and Arabic, each
compared to its English run and refused when the page did not answer in that language."""

from types import SimpleNamespace

import pytest

from app import create_app
from bench import run
from bench.scenarios import BY_NAME, IN_LANGUAGES, LIST_MEMORY, MINIMAL

LANGUAGE_SCENARIOS = {"baseline_list_memory_fr": (LIST_MEMORY, "fr"),
                      "orders_list_fr": ("orders_list", "fr"),
                      "orders_list_ar": ("orders_list", "ar"),
                      "order_detail_ar": ("order_detail", "ar"),
                      "status_board_ar": ("status_board", "ar")}


@pytest.mark.parametrize("name", LANGUAGE_SCENARIOS)
def test_each_language_scenario_repeats_its_english_one_with_the_header(name):
    english, code = LANGUAGE_SCENARIOS[name]
    scenario, original = BY_NAME[name], BY_NAME[english]
    assert (english, code) in IN_LANGUAGES
    assert scenario.paths is original.paths and scenario.role == original.role
    assert scenario.concurrency == original.concurrency
    assert scenario.headers == (*original.headers, f"Accept-Language: {code}")
    assert scenario.expect == f'<html lang="{code}"'
    assert scenario.baseline == english and not scenario.has_target


def test_only_a_language_scenario_brings_its_english_one_for_the_ratio():
    scenarios, _ = run.chosen(["orders_list_ar"])
    assert [s.name for s in scenarios] == [MINIMAL, LIST_MEMORY, "orders_list",
                                           "orders_list_ar"]


def test_the_ratio_to_english_is_reported_without_a_verdict():
    def result(name: str, rps: float) -> dict:
        return {"name": name, "status": "ok", "rps": rps, "p99_ms": 80.0,
                "baseline": BY_NAME[name].baseline}

    results = [result(MINIMAL, 4000), result(LIST_MEMORY, 600),
               result("baseline_list_memory_fr", 450), result("orders_list", 300),
               result("orders_list_ar", 240)]
    run.add_ratios(results)
    assert results[2]["ratio_list_memory"] == 0.75
    assert results[4]["ratio_baseline"] == 0.8 and results[4]["verdict"] is None


def test_memory_list_answers_in_the_language_asked_through_the_same_filters(database_url,
                                                                            redis_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "REDIS_URL": redis_url, "BENCH_ROUTES": True})
    client = app.test_client()
    english = client.get("/bench/orders-memory").get_data(as_text=True)
    french = client.get("/bench/orders-memory",
                        headers={"Accept-Language": "fr"}).get_data(as_text=True)
    expect = BY_NAME["baseline_list_memory_fr"].expect
    assert expect not in english and expect in french
    # The same 50 rows, money and times in French: "349,00 MAD", "21/11/2026 13:00".
    assert french.count("<tr") == english.count("<tr")
    assert "349.00 MAD" in english and "2026-11-21 13:00" in english
    assert "349,00\xa0MAD" in french and "21/11/2026 13:00" in french


def test_a_logged_in_page_names_french_in_its_picker_but_only_html_lang_counts(login):
    manager = login("manager")
    english = manager.get("/orders/").get_data(as_text=True)
    arabic = manager.get("/orders/", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert 'lang="fr"' in english and 'lang="ar"' in english  # the language picker
    assert BY_NAME["orders_list_fr"].expect not in english
    assert BY_NAME["orders_list_ar"].expect not in english
    assert BY_NAME["orders_list_ar"].expect in arabic


def test_probe_refuses_a_page_that_fell_back_to_english(monkeypatch):
    served = ['<html lang="fr" dir="ltr">…']
    asked = []

    def get(url, headers, **kwargs):
        asked.append(headers.get("Accept-Language"))
        return SimpleNamespace(status_code=200, headers={}, text=served[0])

    monkeypatch.setattr(run.requests, "get", get)
    scenario = BY_NAME["orders_list_fr"]
    assert run.probe("http://x", ["/orders/"], "c", scenario.headers, scenario.expect) is None
    served[0] = '<html lang="en" dir="ltr">…'
    reason = run.probe("http://x", ["/orders/"], "c", scenario.headers, scenario.expect)
    assert reason == """GET /orders/ answered without '<html lang="fr"'"""
    assert asked == ["fr", "fr"]
