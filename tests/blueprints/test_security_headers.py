"""Security headers on every kind of response, HSTS only over https, and no template that
the Content-Security-Policy would break (inline script, handler, style or eval)."""

import re
from pathlib import Path

import pytest

from app import create_app
from blueprints.security_headers import EXCEPTIONS
from blueprints.shipping.barcode import code128_svg

ROOT = Path(__file__).resolve().parents[2]
POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
          "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
          "form-action 'self'; frame-ancestors 'none'")
ALWAYS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def assert_protected(resp) -> None:
    """Every header that is always sent, with its value; no HSTS over plain http."""
    for name, value in ALWAYS.items():
        assert resp.headers.get(name) == value, (name, resp.status_code, resp.request.path)
    assert "camera=()" in resp.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in resp.headers


def test_login_page_and_failed_login_carry_the_headers(client):
    assert_protected(client.get("/login"))
    resp = client.post("/login", data={"username": "nobody", "password": "wrong"})
    assert resp.status_code in (200, 400, 401, 422, 429)
    assert_protected(resp)


def test_pages_and_fragments_carry_the_headers(login):
    operator = login("operator")
    page = operator.get("/orders/")
    assert page.status_code == 200 and "<html" in page.get_data(as_text=True)
    assert_protected(page)
    fragment = operator.hx_get("/orders/?city=Rabat")
    assert fragment.status_code == 200 and "<html" not in fragment.get_data(as_text=True)
    assert_protected(fragment)


def test_json_api_static_files_and_errors_carry_the_headers(client, login):
    spec = client.get("/api/v1/openapi.json")
    assert spec.is_json
    assert_protected(spec)
    refused = client.get("/api/v1/orders")
    assert refused.status_code == 401 and refused.is_json
    assert_protected(refused)
    css = client.get("/static/css/app.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert_protected(css)
    css.close()
    missing = login("operator").get("/no/such/page")
    assert missing.status_code == 404
    assert_protected(missing)
    forbidden = login("agent").get("/settings/users")
    assert forbidden.status_code == 403
    assert_protected(forbidden)


def test_api_docs_run_under_the_strict_policy(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    assert_protected(resp)


def test_hsts_only_over_https(client):
    secure = client.get("/login", base_url="https://shop.example")
    assert secure.headers["Strict-Transport-Security"] == "max-age=31536000"
    plain = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" not in plain.headers  # no proxy trusted by default


def test_trusted_proxy_says_https(database_url, redis_url):
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url,
                      "REDIS_URL": redis_url, "TRUST_PROXY": True})
    client = app.test_client()
    behind = client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert behind.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in client.get("/login").headers


def test_only_the_sandbox_label_loosens_the_policy(app, client):
    assert set(EXCEPTIONS) == {"sandbox.parcel_label"}
    assert "sandbox.parcel_label" in {rule.endpoint for rule in app.url_map.iter_rules()}
    label = client.get("/sandbox/carrier/labels/NOPE-1")
    assert label.status_code == 404
    policy = label.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy and "script-src 'self';" in policy


def test_packing_slip_barcode_has_no_inline_style():
    svg = str(code128_svg("CB-12345"))
    assert "style=" not in svg
    assert 'fill="white"' in svg and 'fill="black"' in svg


# What the policy blocks in markup, or what htmx could only run with eval.
FORBIDDEN = {
    "inline script": re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I),
    "inline handler": re.compile(r"\son[a-z]+\s*=", re.I),
    "style attribute": re.compile(r"\sstyle\s*=", re.I),
    "style element": re.compile(r"<style[\s>]", re.I),
    "hx-on": re.compile(r"\s(data-)?hx-on", re.I),
    "javascript: URL": re.compile(r"javascript:", re.I),
    "js: values": re.compile(r"hx-va(ls|rs)\s*=\s*['\"]\s*(js|javascript):", re.I),
    "trigger filter": re.compile(r"hx-trigger\s*=\s*(\"[^\"]*\[|'[^']*\[)", re.I),
}
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_has_nothing_the_policy_blocks(template):
    text = re.sub(r"\{#.*?#\}", "", template.read_text(), flags=re.S)  # comments may say it
    found = [f"{name}: {m.group(0)!r}" for name, pattern in FORBIDDEN.items()
             for m in pattern.finditer(text)]
    assert not found, found


def test_the_scan_catches_each_kind():
    samples = {
        "inline script": "<script>alert(1)</script>",
        "inline handler": '<button onclick="go()">',
        "style attribute": '<p style="color:red">',
        "style element": "<style>p{}</style>",
        "hx-on": '<div hx-on:click="x()">',
        "javascript: URL": '<a href="javascript:void(0)">',
        "js: values": "<div hx-vals='js:{a: 1}'>",
        "trigger filter": "<div hx-trigger=\"every 5s [visible()]\">",
    }
    for name, sample in samples.items():
        assert FORBIDDEN[name].search(sample), name
    assert not FORBIDDEN["inline script"].search('<script src="/static/js/app.js" defer>')
