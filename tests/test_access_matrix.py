"""The role × scope matrix: every registered route, every role, at every kind of organisation.

For each route the test checks that its view declares its access (require / login_required / public), that
anonymous users are sent to the login page, that roles without the permission get 403, that roles with it
get a working page for an object in their scope, and 404 for the same kind of object outside their scope.
API routes (access "api_token") take bearer tokens only: they answer 401 to anonymous users and cookie sessions.
A new route whose URL parameter this file does not know fails the test until a resolver is added below.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import url_for
from sqlalchemy import select

from allocation.api import API_TOKEN
from app.auth.access import AUTHENTICATED, PUBLIC
from app.auth.roles import ROLE_ORGANISATION_KINDS, Role, permissions_of
from app.extensions import db
from app.organisations.models import OrganisationKind
from tests.conftest import PASSWORD, organisation

# One representative organisation per kind; every non-national one lies in Stockholm county (01) so that
# Göteborg (1480, county 14) is outside every non-national scope.
HOME_BY_KIND = {
    OrganisationKind.AGENCY: "SOS",
    OrganisationKind.GOVERNMENT: "RK-S",
    OrganisationKind.COUNTY_BOARD: "LST-01",
    OrganisationKind.REGION: "REG-01",
    OrganisationKind.MUNICIPALITY: "0180",
}
OUTSIDE = "1480"
# Routes whose POST would end the session or switch state the matrix relies on; they are exercised
# directly in their own tests.
SKIP_POST = {"auth.logout", "auth.login", "main.set_language"}

CASES = [
    (role, kind)
    for role in Role
    for kind in OrganisationKind
    if kind in ROLE_ORGANISATION_KINDS[role]
]


@dataclass
class World:
    """Objects the URL parameters point at: one set the acting user may see, one set outside its scope."""

    user: object
    outsider: object

    def resolve(self, name: str, in_scope: bool):
        """The value for URL parameter ``name``, or None when no out-of-scope object can exist for it."""
        owner = self.user if in_scope else self.outsider
        national = self.user.organisation.is_national
        if name == "organisation_id":
            if not in_scope and national:
                return None
            return owner.organisation_id
        if name == "user_id":
            if not in_scope and national:
                return None
            return owner.id
        if name == "product_id":
            from app.catalog.models import Product

            return db.session.scalar(select(Product.id).order_by(Product.id)) if in_scope else None
        if name == "job_id":
            from app.scheduling.registry import JOBS

            return min(JOBS) if in_scope else None
        if name == "message_id":
            if not in_scope and national:
                return None
            return _message_for(owner)
        if name == "notice_id":
            # A notice is only ever its owner's: someone else's is out of scope for everyone.
            return _notice_for(owner)
        if name == "entry_id":
            if not in_scope and national:
                return None
            return _audit_entry_by(owner)
        if name == "fmt":
            # A file format (report template csv/xlsx); not an object, so nothing is out of scope.
            return "xlsx" if in_scope else None
        if name == "county_code":
            # National users see every county; the others their own (the outsider's, 14, is outside it).
            if national:
                return "01" if in_scope else None
            return owner.organisation.county_code
        if name == "category_id":
            from app.catalog.models import ProductCategory

            return db.session.scalar(select(ProductCategory.id).order_by(ProductCategory.id)) if in_scope else None
        if name in ("report_id", "version_id"):
            # A situation report (and its version) of an organisation in scope; the outsider's is outside.
            if not in_scope and national:
                return None
            report = _report_seen_by(owner)
            return report.id if name == "report_id" else report.versions[-1].id
        if name == "period_id":
            # Reporting periods are national: everyone sees them all.
            return _report_seen_by(self.user).period_id if in_scope else None
        if name == "token_id":
            # An API token of a reporting organisation in scope; the outsider's (Göteborg's) is outside.
            if not in_scope and national:
                return None
            return _token_of(_report_seen_by(owner).organisation_id)
        if name in PRODUCTION_PARAMETERS:
            # Production projects are national: everyone who reads them reads them all.
            return _production_row(name) if in_scope else None
        if name in ("dialogue_entry_id", "action_id"):
            # The dialogue log is national too: a follow-up action (owned by the acting user) and its entry.
            return _dialogue_row(name, self.user) if in_scope else None
        if name in REGISTRY_PARAMETERS:
            # The supplier registry is national: everyone who reads it reads it all.
            return _registry_row(name) if in_scope else None
        if name in CERTIFICATE_PARAMETERS:
            # Suppliers' models, certificates, documents and offers are national too.
            return _certificate_row(name) if in_scope else None
        if name == "location_id":
            # A stock location: a national warehouse for national users, else the organisation's own; the
            # outsider's (Göteborg's) is outside every non-national scope.
            if not in_scope and national:
                return None
            return _stock_location_of(owner)
        if name in RECEIVING_PARAMETERS:
            # A sent order's open delivery, a pending goods receipt of it and an incoming supply, bought by and
            # delivered to the acting user's organisation (a municipality of its county for a county board,
            # the agency and a national warehouse for national users); the outsider's are outside every
            # non-national scope.
            if not in_scope and national:
                return None
            return _receiving_row(name, owner)
        if name in ORDER_PARAMETERS:
            # A draft purchase order bought by the acting user's organisation (as for receiving), and its first
            # version; the outsider's (Göteborg's) is outside every non-national scope.
            if not in_scope and national:
                return None
            return _order_row(name, owner)
        if name in EU_PARAMETERS:
            # EU joint procurement is national: everyone who reads it reads it all.
            return _eu_row(name) if in_scope else None
        if name == "joint_purchase_id":
            # A draft joint purchase led by the acting user's buying organisation (as for orders) for itself, or
            # by the agency for Stockholm; the outsider's (Göteborg's) is outside every non-national scope.
            if not in_scope and national:
                return None
            return _joint_purchase_of(owner)
        if name == "round_id":
            # A decided allocation round with a line to an organisation the acting user sees (its own, else a
            # municipality of its county, Stockholm's for national users); the outsider's (Göteborg's) is
            # outside every non-national scope.
            if not in_scope and national:
                return None
            return _round_for(owner)
        if name == "request_id":
            # A waiting request for national allocation of the county of an organisation the acting user sees,
            # with a line for it (as for rounds); the outsider's (Göteborg's, county 14) is outside every
            # non-national scope.
            if not in_scope and national:
                return None
            return _national_request_for(owner)
        if name in SHIPMENT_PARAMETERS:
            # A dispatched shipment with an open follow-up to an organisation the acting user sees (as for
            # rounds), sent by its county board for county users; the outsider's (Göteborg's) is outside every
            # non-national scope.
            if not in_scope and national:
                return None
            return _shipment_row(name, owner)
        if name in REDISTRIBUTION_PARAMETERS:
            # A draft county proposal with a transfer from an organisation the acting user sees (as for rounds) to
            # another of its county, a compensation entry for it and its settlement; the outsider's (Göteborg's)
            # are outside every non-national scope.
            if not in_scope and national:
                return None
            return _redistribution_row(name, owner)
        raise AssertionError(f"the access matrix has no resolver for URL parameter {name!r}")


def _recipient_seen_by(user):
    """``user``'s organisation when it reports, else the first municipality of its county (Stockholm's for
    national users)."""
    from allocation import reporting
    from app.organisations.models import Organisation

    recipient = user.organisation
    if not reporting.is_reporting_organisation(recipient):
        county = "01" if recipient.is_national else recipient.county_code
        recipient = db.session.scalar(
            select(Organisation)
            .where(Organisation.county_code == county, Organisation.municipality_code.is_not(None))
            .order_by(Organisation.municipality_code)
            .limit(1)
        )
    return recipient


def _national_request_for(user) -> int:
    """A submitted request for national allocation with a line for an organisation ``user`` sees, made on
    first use."""
    from allocation.models_distribution import NationalRequest, NationalRequestLine
    from app.catalog.models import ProductCategory
    from app.numbering import next_value

    organisation_ = _recipient_seen_by(user)
    found = db.session.scalar(
        select(NationalRequest.id).where(
            NationalRequest.justification == "Matrix",
            NationalRequest.lines.any(NationalRequestLine.organisation_id == organisation_.id),
        )
    )
    if found is None:
        category = db.session.scalar(select(ProductCategory).order_by(ProductCategory.id).limit(1))
        request = NationalRequest(
            reference=f"BN-2026-{next_value(db.session, 'BN', 2026):04d}", county_code=organisation_.county_code,
            justification="Matrix", submitted_by_id=user.id,
        )
        request.lines = [NationalRequestLine(organisation=organisation_, category=category, quantity=10)]
        db.session.add(request)
        db.session.commit()
        found = request.id
    return found


def _round_for(user) -> int:
    """A decided allocation round giving to an organisation ``user`` sees, made on first use."""
    from datetime import date

    from allocation.models_distribution import AllocationLine, AllocationRound, RoundProduct
    from app.catalog.models import Product
    from app.organisations.models import Organisation
    from app.stock import ledger

    recipient = _recipient_seen_by(user)
    number = f"M-{recipient.id}"
    round_id = db.session.scalar(select(AllocationRound.id).where(AllocationRound.number == number))
    if round_id is None:
        agency = db.session.scalar(select(Organisation).where(Organisation.code == "SOS"))
        product = db.session.scalar(select(Product).order_by(Product.id).limit(1))
        round_ = AllocationRound(
            title="Matrix", status="decided", recipient_scope="all", decided_by_organisation=agency,
            source_location=ledger.ensure_warehouses(db.session)[0], number=number, decided_on=date(2026, 3, 2),
            decided_by_id=user.id, created_by_id=user.id,
        )
        round_.products = [RoundProduct(product=product, need_category_id=product.category_id, quantity=10,
                                        pack_size=1)]
        round_.lines = [AllocationLine(product=product, recipient=recipient, need=10, stock=0, daily_use="1",
                                       computed_quantity=10, quantity=10)]
        db.session.add(round_)
        db.session.commit()
        round_id = round_.id
    return round_id


REDISTRIBUTION_PARAMETERS = ("proposal_id", "transfer_id", "settlement_id")


def _redistribution_row(name: str, user) -> int:
    """A draft proposal of the county of an organisation ``user`` sees, its transfer from that organisation to
    another of the county, and a settled compensation entry for it, made on first use."""
    from datetime import date

    from allocation import reporting
    from allocation.models_distribution import CompensationEntry, RedistributionProposal, Settlement, Transfer
    from app.catalog.models import Product
    from app.organisations.models import Organisation

    giver = _recipient_seen_by(user)
    reference = f"OF-M-{giver.id}"
    proposal = db.session.scalar(select(RedistributionProposal).where(RedistributionProposal.reference == reference))
    if proposal is None:
        receiver = db.session.scalar(
            select(Organisation)
            .where(reporting.reporting_organisations_filter(), Organisation.county_code == giver.county_code,
                   Organisation.id != giver.id)
            .order_by(Organisation.code)
            .limit(1)
        )
        product = db.session.scalar(select(Product).order_by(Product.id).limit(1))
        proposal = RedistributionProposal(reference=reference, county_code=giver.county_code, title="Matrix",
                                          created_by_id=user.id)
        transfer = Transfer(product=product, source=giver, target=receiver, planned_quantity=10, quantity=10)
        proposal.lines = [transfer]
        settlement = Settlement(debtor=receiver, creditor=giver, amount_ore=1000, paid_on=date(2026, 3, 2),
                                recorded_by_id=user.id)
        db.session.add_all([proposal, settlement, CompensationEntry(
            transfer=transfer, debtor=receiver, creditor=giver, product=product, quantity=10, unit_price_ore=100,
            amount_ore=1000, booked_on=date(2026, 3, 2), settlement=settlement,
        )])
        db.session.commit()
    if name == "proposal_id":
        return proposal.id
    transfer = proposal.lines[0]
    if name == "transfer_id":
        return transfer.id
    return db.session.scalar(select(CompensationEntry.settlement_id).where(CompensationEntry.transfer_id == transfer.id))


SHIPMENT_PARAMETERS = ("shipment_id", "follow_up_id")


def _shipment_row(name: str, user) -> int:
    """A dispatched shipment (or its open follow-up) to an organisation ``user`` sees, sent by the user's county
    board in a second-level round or else by the agency, made on first use."""
    from datetime import date

    from allocation.models_distribution import AllocationRound, DeliveryFollowUp, Shipment, ShipmentLine
    from app.catalog.models import Product
    from app.db import utcnow
    from app.numbering import next_number
    from app.organisations.models import Organisation, OrganisationKind
    from app.stock import ledger

    recipient = _recipient_seen_by(user)
    board = user.organisation if user.organisation.kind == OrganisationKind.COUNTY_BOARD else None
    sender = board or db.session.scalar(select(Organisation).where(Organisation.code == "SOS"))
    shipment = db.session.scalar(
        select(Shipment).join(Shipment.round)
        .where(Shipment.recipient_id == recipient.id, AllocationRound.number == f"MS-{sender.id}-{recipient.id}")
    )
    if shipment is None:
        source = ledger.location_for_organisation(db.session, board) if board else ledger.ensure_warehouses(db.session)[0]
        round_ = AllocationRound(
            title="Matrix shipment", status="decided", recipient_scope="county" if board else "all",
            county_code=board.county_code if board else None, decided_by_organisation=sender, source_location=source,
            number=f"MS-{sender.id}-{recipient.id}", decided_on=date(2026, 3, 2), decided_by_id=user.id,
            created_by_id=user.id,
        )
        shipment = Shipment(
            number=next_number(db.session, "LS", 2026), round=round_, recipient=recipient, from_location=source,
            to_location=ledger.location_for_organisation(db.session, recipient), status="dispatched",
            carrier="Matrix", dispatched_at=utcnow(), dispatched_by_id=user.id,
        )
        shipment.lines = [ShipmentLine(product=db.session.scalar(select(Product).order_by(Product.id).limit(1)),
                                       quantity=10)]
        db.session.add_all([round_, shipment, DeliveryFollowUp(shipment=shipment)])
        db.session.commit()
    if name == "follow_up_id":
        return db.session.scalar(select(DeliveryFollowUp.id).where(DeliveryFollowUp.shipment_id == shipment.id))
    return shipment.id


def _stock_location_of(user) -> int:
    from app.stock import ledger

    if user.organisation.is_national:
        location = ledger.ensure_warehouses(db.session)[0]
    else:
        location = ledger.location_for_organisation(db.session, user.organisation)
    db.session.commit()
    return location.id


RECEIVING_PARAMETERS = ("delivery_id", "receipt_id", "supply_id")
ORDER_PARAMETERS = ("order_id", "version")


def _buying_organisation(user):
    """The organisation whose orders ``user`` sees: its own, a municipality of its county for a county board,
    the agency for national users."""
    from app.organisations.models import Organisation, OrganisationKind

    buyer = user.organisation
    if buyer.is_national:
        return db.session.scalar(select(Organisation).where(Organisation.kind == OrganisationKind.AGENCY))
    if buyer.kind == OrganisationKind.COUNTY_BOARD:
        return db.session.scalar(
            select(Organisation)
            .where(Organisation.county_code == buyer.county_code, Organisation.municipality_code.is_not(None))
            .order_by(Organisation.municipality_code)
            .limit(1)
        )
    return buyer


def _order_row(name: str, user) -> int:
    """A draft order (made on first use by an officer of the buying organisation), or its version number."""
    from orders.models import PurchaseOrder
    from tests.orders.factories import make_order, make_user

    buyer = _buying_organisation(user)
    order = db.session.scalar(
        select(PurchaseOrder).where(PurchaseOrder.buyer_id == buyer.id, PurchaseOrder.notes == "Matrix order")
    )
    if order is None:
        officer = make_user(db.session, "purchasing_officer", buyer.code)
        order = make_order(db.session, responsible=officer, notes="Matrix order")
        db.session.commit()
    return order.version if name == "version" else order.id


def _joint_purchase_of(user) -> int:
    """A draft joint purchase led by ``user``'s buying organisation, made on first use."""
    from app.catalog.models import ProductCategory
    from app.numbering import next_number
    from orders.models import JointPurchase, JointPurchaseParticipant

    lead = _buying_organisation(user)
    purchase = db.session.scalar(
        select(JointPurchase).where(JointPurchase.lead_buyer_id == lead.id, JointPurchase.title == "Matrix")
    )
    if purchase is None:
        purchase = JointPurchase(
            reference=next_number(db.session, "SI", 2026), title="Matrix", lead_buyer=lead, created_by_id=user.id,
            category=db.session.scalar(select(ProductCategory).order_by(ProductCategory.id).limit(1)),
        )
        taking = organisation("0180") if lead.is_national else lead
        purchase.participants.append(JointPurchaseParticipant(organisation=taking, registered_need=100, quantity=100))
        db.session.add(purchase)
        db.session.commit()
    return purchase.id


def _receiving_row(name: str, user) -> int:
    """The delivery, receipt or incoming supply of ``user``'s buying organisation, made on first use."""
    from datetime import date
    from decimal import Decimal

    from app.catalog.models import Product
    from app.numbering import next_number
    from app.stock import ledger
    from orders.models import (
        GoodsReceipt,
        IncomingSupply,
        PurchaseOrder,
        PurchaseOrderLine,
        ScheduledDelivery,
    )
    from tests.suppliers.factories import make_approved_supplier

    buyer = _buying_organisation(user)
    location = ledger.ensure_warehouses(db.session)[0] if buyer.is_national else ledger.location_for_organisation(
        db.session, buyer
    )
    order = db.session.scalar(
        select(PurchaseOrder).where(PurchaseOrder.buyer_id == buyer.id, PurchaseOrder.notes == "Matrix receiving")
    )
    product = db.session.scalar(select(Product).order_by(Product.id).limit(1))
    if order is None:
        order = PurchaseOrder(
            number=next_number(db.session, "PO", 2026), supplier=make_approved_supplier(db.session), buyer=buyer,
            status="sent", order_date=date(2026, 3, 2), currency="SEK", exchange_rate=Decimal(1),
            responsible_id=user.id, notes="Matrix receiving",
        )
        line = PurchaseOrderLine(line_number=1, product_id=product.id, quantity=100, unit_price=Decimal("4.50"))
        order.lines.append(line)
        delivery = ScheduledDelivery(line=line, due_on=date(2026, 3, 16), quantity=100, destination_id=location.id,
                                     status="open")
        order.deliveries.append(delivery)
        db.session.add(order)
        db.session.add(
            GoodsReceipt(
                number=next_number(db.session, "GR", 2026), scheduled_delivery=delivery, product_id=product.id,
                location_id=location.id, lot=ledger.lot_for(db.session, product, f"MATRIX-{buyer.id}"), quantity=10,
                received_on=date(2026, 3, 16), received_by_id=user.id,
            )
        )
        db.session.add(
            IncomingSupply(kind="donation", source="Matrix", product_id=product.id, quantity=100,
                           expected_on=date(2026, 3, 16), destination_id=location.id, created_by_id=user.id)
        )
        db.session.commit()
    delivery = order.deliveries[0]
    if name == "delivery_id":
        return delivery.id
    if name == "receipt_id":
        return delivery.receipts[0].id
    return db.session.scalar(
        select(IncomingSupply.id).where(IncomingSupply.destination_id == location.id, IncomingSupply.source == "Matrix")
    )


EU_PARAMETERS = ("tender_id", "lot_id", "framework_id", "contractor_id")


def _eu_row(name: str) -> int:
    """A tender with a lot, a framework contract and an approved contractor (made again after a remove route
    deleted it), made on first use."""
    from orders.models import FrameworkContractor, Tender
    from tests.orders.factories import add_rate, warehouse
    from tests.orders.factories_eu import make_contractor, make_framework, make_lot, make_tender

    tender = db.session.scalar(select(Tender).where(Tender.name == "Matrix"))
    if tender is None:
        add_rate(db.session, "EUR", "11.25")
        warehouse(db.session)
        tender = make_tender(db.session, name="Matrix")
        make_framework(db.session, make_lot(db.session, tender))
    framework = tender.lots[0].framework_contracts[0]
    contractor = db.session.scalar(
        select(FrameworkContractor).where(FrameworkContractor.framework_contract_id == framework.id)
    ) or make_contractor(db.session, framework)
    db.session.commit()
    rows = {"tender_id": tender, "lot_id": tender.lots[0], "framework_id": framework, "contractor_id": contractor}
    return rows[name].id


PRODUCTION_PARAMETERS = ("project_id", "milestone_id", "dependency_id", "support_id")
REGISTRY_PARAMETERS = ("supplier_id", "contact_id", "address_id")
CERTIFICATE_PARAMETERS = ("supplier_product_id", "certificate_id", "document_id", "offer_id")


def _certificate_row(name: str) -> int:
    """A supplier's model with a certificate, its uploaded PDF (a real stored file) and an offer, made on first
    use."""
    import io

    from suppliers import storage
    from suppliers.models import Certificate, Document, Offer, SupplierProduct
    from tests.suppliers.factories import MINIMAL_PDF, make_certificate, make_offer, make_supplier_product

    model = db.session.scalar(select(SupplierProduct).order_by(SupplierProduct.id).limit(1))
    if model is None:
        model = make_supplier_product(db.session)
        certificate = make_certificate(db.session, model)
        stored = storage.store(db.session, io.BytesIO(MINIMAL_PDF), "matrix.pdf")
        db.session.add(
            Document(
                supplier=model.supplier,
                certificate=certificate,
                title="Matrix",
                filename=stored.filename,
                content_type=stored.content_type,
                size_bytes=stored.size_bytes,
                sha256=stored.sha256,
                storage_key=stored.storage_key,
            )
        )
        make_offer(db.session, model.supplier, model.product, supplier_product=model)
        db.session.commit()
    row = {"supplier_product_id": SupplierProduct, "certificate_id": Certificate, "document_id": Document, "offer_id": Offer}
    return db.session.scalar(select(row[name].id).order_by(row[name].id).limit(1))


def _registry_row(name: str) -> int:
    """The first supplier (made on first use), or a contact or address of it (made again after a remove route
    deleted it)."""
    from suppliers.models import Supplier, SupplierAddress, SupplierContact
    from tests.suppliers.factories import make_supplier

    supplier = db.session.scalar(select(Supplier).order_by(Supplier.id).limit(1)) or make_supplier(db.session)
    children = {
        "contact_id": (supplier.contacts, lambda: SupplierContact(name="Matrix", email="matrix@example.se")),
        "address_id": (supplier.addresses, lambda: SupplierAddress(street="Matrixgatan 1", city="Sundsvall")),
    }
    row = supplier
    if name in children:
        collection, make = children[name]
        if not collection:
            collection.append(make())
        row = collection[0]
    db.session.commit()
    return row.id


def _production_row(name: str) -> int:
    """A production project (made on first use), or its milestone, dependency or support (made again after a
    remove route deleted it)."""
    from datetime import date

    from app.catalog.models import Product
    from suppliers.models import Milestone, ProductionProject, ProductionSupport, RawMaterialDependency
    from tests.suppliers.factories import make_supplier

    project = db.session.scalar(select(ProductionProject).order_by(ProductionProject.id).limit(1))
    if project is None:
        product = db.session.scalar(select(Product).order_by(Product.id).limit(1))
        project = ProductionProject(supplier=make_supplier(db.session, produces_in_sweden=True), product=product, name="Matrix")
        db.session.add(project)
    children = {
        "milestone_id": (project.milestones, lambda: Milestone(name="Matrix", planned_on=date(2026, 1, 5))),
        "dependency_id": (project.dependencies, lambda: RawMaterialDependency(material="Elastic", source="Matrix")),
        "support_id": (project.support, lambda: ProductionSupport(kind="guarantee", amount_ore=100)),
    }
    row = project
    if name in children:
        collection, make = children[name]
        if not collection:
            collection.append(make())
        row = collection[0]
    db.session.commit()
    return row.id


def _dialogue_row(name: str, user) -> int:
    """A dialogue entry with a follow-up action owned by ``user``, made on first use."""
    from datetime import date

    from suppliers.models import DialogueEntry, FollowUpAction
    from tests.suppliers.factories import make_supplier

    action = db.session.scalar(select(FollowUpAction).order_by(FollowUpAction.id).limit(1))
    if action is None:
        entry = DialogueEntry(
            supplier=make_supplier(db.session),
            kind="call",
            occurred_on=date(2026, 1, 5),
            participants="Matrix",
            notes="Matrix",
        )
        action = FollowUpAction(dialogue_entry=entry, description="Matrix", owner=user, due_on=date(2026, 1, 9))
        db.session.add(action)
        db.session.commit()
    return action.id if name == "action_id" else action.dialogue_entry_id


def _message_for(user) -> int:
    from app.notifications.models import OutboxMessage

    message_id = db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.user_id == user.id))
    assert message_id is not None, "the world fixture gives every user a notification"
    return message_id


def _notice_for(user) -> int:
    from app.notifications.models import Notice

    notice_id = db.session.scalar(select(Notice.id).where(Notice.user_id == user.id))
    assert notice_id is not None
    return notice_id


def _audit_entry_by(user) -> int:
    from app.audit.models import AuditEntry

    entry_id = db.session.scalar(
        select(AuditEntry.id).where(AuditEntry.actor_id == user.id).order_by(AuditEntry.id)
    )
    assert entry_id is not None, "the world fixture makes every user write something"
    return entry_id


def _report_seen_by(user):
    """A situation report the user may see, made on first use: its organisation's when it reports, else one
    of a municipality in its county (Stockholm for national users)."""
    from zoneinfo import ZoneInfo

    from allocation import reporting
    from allocation.models import SituationReport, SituationReportVersion
    from app.db import utcnow
    from app.organisations.models import Organisation

    home = user.organisation
    if not reporting.is_reporting_organisation(home):
        county = "01" if home.is_national else home.county_code
        home = db.session.scalar(
            select(Organisation)
            .where(Organisation.county_code == county, Organisation.municipality_code.is_not(None))
            .order_by(Organisation.municipality_code)
            .limit(1)
        )
    report = db.session.scalar(select(SituationReport).where(SituationReport.organisation_id == home.id))
    if report is None:
        reporting.open_periods(db.session, now=utcnow(), tz=ZoneInfo("Europe/Stockholm"))
        period = reporting.current_period(db.session, utcnow())
        report = SituationReport(organisation=home, period=period, branch="healthcare")
        report.versions = [SituationReportVersion(organisation_id=home.id, number=1, channel="form")]
        db.session.add(report)
        db.session.commit()
    return report


def _token_of(organisation_id: int) -> int:
    from allocation.models import ApiToken
    from allocation.tokens import hash_token, new_secret

    token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.organisation_id == organisation_id))
    if token_id is None:
        secret = new_secret()
        token = ApiToken(organisation_id=organisation_id, name="Matrix", prefix=secret[:12], token_hash=hash_token(secret))
        db.session.add(token)
        db.session.commit()
        token_id = token.id
    return token_id


def _make_world(users, role: Role, kind: OrganisationKind) -> World:
    from app.notifications.services import notify

    user = users.make([str(role)], HOME_BY_KIND[kind])
    outsider = users.make(["reporter"], OUTSIDE)
    for person in (user, outsider):
        db.session.info["actor"] = person
        notify(db.session, person, "Matrix", "A message for the access matrix")
        person.locale = "sv"  # an audited write by the person themself
        db.session.commit()
    db.session.info["actor"] = None
    return World(user, outsider)


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule


def _url(app, rule, values) -> str:
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _method(rule) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def test_every_route_declares_its_access(app):
    undeclared = [
        rule.endpoint for rule in _routes(app) if getattr(app.view_functions[rule.endpoint], "access", None) is None
    ]
    assert undeclared == [], f"views without require/login_required/public: {undeclared}"


def test_anonymous_users_are_sent_to_login_for_every_non_public_route(app, client, users):
    world = _make_world(users, Role.ADMINISTRATOR, OrganisationKind.AGENCY)
    problems = []
    for rule in _routes(app):
        access = app.view_functions[rule.endpoint].access
        if access == PUBLIC:
            continue
        values = {name: world.resolve(name, True) for name in rule.arguments}
        response = client.open(_url(app, rule, values), method=_method(rule))
        if access == API_TOKEN:
            # The API never redirects to a login page: it wants a bearer token.
            if response.status_code != 401:
                problems.append(f"{rule.endpoint}: {response.status_code}, expected 401")
            continue
        if response.status_code != 302 or "/auth/login" not in response.headers.get("Location", ""):
            problems.append(f"{rule.endpoint}: {response.status_code}")
    assert problems == []


@pytest.mark.parametrize(("role", "kind"), CASES, ids=[f"{r.value}@{k.value}" for r, k in CASES])
def test_each_role_gets_exactly_what_its_permissions_and_scope_allow(app, users, role, kind):
    world = _make_world(users, role, kind)
    granted = permissions_of([role])
    problems = []
    rules = sorted(_routes(app), key=lambda r: (_method(r) == "POST", r.endpoint))
    for rule in rules:
        access = app.view_functions[rule.endpoint].access
        method = _method(rule)
        if method == "POST" and rule.endpoint in SKIP_POST:
            continue
        client = app.test_client()
        login = client.post("/auth/login", data={"email": world.user.email, "password": PASSWORD})
        assert login.status_code == 302, "matrix user could not log in"
        allowed = access in (PUBLIC, AUTHENTICATED) or access in granted
        if getattr(app.view_functions[rule.endpoint], "national", False) and not world.user.organisation.is_national:
            allowed = False  # require(..., national=True): the agency only
        values = {name: world.resolve(name, True) for name in rule.arguments}
        response = client.open(_url(app, rule, values), method=method)
        if access == API_TOKEN:
            # The cookie session opens nothing in the API, whatever the role.
            if response.status_code != 401:
                problems.append(f"{rule.endpoint} {method}: expected 401 without a token, got {response.status_code}")
            continue
        if not allowed:
            if response.status_code != 403:
                problems.append(f"{rule.endpoint} {method}: expected 403, got {response.status_code}")
            continue
        if response.status_code in (403, 404) or response.status_code >= 500:
            problems.append(f"{rule.endpoint} {method} in scope: got {response.status_code}")
        if rule.arguments:
            outside = {name: world.resolve(name, False) for name in rule.arguments}
            if all(value is not None for value in outside.values()) and outside != values:
                response = client.open(_url(app, rule, outside), method=method)
                if response.status_code != 404:
                    problems.append(f"{rule.endpoint} {method} out of scope: expected 404, got {response.status_code}")
    assert problems == [], "\n".join(problems)


def test_the_matrix_covers_every_role_and_every_kind_of_scope():
    assert {role for role, _ in CASES} == set(Role)
    assert {kind for _, kind in CASES} == set(OrganisationKind)


def test_organisation_of_every_home_exists(app):
    for code in [*HOME_BY_KIND.values(), OUTSIDE]:
        assert organisation(code) is not None, code
