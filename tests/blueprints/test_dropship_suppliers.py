"""Supplier settings over HTTP: the list, the form with its kind's settings and a write-only
token, SKU mappings (inline and from CSV), shipping mappings, a file supplier's files and
status files; and the channel's dropship processing setting."""

import io
import json
import re

import pytest
from sqlalchemy import func, select

from extensions import db
from models import AuditEvent, Channel, Parcel, Supplier, SupplierFile, SupplierSku
from models.dropship.tables import ShippingMapping
from workers.suppliers.http_json import DEFAULT_SETTINGS

from .dropship_support import make_supplier_order_fixture, stored, words  # noqa: F401
from .pages import heading, location, text

TOKEN = "sk_live_9f8e7d6c5b4a3928"


def supplier_form(**overrides) -> dict:
    """A complete supplier form as a browser posts it (unchecked boxes left out)."""
    data = {"name": "Atlas Wholesale", "kind": "http_json", "active": "y",
            "base_url": "https://api.atlas.example/v1", "api_key": "",
            "default_shipping_method": "Standard", "edit_before_submit": "y",
            "poll_interval_minutes": "5", "settings_json": json.dumps(DEFAULT_SETTINGS),
            "drop_url": ""}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def saved(name: str = "Atlas Wholesale") -> Supplier | None:
    """The supplier with this name, as stored."""
    db.session.rollback()
    return db.session.scalar(select(Supplier).where(Supplier.name == name))


def upload(data: bytes, name: str = "file.csv") -> dict:
    """A multipart form with one file."""
    return {"file": (io.BytesIO(data), name)}


# --- the list and the form ------------------------------------------------------------------


def test_the_list_shows_each_supplier_with_orders_waiting_and_health(login, make_supplier,
                                                                    make_supplier_order):
    atlas = make_supplier(name="Atlas", kind="csv", last_error="Drop URL answered 503")
    make_supplier_order("pending", supplier=atlas)
    make_supplier_order("error", supplier=atlas)
    make_supplier_order("shipped", supplier=atlas)
    resp = login("manager").get("/dropship/suppliers")
    assert heading(resp) == "Suppliers"
    row = resp.get_data(as_text=True).split(f'data-supplier="{atlas.id}"', 1)[1].split("</tr>")[0]
    assert "CSV files" in row and "yes" in row
    assert 'data-waiting="2"' in row and "Drop URL answered 503" in row


def test_a_new_supplier_of_each_kind_shows_its_own_settings(login):
    c = login("manager")
    page = c.get("/dropship/suppliers/new").get_data(as_text=True)
    for label in ("Sandbox supplier (demo)", "JSON API", "CSV files"):
        assert label in page
    fields = c.hx_get("/dropship/suppliers/fields?kind=http_json")
    assert json.loads(re.search(r"<textarea[^>]*>(.*?)</textarea>", text(fields), re.S)
                      .group(1)) == DEFAULT_SETTINGS
    csv_fields = c.hx_get("/dropship/suppliers/fields?kind=csv").get_data(as_text=True)
    assert 'name="drop_url"' in csv_fields and 'name="base_url"' not in csv_fields
    assert c.hx_get("/dropship/suppliers/fields?kind=ftp").status_code == 404


def test_invalid_json_settings_say_so_and_save_nothing(login):
    resp = login("manager").post("/dropship/suppliers/new",
                                 data=supplier_form(settings_json='{"submit_path": '))
    assert resp.status_code == 422
    assert "This is not valid JSON: Expecting value (line 1, column 17)." in text(resp)
    assert saved() is None


def test_each_settings_problem_is_shown_and_nothing_is_saved(login):
    bad = {**DEFAULT_SETTINGS, "bogus": 1}
    resp = login("manager").post("/dropship/suppliers/new",
                                 data=supplier_form(settings_json=json.dumps(bad)))
    assert resp.status_code == 422 and "Unknown setting “bogus”" in text(resp)
    assert 'aria-invalid="true"' in resp.get_data(as_text=True) and saved() is None


def test_an_api_supplier_needs_its_address_and_a_unique_name(login, make_supplier):
    c = login("manager")
    resp = c.post("/dropship/suppliers/new", data=supplier_form(kind="sandbox", base_url=""))
    assert resp.status_code == 422 and "Give the address of the supplier's API" in text(resp)
    make_supplier(name="Taken")
    resp = c.post("/dropship/suppliers/new", data=supplier_form(name="Taken"))
    assert resp.status_code == 422 and "Another supplier is already called “Taken”." in text(resp)


def test_a_supplier_is_saved_and_its_token_is_never_shown_back(login):
    c = login("manager")
    resp = c.post("/dropship/suppliers/new", data=supplier_form(api_key=TOKEN))
    supplier = saved()
    assert resp.status_code == 303
    assert location(resp)[0] == f"/dropship/suppliers/{supplier.id}"
    assert supplier.settings == DEFAULT_SETTINGS and supplier.api_key == TOKEN
    assert supplier.default_shipping_method == "Standard" and supplier.edit_before_submit
    page = c.get(f"/dropship/suppliers/{supplier.id}")
    assert TOKEN not in text(page) and TOKEN[-4:] not in text(page)
    assert "A token is stored. Leave empty to keep it." in text(page)
    # Empty keeps it; ticking "remove" clears it; never in the audit trail.
    c.post(f"/dropship/suppliers/{supplier.id}", data=supplier_form(poll_interval_minutes="15"))
    assert saved().api_key == TOKEN and saved().poll_interval_minutes == 15
    c.post(f"/dropship/suppliers/{supplier.id}", data=supplier_form(clear_api_key="y"))
    assert saved().api_key is None
    notes = " ".join(db.session.scalars(select(AuditEvent.note)))
    assert "API token cleared" in notes and TOKEN not in notes


def test_unticked_boxes_switch_a_supplier_off_and_lock_pending_orders(login, make_supplier):
    supplier = make_supplier(name="Atlas Wholesale", kind="http_json",
                             base_url="https://api.atlas.example/v1")
    login("manager").post(f"/dropship/suppliers/{supplier.id}",
                          data=supplier_form(active=None, edit_before_submit=None))
    again = saved()
    assert again.active is False and again.edit_before_submit is False


def test_a_csv_supplier_keeps_a_drop_url_it_can_post_to(login):
    c = login("manager")
    resp = c.post("/dropship/suppliers/new", data=supplier_form(
        kind="csv", base_url="", drop_url="ftp://files.atlas.example"))
    assert resp.status_code == 422 and "drop_url is an https:// address" in text(resp)
    c.post("/dropship/suppliers/new", data=supplier_form(
        kind="csv", base_url="", drop_url="https://files.atlas.example/drop"))
    assert saved().settings == {"drop_url": "https://files.atlas.example/drop"}


# --- SKU mappings ----------------------------------------------------------------------------


@pytest.fixture
def atlas(make_supplier):
    """A CSV supplier."""
    return make_supplier(name="Atlas Files", kind="csv", default_shipping_method="Standard")


def mapping_of(supplier, sku: str) -> SupplierSku | None:
    """The supplier's mapping of one of our SKUs."""
    db.session.rollback()
    return db.session.scalar(select(SupplierSku).join(SupplierSku.product).where(
        SupplierSku.supplier_id == supplier.id, SupplierSku.product.has(sku=sku)))


def test_a_sku_mapping_is_added_changed_and_deleted_in_place(login, atlas, make_product):
    make_product(sku="WATCH-X8", stock=0)
    c = login("manager")
    url = f"/dropship/suppliers/{atlas.id}/skus"
    resp = c.post(url, htmx=True, data={"sku": "NOPE", "supplier_sku": "ATL-1", "cost": "12"})
    assert resp.status_code == 422 and "No product has the SKU “NOPE” in the catalogue." \
        in text(resp)
    assert 'value="NOPE"' in resp.get_data(as_text=True)  # kept, to be corrected
    resp = c.post(url, htmx=True, data={"sku": "WATCH-X8", "supplier_sku": "ATL-SW-X8U",
                                        "cost": "129,50"})
    assert resp.status_code == 200 and '<section id="sku-mappings"' in text(resp)
    assert 'data-sku="WATCH-X8"' in text(resp)
    mapping = mapping_of(atlas, "WATCH-X8")
    assert (mapping.supplier_sku, mapping.cost_cents) == ("ATL-SW-X8U", 12950)
    resp = c.post(url, htmx=True, data={"sku": "WATCH-X8", "supplier_sku": "ATL-SW-X9",
                                        "cost": "abc"})
    assert resp.status_code == 422 and "Cost “abc” is not an amount" in text(resp)
    c.post(url, htmx=True, data={"sku": "WATCH-X8", "supplier_sku": "ATL-SW-X9", "cost": "99"})
    assert mapping_of(atlas, "WATCH-X8").supplier_sku == "ATL-SW-X9"
    resp = c.post(f"{url}/{mapping.id}/delete", htmx=True)
    assert resp.status_code == 200 and mapping_of(atlas, "WATCH-X8") is None
    assert "No SKU mapped yet" in text(resp)


def test_sku_mappings_can_be_searched(login, atlas, make_product):
    for sku in ("WATCH-X8", "MASSAGE-GUN"):
        product = make_product(sku=sku, stock=0)
        db.session.add(SupplierSku(supplier_id=atlas.id, product_id=product.id,
                                   supplier_sku=f"ATL-{sku}"))
    db.session.commit()
    resp = login("manager").hx_get(f"/dropship/suppliers/{atlas.id}/skus?q=mass")
    assert 'data-sku="MASSAGE-GUN"' in text(resp) and 'data-sku="WATCH-X8"' not in text(resp)


def test_a_sku_mapping_file_applies_valid_rows_and_reports_each_refused_one(
        login, atlas, make_product):
    for sku in ("WATCH-X8", "MASSAGE-GUN", "BLENDER"):
        make_product(sku=sku, stock=0)
    blender = mapping_of(atlas, "BLENDER")
    assert blender is None
    c = login("manager")
    c.post(f"/dropship/suppliers/{atlas.id}/skus", htmx=True,
           data={"sku": "BLENDER", "supplier_sku": "ATL-OLD", "cost": "10"})
    # A French Excel export: semicolons, Windows-1252, French headers.
    body = ("Produit;Référence fournisseur;Coût;Mode de livraison\r\n"
            "WATCH-X8;ATL-SW-X8U;129,50;Express\r\n"
            "BLENDER;ATL-BL-HOT2;45.00;\r\n"
            "TÉLÉ-99;ATL-TV;10;\r\n"
            "MASSAGE-GUN;;210;\r\n"
            "MASSAGE-GUN;ATL-MG-PRO;deux cents;\r\n"
            "WATCH-X8;ATL-AGAIN;1;\r\n").encode("cp1252")
    resp = c.post(f"/dropship/suppliers/{atlas.id}/skus/upload", htmx=True,
                  data=upload(body, "mappings.csv"), content_type="multipart/form-data")
    assert resp.status_code == 200
    assert "mappings.csv: 1 added, 1 updated, 0 unchanged, 4 refused." in words(resp)
    refused = {int(line): words_ for line, words_ in re.findall(
        r'<tr data-line="(\d+)">(.*?)</tr>', text(resp), re.S)}
    assert sorted(refused) == [4, 5, 6, 7]
    assert "SKU “TÉLÉ-99” is not in the catalogue." in refused[4]
    assert "The supplier SKU is empty." in refused[5]
    assert "Cost “deux cents” is not an amount" in refused[6]
    assert "SKU WATCH-X8 is already on line 2" in refused[7]
    watch = mapping_of(atlas, "WATCH-X8")
    assert (watch.supplier_sku, watch.cost_cents, watch.shipping_method) == (
        "ATL-SW-X8U", 12950, "Express")
    assert mapping_of(atlas, "BLENDER").supplier_sku == "ATL-BL-HOT2"
    assert mapping_of(atlas, "MASSAGE-GUN") is None
    assert 'id="sku-mappings" hx-swap-oob="true"' in text(resp)  # the table, refreshed


@pytest.mark.parametrize("body, name, message", [
    (b"PK\x03\x04 not a csv", "mappings.xlsx", "is not a CSV file"),
    (b"sku,cost\nWATCH-X8,12\n", "mappings.csv", "Missing columns: supplier_sku."),
    (b"sku,supplier_sku\n", "mappings.csv", "The file has no rows under its header."),
])
def test_an_unreadable_mapping_file_changes_nothing(login, atlas, body, name, message):
    resp = login("manager").post(f"/dropship/suppliers/{atlas.id}/skus/upload", htmx=True,
                                 data=upload(body, name), content_type="multipart/form-data")
    assert resp.status_code == 422 and message in text(resp)
    assert "Nothing was changed." in text(resp)
    assert db.session.scalar(select(func.count()).select_from(SupplierSku)) == 0


# --- shipping mappings -----------------------------------------------------------------------


def test_shipping_mappings_are_matched_folded_and_can_be_deleted(login, atlas):
    c = login("manager")
    url = f"/dropship/suppliers/{atlas.id}/shipping"
    resp = c.post(url, htmx=True, data={"rate_name": "Livraison Gratuite", "method": ""})
    assert resp.status_code == 422 and "Give the supplier's shipping method" in text(resp)
    c.post(url, htmx=True, data={"rate_name": "Livraison Gratuite", "method": "UPS Ground"})
    resp = c.post(url, htmx=True, data={"rate_name": "livraison  gratuite", "method": "DHL"})
    assert resp.status_code == 200 and 'data-rate="livraison gratuite"' in text(resp)
    db.session.rollback()
    mapping = db.session.scalar(select(ShippingMapping))
    assert (mapping.rate_key, mapping.method) == ("livraison gratuite", "DHL")
    assert db.session.scalar(select(func.count()).select_from(ShippingMapping)) == 1
    resp = c.post(f"{url}/{mapping.id}/delete", htmx=True)
    assert "No rate mapped" in text(resp)
    assert db.session.scalar(select(func.count()).select_from(ShippingMapping)) == 0


# --- a file supplier's files ------------------------------------------------------------------


def processed(login, run_jobs, make_supplier_order, supplier, count: int = 2):
    """`count` supplier orders of a CSV supplier, processed: they went out in one file."""
    orders = [make_supplier_order("pending", supplier=supplier) for _ in range(count)]
    login("operator").post("/dropship/process", htmx=True,
                           data={"ids": [str(so.id) for so in orders]})
    run_jobs()
    return orders


def test_a_purchase_file_is_listed_and_downloading_it_is_noted(login, run_jobs, atlas,
                                                               make_supplier_order):
    orders = processed(login, run_jobs, make_supplier_order, atlas)
    c = login("manager")
    page = c.get(f"/dropship/suppliers/{atlas.id}").get_data(as_text=True)
    file = db.session.scalar(select(SupplierFile))
    assert f'data-file="{file.id}"' in page and "not yet" in page
    resp = c.post(f"/dropship/suppliers/{atlas.id}/files/{file.id}/download")
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    assert f'filename="{file.name}"' in resp.headers["Content-Disposition"]
    body = resp.get_data(as_text=True)
    assert all(so.reference in body for so in orders)
    db.session.rollback()
    assert db.session.get(SupplierFile, file.id).downloaded_at is not None
    assert c.get(f"/dropship/suppliers/{atlas.id}/files/{file.id}/download").status_code == 405


def test_a_status_file_ships_with_tracking_and_reports_every_row(
        login, run_jobs, atlas, make_supplier_order, make_supplier):
    first, second = processed(login, run_jobs, make_supplier_order, atlas)
    waiting = make_supplier_order("pending", supplier=atlas)
    elsewhere = make_supplier_order("submitted")  # another supplier's order
    body = ("reference;statut;numéro de suivi;transporteur;motif\n"
            f"{first.reference};expédié;SBX 0000 0001;Sandbox Express;\n"
            f"{second.reference};accepté;;;\n"
            f"{first.reference};shipped;SBX00000001;;\n"
            "#999999-999999;shipped;SBX9;;\n"
            f"{elsewhere.reference};accepted;;;\n"
            f"{waiting.reference};shipped;SBX00000002;;\n"
            f"{second.reference};lost;;;\n").encode()
    resp = login("manager").post(f"/dropship/suppliers/{atlas.id}/status-file", htmx=True,
                                 data=upload(body, "status.csv"),
                                 content_type="multipart/form-data")
    assert resp.status_code == 200
    assert "status.csv: 2 applied, 1 without change, 4 refused." in words(resp)
    results = re.findall(r'<tr data-result="(\w+)" data-reference="([^"]*)">', text(resp))
    assert results == [("refused", ""), ("applied", first.reference),
                       ("applied", second.reference), ("no_change", first.reference),
                       ("refused", "#999999-999999"), ("refused", elsewhere.reference),
                       ("refused", waiting.reference)]
    report = words(resp)
    assert "line 8" in report and "Status “lost” is not one we know" in report
    assert f"#999999-999999 is not an order of {atlas.name}" in report
    assert f"{elsewhere.reference} is not an order of {atlas.name}" in report
    assert f"{waiting.reference} is Pending: it cannot become Shipped." in report
    shipped = stored(first.id)
    assert shipped.status == "shipped" and shipped.tracking_number == "SBX00000001"
    parcel = db.session.scalar(select(Parcel).where(Parcel.supplier_order_id == first.id))
    assert parcel.tracking_number == "SBX00000001"
    assert stored(second.id).status == "accepted"
    assert stored(waiting.id).status == "pending" and stored(waiting.id).answered_at is None
    assert stored(elsewhere.id).status == "submitted"


def test_a_status_file_for_a_supplier_without_files_is_refused(login, make_supplier):
    api = make_supplier(name="Atlas API", kind="sandbox", base_url="http://127.0.0.1:9")
    resp = login("manager").post(f"/dropship/suppliers/{api.id}/status-file", htmx=True,
                                 data=upload(b"reference,status\n#1-1,shipped\n"),
                                 content_type="multipart/form-data")
    assert resp.status_code == 422 and "sends no status files" in text(resp)


# --- the channel's dropship processing ----------------------------------------------------------


def channel_form(**overrides) -> dict:
    """A channel form fed by people (no shop to call), as a browser posts it."""
    data = {"name": "Souk", "code": "souk", "kind": "manual", "active": "y",
            "forwarding": "always", "forward_when": "committed", "confirm_by": "agent",
            "default_carrier_id": "", "dropship_process": "managed"}
    data.update(overrides)
    return data


def test_a_channel_saves_how_its_dropship_orders_are_processed(login):
    c = login("manager")
    page = text(c.get("/settings/channels/new"))
    assert "Dropship processing" in page
    for label in ("Off", "Managed", "Always"):
        assert re.search(rf'value="{label.lower()}"> <span>{label} <small', page)
    assert re.search(r'<input checked [^>]*value="off">', page)  # the default
    resp = c.post("/settings/channels/new", data=channel_form())
    assert resp.status_code == 303
    db.session.rollback()
    channel = db.session.scalar(select(Channel).where(Channel.code == "souk"))
    assert channel.dropship_process == "managed"
    edit = text(c.get(f"/settings/channels/{channel.id}"))
    assert re.search(r'<input checked [^>]*value="managed">', edit)
    resp = c.post(f"/settings/channels/{channel.id}", data=channel_form(
        dropship_process="sometimes"))
    assert resp.status_code == 422
    db.session.rollback()
    assert db.session.get(Channel, channel.id).dropship_process == "managed"
