"""Resolving a supplier order in a real browser: the form opens in place of the row, a bad
phone is refused beside its field, and "Save and process" turns the row into Processing…,
which settles by itself once the supplier's job has run; the page never reloads."""

from playwright.sync_api import Page, expect

from tests.blueprints.dropship_support import make_supplier_order_fixture, stored  # noqa: F401

TIMEOUT = 5_000


def test_an_operator_resolves_and_processes_a_refused_order_in_place(
    page: Page, live_server, make_user, make_supplier_order, run_jobs,
):
    page.set_default_timeout(TIMEOUT)
    so = make_supplier_order("error", customer_name="Salma Idrissi")
    make_user(role="operator", username="youssef", password="browser-pw-1")

    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("youssef")
    page.get_by_label("Password").fill("browser-pw-1")
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("link", name="Dropship").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Dropship")
    page.locator('a[data-tab="errors"]').click()
    row = page.locator(f"#so-{so.id}")
    expect(row).to_contain_text("Salma Idrissi")
    expect(row).to_contain_text("Out of stock: the supplier has none.")
    # A full reload would lose this mark; swaps in place keep it.
    page.evaluate("window.keptAcrossSwaps = 'yes'")

    row.get_by_role("button", name="Resolve").click()
    form = page.locator(f"#so-{so.id} form.resolve-form")
    expect(form).to_be_visible()
    expect(form.get_by_role("alert").first).to_contain_text("Out of stock")
    form.get_by_label("Phone").fill("12")
    form.get_by_role("button", name="Save and process").click()
    expect(form.locator(f"#err-{so.id}-phone")).to_have_text("“12” is not a phone number.")
    expect(form.get_by_label("Phone")).to_have_attribute("aria-invalid", "true")
    assert stored(so.id).status == "error"

    form.get_by_label("Phone").fill("0661234567")
    form.get_by_role("button", name="Save and process").click()
    expect(row).to_have_attribute("data-status", "pending")
    expect(row).to_contain_text("Processing…")
    expect(row).to_contain_text("Saved: phone: “0612345678” → “0661234567”")
    assert page.evaluate("window.keptAcrossSwaps") == "yes"
    assert stored(so.id).process_requested_at is not None

    run_jobs()  # the supplier's job sends it; the row polls and settles on its own
    expect(row).to_have_attribute("data-status", "submitted")
    expect(row).not_to_contain_text("Processing…")
    assert page.evaluate("window.keptAcrossSwaps") == "yes"


def test_an_arabic_operator_resolves_right_to_left_and_reads_the_refusal_in_arabic(
    page: Page, live_server, make_user, make_supplier_order,
):
    page.set_default_timeout(TIMEOUT)
    so = make_supplier_order("error", customer_name="سلمى الإدريسي")
    make_user(role="operator", username="amina", password="browser-pw-2", language="ar")

    page.goto(f"{live_server}/login")
    page.get_by_label("Username").fill("amina")
    page.get_by_label("Password").fill("browser-pw-2")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("html")).to_have_attribute("lang", "ar")  # her choice, once known
    page.goto(f"{live_server}/dropship?tab=errors")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", level=1)).to_have_text("الدروبشيبينغ")
    row = page.locator(f"#so-{so.id}")
    expect(row).to_contain_text("سلمى الإدريسي")

    row.get_by_role("button", name="معالجة الخطأ").click()
    form = page.locator(f"#so-{so.id} form.resolve-form")
    expect(form.get_by_role("heading")).to_contain_text(so.reference)
    form.get_by_label("الهاتف").fill("12")
    form.get_by_role("button", name="حفظ ومعالجة").click()
    expect(form.locator(f"#err-{so.id}-phone")).to_have_text("«12» ليس رقم هاتف.")
    expect(form.get_by_role("alert").last).to_contain_text("يرجى تصحيح الحقول المحددة")
    assert stored(so.id).status == "error"
