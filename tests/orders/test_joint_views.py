"""Joint purchase pages: the list with filters and exports, starting one with a preview of the registered need,
its page with participants and cost split, editing a draft, ordering, cancelling, and who may do what."""
from __future__ import annotations

from sqlalchemy import select

from orders.models import JointPurchase, JointPurchaseStatus, OrderStatus, PurchaseOrder
from tests.conftest import organisation
from tests.orders.factories import make_approved_supplier, make_user, warehouse
from tests.orders.joint_factories import category, open_period, participant, report_need, start


def _officer_with_purchase(session, code: str = "REG-03", **kwargs):
    period = open_period(session)
    report_need(session, period, "0380", 12_000)
    report_need(session, period, "0381", 3_000)
    officer = make_user(session, "purchasing_officer", code)
    purchase = start(session, officer, **kwargs)
    session.commit()
    return officer, purchase


def test_the_list_shows_the_purchases_in_scope_with_filters_and_exports(session, client, auth):
    officer, purchase = _officer_with_purchase(session)
    other = start(session, make_user(session, "purchasing_officer", "REG-14"), county_code="14", title="Handskar Väst")
    session.commit()
    auth.login(officer)

    page = client.get("/orders/joint/")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert purchase.reference in text and "FFP2 för länet" in text and other.reference not in text
    assert "Start a joint purchase" in text
    assert client.get("/orders/joint/?status=cancelled").get_data(as_text=True).count(purchase.reference) == 0

    csv = client.get("/orders/joint/?format=csv")
    assert csv.mimetype == "text/csv" and purchase.reference in csv.get_data(as_text=True)
    xlsx = client.get("/orders/joint/?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_the_county_filter_finds_purchases_with_participants_in_the_county(session, client, auth):
    agency = make_user(session, "purchasing_officer", "SOS")
    national = start(session, agency, recipients="picked", county_code=None, title="Nationellt",
                     organisation_ids=[organisation("0380").id, organisation("1480").id])
    stockholm = start(session, agency, county_code="01", title="Stockholm")
    session.commit()
    auth.login(agency)
    text = client.get("/orders/joint/?county=14").get_data(as_text=True)
    assert national.reference in text and stockholm.reference not in text


def test_a_participant_reads_the_purchase_but_cannot_change_it(session, client, auth):
    _officer, purchase = _officer_with_purchase(session)
    reporter = make_user(session, "reporter", "0380")
    bystander = make_user(session, "reporter", "1480")
    session.commit()
    auth.login(reporter)
    assert purchase.reference in client.get("/orders/joint/").get_data(as_text=True)
    page = client.get(f"/orders/joint/{purchase.id}")
    assert page.status_code == 200 and "Edit participants" not in page.get_data(as_text=True)
    assert client.get(f"/orders/joint/{purchase.id}/edit").status_code == 403
    auth.logout()
    auth.login(bystander)
    assert client.get(f"/orders/joint/{purchase.id}").status_code == 404


def test_the_new_page_previews_the_registered_need_and_flags_missing_reports(session, client, auth):
    period = open_period(session)
    report_need(session, period, "0380", 12_000)
    officer = make_user(session, "purchasing_officer", "REG-03")
    session.commit()
    auth.login(officer)
    assert client.get("/orders/joint/new").status_code == 200
    page = client.post("/orders/joint/new", data={
        "category_id": category(session).id, "recipients": "county_municipalities", "county_code": "03",
        "source": "register", "cost_split": "by_quantity", "preview": "1",
    })
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "12,000" in text and "No current report" in text
    assert "7 participants have no current report" in text
    assert session.scalar(select(JointPurchase.id)) is None


def test_creating_a_purchase_from_the_register_opens_its_page(session, client, auth):
    period = open_period(session)
    report_need(session, period, "0380", 12_000)
    officer = make_user(session, "purchasing_officer", "REG-03")
    session.commit()
    auth.login(officer)
    response = client.post("/orders/joint/new", data={
        "title": "FFP2 Uppsala", "category_id": category(session).id, "recipients": "county", "county_code": "03",
        "source": "register", "cost_split": "by_quantity", "create": "1",
    })
    purchase = session.scalar(select(JointPurchase))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/orders/joint/{purchase.id}")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert purchase.reference in page and "Region Uppsala" in page and "Uppsala kommun" in page
    assert "100.0000 %" in page  # the only participant with a need takes the whole cost


def test_a_region_asking_for_every_region_is_told_why_beside_the_field(session, client, auth):
    officer = make_user(session, "purchasing_officer", "REG-03")
    session.commit()
    auth.login(officer)
    response = client.post("/orders/joint/new", data={
        "title": "Alla regioner", "category_id": category(session).id, "recipients": "regions",
        "source": "register", "cost_split": "by_quantity", "create": "1",
    })
    assert response.status_code == 422
    assert "only for organisations in its own county" in response.get_data(as_text=True)


def test_a_purchase_by_hand_opens_the_edit_page_where_quantities_are_entered(session, client, auth):
    officer = make_user(session, "purchasing_officer", "REG-03")
    session.commit()
    auth.login(officer)
    response = client.post("/orders/joint/new", data={
        "title": "Visir", "category_id": category(session, "eye_protection").id, "recipients": "picked",
        "organisation_ids": [organisation("0380").id, organisation("0381").id],
        "source": "manual", "cost_split": "equal", "create": "1",
    })
    purchase = session.scalar(select(JointPurchase))
    assert response.headers["Location"].endswith(f"/orders/joint/{purchase.id}/edit")
    rows = sorted(purchase.participants, key=lambda p: p.organisation.municipality_code)
    response = client.post(f"/orders/joint/{purchase.id}/edit", data={
        "title": "Visir", "cost_split": "equal", "notes": "",
        "participants-0-organisation_id": rows[0].organisation_id, "participants-0-quantity": "1 500",
        "participants-1-organisation_id": rows[1].organisation_id, "participants-1-quantity": "0",
        "add_organisation_ids": [organisation("0382").id],
    })
    assert response.status_code == 302
    session.expire_all()
    assert participant(purchase, "0380").quantity == 1_500
    assert participant(purchase, "0381").quantity == 0
    assert participant(purchase, "0382").quantity == 0


def test_a_quantity_that_is_not_a_number_is_shown_again_beside_its_row(session, client, auth):
    officer, purchase = _officer_with_purchase(session)
    auth.login(officer)
    first = min(purchase.participants, key=lambda p: p.id)
    response = client.post(f"/orders/joint/{purchase.id}/edit", data={
        "title": purchase.title, "cost_split": "by_quantity",
        "participants-0-organisation_id": first.organisation_id, "participants-0-quantity": "many",
    })
    assert response.status_code == 422 and "Enter a whole number" in response.get_data(as_text=True)


def test_ordering_from_the_page_drafts_the_order_and_the_page_shows_the_amounts(session, client, auth):
    officer, purchase = _officer_with_purchase(session)
    supplier = make_approved_supplier(session)
    session.commit()
    auth.login(officer)
    assert client.get(f"/orders/joint/{purchase.id}/order").status_code == 200
    product_id = session.scalar(select(JointPurchase.product_id)) or _ffp2(session)
    response = client.post(f"/orders/joint/{purchase.id}/order", data={
        "supplier_id": supplier.id, "product_id": product_id, "unit_price": "4,50", "currency": "SEK",
        "order_date": "2026-03-02", "due_on": "2026-03-16", "delivery": "warehouse",
        "warehouse_id": warehouse(session).id, "incoterm": "", "incoterm_place": "", "payment_terms": "30 dagar netto",
    })
    assert response.status_code == 302
    order = session.scalar(select(PurchaseOrder).where(PurchaseOrder.joint_purchase_id == purchase.id))
    assert order.status == OrderStatus.DRAFT and order.lines[0].quantity == 15_000
    session.expire_all()
    assert session.get(JointPurchase, purchase.id).status == JointPurchaseStatus.ORDERED
    page = client.get(f"/orders/joint/{purchase.id}").get_data(as_text=True)
    assert order.number in page
    assert "54,000.00 kr" in page and "13,500.00 kr" in page and "67,500.00 kr" in page
    assert "80.0000 %" in page and "20.0000 %" in page
    again = client.get(f"/orders/joint/{purchase.id}/order")
    assert again.status_code == 302


def _ffp2(session):
    from app.catalog.models import Product

    return session.scalar(select(Product.id).where(Product.sku == "FFP2-CUP"))


def test_an_order_form_with_a_bad_supplier_choice_keeps_the_purchase_a_draft(session, client, auth):
    officer, purchase = _officer_with_purchase(session)
    auth.login(officer)
    response = client.post(f"/orders/joint/{purchase.id}/order", data={
        "supplier_id": "", "product_id": _ffp2(session), "unit_price": "4,50", "currency": "SEK",
        "order_date": "2026-03-02", "due_on": "2026-03-16", "delivery": "direct",
    })
    assert response.status_code == 422
    session.expire_all()
    assert session.get(JointPurchase, purchase.id).status == JointPurchaseStatus.DRAFT


def test_cancelling_a_draft_from_its_page(session, client, auth):
    officer, purchase = _officer_with_purchase(session)
    auth.login(officer)
    response = client.post(f"/orders/joint/{purchase.id}/cancel")
    assert response.status_code == 302
    session.expire_all()
    assert session.get(JointPurchase, purchase.id).status == JointPurchaseStatus.CANCELLED
    assert client.get(f"/orders/joint/{purchase.id}/edit").status_code == 302


def test_reading_the_need_again_from_the_page(session, client, auth):
    officer, purchase = _officer_with_purchase(session)
    report_need(session, open_period(session), "0382", 800)
    session.commit()
    auth.login(officer)
    assert client.post(f"/orders/joint/{purchase.id}/refresh-need").status_code == 302
    session.expire_all()
    assert participant(session.get(JointPurchase, purchase.id), "0382").quantity == 800


def test_the_navigation_offers_joint_purchases_to_those_who_read_them(session, client, auth):
    reporter = make_user(session, "reporter", "0380")
    session.commit()
    auth.login(reporter)
    assert 'href="/orders/joint/"' in client.get("/orders/joint/").get_data(as_text=True)
