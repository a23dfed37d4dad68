"""The status board pages: filters, drill-down links, live block, TV mode, CSV, access."""

import csv
import io
import re
from datetime import timedelta
from html import unescape

import pytest

from extensions import db
from models import Actor, utcnow
from models.boards.period import today
from models.orders.operations import change_confirmation

ONE_SLICE = ("Choose one filter at a time: the boards keep their counts per channel, "
             "carrier, city, agent or supplier, not per combination.")
ROUTES = ["/boards/", "/boards/?period=7d", "/boards/tv", "/boards/export/status.csv",
          "/boards/export/rates.csv", "/boards/export/funnel.csv",
          "/boards/export/trends.csv", "/boards/export/agents.csv",
          "/boards/export/speed.csv"]


@pytest.fixture
def confirmed(make_order, make_user):
    """confirmed(**overrides): an order an agent confirmed on the phone."""
    agent = make_user("agent")

    def make(**overrides):
        order = make_order(**overrides)
        order.claimed_by_id = agent.id
        db.session.commit()
        change_confirmation(order, "confirmed", Actor.of(agent))
        db.session.commit()
        return order

    return make


def href(page: str, attribute: str) -> str:
    """The link of the anchor carrying this data attribute."""
    match = re.search(rf'<a href="([^"]+)" {re.escape(attribute)}', page)
    assert match, f"no link with {attribute}"
    return unescape(match.group(1))


def order_rows(page: str) -> int:
    """Rows of the orders list's table."""
    body = page.split('<table class="striped orders">', 1)[1].split("</tbody>", 1)[0]
    return len(re.findall(r"<tr[\s>]", body)) - 1  # the header row


@pytest.mark.parametrize("role", ["agent", "operator"])
@pytest.mark.parametrize("url", ROUTES)
def test_boards_refuse_agents_and_operators(login, role, url):
    assert login(role).get(url).status_code == 403


@pytest.mark.parametrize("url", ROUTES)
def test_boards_open_for_managers_and_admins(login, url):
    for role in ("manager", "admin"):
        assert login(role).get(url).status_code == 200


def test_board_counts_and_rates_of_today(login, make_order, confirmed):
    make_order()
    confirmed()
    page = login("manager").get("/boards/").get_data(as_text=True)
    assert "Orders that arrived today" in page
    assert re.search(r'data-conf="confirmed">1<', page)
    assert re.search(r'data-conf="new">1<', page)
    assert re.search(r'data-cell="confirmed/created"[^>]*>1<', page)
    # Confirmation rate: 1 confirmed of 1 decided; delivery has nothing to divide by.
    assert re.search(r'data-rate="confirmation">.*?100%.*?1 / 1', page, re.S)
    assert re.search(r'data-rate="delivery">.*?—.*?0 / —', page, re.S)
    assert 'href="/boards/money"' in page and "/boards/money/remittances" in page
    assert 'role="img"' in page and "<title" in page


def test_board_empty_period_says_what_to_do(login):
    page = login("manager").get("/boards/").get_data(as_text=True)
    assert "No orders arrived today" in page
    assert "import a CSV" in page
    assert re.search(r'data-rate="confirmation">.*?—', page, re.S)


def test_board_poll_returns_the_live_block_with_the_filters(login, make_channel):
    channel = make_channel()
    manager = login("manager")
    page = manager.get(f"/boards/?period=7d&channel={channel.id}").get_data(as_text=True)
    poll = unescape(re.search(r'id="board-live"[^>]*hx-get="([^"]+)"', page).group(1))
    assert f"channel={channel.id}" in poll and "period=7d" in poll
    assert 'hx-trigger="every 5s' in page
    block = manager.hx_get(poll)
    text = block.get_data(as_text=True)
    assert block.status_code == 200
    assert "<html" not in text and 'id="board-live"' in text
    assert re.search(r"Updated \d\d:\d\d:\d\d", text)
    assert "HX-Request" in block.headers.get("Vary", "")


def test_drill_down_lists_exactly_the_counted_orders(login, make_order, make_channel,
                                                     confirmed):
    channel, other = make_channel(), make_channel()
    for _ in range(3):
        confirmed(channel=channel)
    confirmed(channel=other)
    make_order(channel=channel)
    confirmed(channel=channel, created_at=utcnow() - timedelta(days=3))
    manager = login("manager")
    page = manager.get(f"/boards/?channel={channel.id}").get_data(as_text=True)
    assert re.search(r'data-cell="confirmed/created"[^>]*>3<', page)
    link = href(page, 'data-cell="confirmed/created"')
    day = today().isoformat()
    for part in ("conf=confirmed", "ship=created", f"from={day}", f"to={day}",
                 f"channel={channel.id}"):
        assert part in link
    listed = manager.get(link)
    assert listed.status_code == 200
    assert order_rows(listed.get_data(as_text=True)) == 3
    # The confirmation count links the same way; not shipped is the new order.
    assert order_rows(manager.get(href(page, 'data-conf="confirmed"')).get_data(
        as_text=True)) == 3
    assert re.search(r'data-ship="none">1<', page)
    assert order_rows(manager.get(href(page, 'data-ship="none"')).get_data(
        as_text=True)) == 1


def test_two_filters_answer_422_with_the_message(login, make_channel, make_carrier):
    channel, carrier = make_channel(), make_carrier()
    resp = login("manager").get(f"/boards/?channel={channel.id}&carrier={carrier.id}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert ONE_SLICE in page
    assert 'id="board-live"' not in page
    assert 'id="board-filters"' in page
    city = login("manager").get(f"/boards/?city=Rabat&carrier={carrier.id}")
    assert city.status_code == 422 and ONE_SLICE in city.get_data(as_text=True)


@pytest.mark.parametrize("query, message", [
    ("period=custom&from=2026-03-10&to=2026-03-01", "The end date is before the start date."),
    ("period=custom&from=2025-01-01&to=2026-01-02", "A custom period spans at most 366 days."),
    ("period=custom&from=2026-03-10", "A custom period needs both a start and an end date."),
])
def test_bad_custom_period_answers_422(login, query, message):
    manager = login("manager")
    resp = manager.get(f"/boards/?{query}")
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    assert manager.get(f"/boards/export/status.csv?{query}").status_code == 422
    assert manager.get(f"/boards/tv?{query}").status_code == 422


def test_custom_period_of_a_year_is_read(login, confirmed):
    confirmed()
    first = today() - timedelta(days=365)
    resp = login("manager").get(f"/boards/?period=custom&from={first}&to={today()}")
    page = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert f"Orders that arrived from {first} to {today()}" in page
    assert re.search(r'data-conf="confirmed">1<', page)


def test_tv_mode_has_no_navigation_and_keeps_the_filters(login, make_channel, confirmed):
    channel = make_channel()
    confirmed(channel=channel)
    manager = login("manager")
    board = manager.get(f"/boards/?period=30d&channel={channel.id}").get_data(as_text=True)
    tv_link = unescape(re.search(r'<a href="(/boards/tv[^"]*)"', board).group(1))
    assert "period=30d" in tv_link and f"channel={channel.id}" in tv_link
    page = manager.get(tv_link).get_data(as_text=True)
    assert "<nav" not in page and "Log out" not in page
    assert 'class="tv"' in page
    assert re.search(r'data-conf="confirmed">.*?<span class="big">1</span>', page, re.S)
    assert 'hx-trigger="every 5s' in page and "/boards/tv?" in page
    block = manager.hx_get(tv_link).get_data(as_text=True)
    assert "<html" not in block and 'id="board-live"' in block


def read_csv(resp) -> list[list[str]]:
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).removeprefix("\ufeff"))))


def test_csv_exports_each_table_and_neutralises_formulas(login, confirmed, make_order):
    confirmed(city="=cmd()")
    make_order(city="=cmd()")
    manager = login("manager")
    page = manager.get("/boards/?city==cmd()").get_data(as_text=True)
    assert "/boards/export/status.csv?" in unescape(page)

    status = read_csv(manager.get("/boards/export/status.csv", query_string={"city": "=cmd()"}))
    header = status[0]
    assert header[:3] == ["Confirmation", "Not shipped", "Created"]
    rows = {r[0]: r for r in status[1:]}
    assert rows["Confirmed"][header.index("Created")] == "1"
    assert rows["New"][header.index("Not shipped")] == "1"
    assert rows["New"][header.index("Filter")] == "city"
    assert rows["New"][header.index("Filter value")] == "'=cmd()"  # never a formula

    rates = read_csv(manager.get("/boards/export/rates.csv", query_string={"city": "=cmd()"}))
    assert rates[0][:5] == ["Rate", "Formula", "Numerator", "Denominator", "Value"]
    assert rates[1][:5] == ["Confirmation rate", "confirmed ÷ (confirmed + canceled + fake)",
                            "1", "1", "100.0"]
    assert rates[2][4] == ""  # delivery: nothing to divide by

    funnel = read_csv(manager.get("/boards/export/funnel.csv"))
    assert [r[:2] for r in funnel[1:]] == [["Leads", "2"], ["Reached", "1"],
                                           ["Confirmed", "1"], ["Shipped", "0"],
                                           ["Delivered", "0"]]
    trends = read_csv(manager.get("/boards/export/trends.csv", query_string={"period": "7d"}))
    assert trends[0][:5] == ["Day", "Leads", "Confirmed", "Delivered",
                             "Returned (incl. in return)"]
    assert len(trends) == 8
    assert trends[-1][:3] == [today().isoformat(), "2", "1"]
    assert manager.get("/boards/export/orders.csv").status_code == 404


def test_supplier_slice_links_with_the_supplier(login, make_supplier, make_order,
                                                make_product):
    supplier, other = make_supplier(), make_supplier()
    make_order()
    for _ in range(2):
        order = make_order(lines=[(make_product(stock=0), 1)])
        order.lines[0].supplier_id = supplier.id
        order.lines[0].warehouse_id = None
        db.session.commit()
    manager = login("manager")
    page = manager.get(f"/boards/?supplier={supplier.id}").get_data(as_text=True)
    link = href(page, 'data-cell="new/none"')
    assert f"supplier={supplier.id}" in link and "ship=none" in link
    assert re.search(r'data-cell="new/none"[^>]*>2<', page)
    assert order_rows(manager.get(link).get_data(as_text=True)) == 2
    empty = manager.get(f"/boards/?supplier={other.id}").get_data(as_text=True)
    assert "No orders arrived today." in empty
    assert f"Orders that arrived today</strong> · Supplier: <bdi>{other.name}</bdi>" in empty


def test_board_escapes_a_city_typed_in_the_filter(login):
    page = login("manager").get("/boards/", query_string={"city": "<b>x</b>"}).get_data(
        as_text=True)
    assert "<b>x</b>" not in page


def test_yesterday_counts_yesterdays_orders_only(login, confirmed):
    confirmed(created_at=utcnow() - timedelta(days=1))
    confirmed()
    page = login("manager").get("/boards/?period=yesterday").get_data(as_text=True)
    assert "Orders that arrived yesterday" in page
    assert re.search(r'data-conf="confirmed">1<', page)


def test_trends_chart_and_table_show_each_day(login, confirmed, make_order):
    confirmed(created_at=utcnow() - timedelta(days=2))
    make_order()
    page = login("manager").get("/boards/?period=7d").get_data(as_text=True)
    chart = page.split('class="trend-chart"', 1)[1].split("</svg>", 1)[0]
    assert 'role="img"' in chart and "<title" in chart
    for name in ("leads", "confirmed", "delivered", "returned"):
        series = re.search(rf'data-series="{name}">\s*<polyline points="([^"]+)"', chart)
        assert series and len(series.group(1).split()) == 7
    for label in ("Leads", "Confirmed", "Delivered", "Returned + in return"):
        assert label in page.split('class="legend"', 1)[1].split("</ul>", 1)[0]
    day = (today() - timedelta(days=2)).isoformat()
    assert re.search(rf'<tr data-day="{day}"><td>{day}</td><td class="num">1</td>\s*'
                     r'<td class="num">1</td>', page)
    assert page.count("<tr data-day=") == 7


def test_board_shows_speed_to_lead_and_the_agents_who_called(login, confirmed, make_user):
    order = confirmed(city="Rabat")
    manager = login("manager")
    page = manager.get("/boards/").get_data(as_text=True)
    assert "Speed to lead" in page
    assert "1 lead, 1 called, 0 not called yet." in page
    agent_id = db.session.get(type(order), order.id).agent_id
    assert f'<tr data-agent="{agent_id}">' in page
    # A slice narrows speed to lead too: another city's board has no lead.
    other = manager.get("/boards/?city=Fès").get_data(as_text=True)
    assert "0 leads, 0 called, 0 not called yet." in other


def test_agents_and_speed_export_as_csv_with_the_page_figures(login, confirmed):
    confirmed()
    manager = login("manager")
    agents = list(csv.reader(io.StringIO(
        manager.get("/boards/export/agents.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert agents[0][:3] == ["Agent", "Calls", "Confirmed"]
    assert agents[1][1:4] == ["1", "1", "100.0"]
    speed = list(csv.reader(io.StringIO(
        manager.get("/boards/export/speed.csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert speed[1][:3] == ["1", "1", "0"]
