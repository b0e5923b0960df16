"""The stock pages: national stock per product and state, lots, locations, the ledger, CSV and adjustments,
each limited to the viewer's scope."""
from __future__ import annotations

from datetime import date

import pytest

from app.stock import ledger
from app.stock.ledger import DocumentRef
from app.stock.models import StockState
from tests.conftest import organisation


@pytest.fixture
def stocked(session, clerk, mitt, syd, stockholm, product, make_lot):
    """FFP stock at both warehouses and in Stockholm; Göteborg holds some too."""
    lot = make_lot("LOT-A1", date(2027, 5, 31))
    po = DocumentRef("purchase_order_receipt", 1, "PO-2026-00042")
    ledger.receive(session, clerk, location=mitt, product=product, quantity=1200, lot=lot, document=po)
    ledger.release(session, clerk, location=mitt, product=product, quantity=1000, lot=lot, document=po)
    ledger.reserve(session, clerk, location=mitt, product=product, quantity=300, lot=lot)
    ledger.receive(session, clerk, location=syd, product=product, quantity=40, state=StockState.AVAILABLE)
    ledger.receive(session, clerk, location=stockholm, product=product, quantity=77, state=StockState.AVAILABLE,
                   document=DocumentRef("opening_stock", reference="OPEN-0180"))
    goteborg = ledger.location_for_organisation(session, organisation("1480"))
    ledger.receive(session, clerk, location=goteborg, product=product, quantity=55, state=StockState.AVAILABLE,
                   document=DocumentRef("opening_stock", reference="OPEN-1480"))
    session.commit()
    return {"lot": lot, "goteborg": goteborg}


def page(client, auth, user, url: str):
    auth.login(user)
    return client.get(url)


def test_the_national_coordinator_sees_national_stock_per_state(client, auth, clerk, stocked, product):
    response = page(client, auth, clerk, "/stock/")

    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert product.sku in text
    # 740 available (700 at Mitt, 40 at Syd), 200 in quarantine, 300 reserved: municipalities' stock is not
    # national stock.
    for figure in ("740", "200", "300", "1,240"):
        assert figure in text


def test_the_stock_overview_exports_csv(client, auth, clerk, stocked, product):
    response = page(client, auth, clerk, "/stock/?format=csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = [line.split(";") for line in response.get_data(as_text=True).lstrip("\ufeff").splitlines()]
    header, [row] = rows[0], rows[1:]
    assert header[:4] == ["Article number", "Product", "Category", "Available"]
    assert row[0] == product.sku and row[3:8] == ["740", "200", "300", "0", "0"] and row[-1] == "1240"


def test_the_overview_can_show_one_location_or_every_one(client, auth, clerk, stocked, stockholm, product):
    one = page(client, auth, clerk, f"/stock/?where={stockholm.id}&format=csv").get_data(as_text=True)
    every = client.get("/stock/?where=everywhere&format=csv").get_data(as_text=True)
    default = client.get("/stock/").get_data(as_text=True)

    assert one.splitlines()[1].split(";")[3] == "77"
    assert every.splitlines()[1].split(";")[3] == str(740 + 77 + 55)
    assert '<option value="national" selected>' in default


def test_a_products_page_lists_its_lots_with_expiry_per_location(client, auth, clerk, stocked, product, mitt):
    text = page(client, auth, clerk, f"/stock/products/{product.id}").get_data(as_text=True)

    assert "LOT-A1" in text and "2027-05-31" in text
    assert mitt.name in text and "Nationellt lager Syd" in text and "Göteborg" in text


def test_a_municipality_sees_only_its_own_stock(client, auth, users, stocked, product, mitt, stockholm):
    reporter = users.make("reporter", "0180")

    overview = page(client, auth, reporter, "/stock/?format=csv").get_data(as_text=True)
    assert overview.splitlines()[1].split(";")[3] == "77"
    product_page = client.get(f"/stock/products/{product.id}").get_data(as_text=True)
    assert stockholm.name in product_page and "LOT-A1" not in product_page and "Göteborg" not in product_page
    assert client.get(f"/stock/locations/{stockholm.id}").status_code == 200
    assert client.get(f"/stock/locations/{mitt.id}").status_code == 404
    assert client.get(f"/stock/locations/{stocked['goteborg'].id}").status_code == 404
    ledger_rows = client.get("/stock/movements?format=csv").get_data(as_text=True).splitlines()[1:]
    assert [row.split(";")[8] for row in ledger_rows] == ["OPEN-0180"]


def test_a_county_board_sees_its_countys_organisations_and_not_others(client, auth, users, stocked, stockholm):
    coordinator = users.make("county_coordinator", "LST-01")

    assert page(client, auth, coordinator, f"/stock/locations/{stockholm.id}").status_code == 200
    assert client.get(f"/stock/locations/{stocked['goteborg'].id}").status_code == 404
    overview = client.get("/stock/?format=csv").get_data(as_text=True)
    assert overview.splitlines()[1].split(";")[3] == "77"


def test_the_ledger_filters_by_product_and_kind(client, auth, clerk, stocked, product, products):
    text = page(client, auth, clerk, f"/stock/movements?product={product.id}&kind=reservation&format=csv")
    rows = text.get_data(as_text=True).splitlines()[1:]
    assert len(rows) == 1 and ";300;" in rows[0]
    assert page(client, auth, clerk, f"/stock/movements?product={products[1].id}&format=csv").get_data(
        as_text=True
    ).splitlines()[1:] == []
    html = client.get("/stock/movements?q=PO-2026").get_data(as_text=True)
    assert "PO-2026-00042" in html and "OPEN-1480" not in html


def test_only_the_national_coordinator_may_adjust_stock(client, auth, users):
    officer = users.make("purchasing_officer")
    assert page(client, auth, officer, "/stock/adjust").status_code == 403
    assert page(client, auth, officer, "/stock/").status_code == 200


def adjustment(location, product, **changes) -> dict:
    form = {
        "location_id": location.id,
        "product_id": product.id,
        "lot_number": "",
        "state": "available",
        "direction": "remove",
        "quantity": "5",
        "reason": "Stocktaking 3 March: 5 fewer than recorded",
    }
    form.update(changes)
    return form


def test_an_adjustment_is_booked_with_its_reason(client, auth, session, clerk, stocked, syd, product):
    auth.login(clerk)

    response = client.post("/stock/adjust", data=adjustment(syd, product))

    assert response.status_code == 302 and response.headers["Location"].endswith(f"/stock/locations/{syd.id}")
    assert ledger.balance(session, location=syd, product=product) == 35
    [movement] = ledger.movements(session, location=syd, kinds=["adjustment"])
    assert (movement.quantity, movement.user_id, movement.from_location_id) == (5, clerk.id, syd.id)
    assert movement.reason == "Stocktaking 3 March: 5 fewer than recorded"


def test_an_adjustment_without_a_reason_or_beyond_the_stock_is_shown_again(
    client, auth, session, clerk, stocked, syd, mitt, product
):
    auth.login(clerk)

    no_reason = client.post("/stock/adjust", data=adjustment(syd, product, reason=""))
    too_many = client.post("/stock/adjust", data=adjustment(syd, product, quantity="41"))
    unknown_lot = client.post("/stock/adjust", data=adjustment(mitt, product, lot_number="NOPE"))

    assert no_reason.status_code == 422 and "Say why the stock is adjusted." in no_reason.get_data(as_text=True)
    assert too_many.status_code == 422
    assert "40 there, 41 requested" in too_many.get_data(as_text=True)
    assert unknown_lot.status_code == 422 and "There is no lot NOPE" in unknown_lot.get_data(as_text=True)
    assert ledger.balance(session, location=syd, product=product) == 40
    assert ledger.movements(session, kinds=["adjustment"]) == []


def test_the_adjustment_form_is_prefilled_from_a_stock_row(client, auth, clerk, stocked, mitt, product):
    text = page(client, auth, clerk, f"/stock/adjust?location_id={mitt.id}&product_id={product.id}&lot=LOT-A1")
    html = text.get_data(as_text=True)
    assert f'<option selected value="{mitt.id}">' in html and 'value="LOT-A1"' in html
