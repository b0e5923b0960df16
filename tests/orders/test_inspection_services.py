"""Quality inspection of a receipt in quarantine: the whole receipt is released to available stock or rejected
with a reason, by someone other than the receiver when released; rejected goods leave the stock later."""
from __future__ import annotations

from datetime import date

import pytest

from app.errors import ConflictError
from app.stock import ledger
from app.stock.models import MovementKind, StockState
from orders import services_receiving as receiving
from orders.models import InspectionOutcome, OrderStatus
from orders.services_receiving import InspectionData, ReceiptData, ReceivingError
from suppliers.models import VerificationStatus
from tests.orders.factories import DUE_ON, make_order, make_user
from tests.suppliers.factories import make_certificate, make_supplier_product


@pytest.fixture
def receiver(session):
    return make_user(session, "purchasing_officer")


@pytest.fixture
def inspector(session):
    return make_user(session, "purchasing_lead")


@pytest.fixture
def order(session, receiver):
    return make_order(session, OrderStatus.SENT, responsible=receiver)


@pytest.fixture
def receipt(session, receiver, order):
    data = ReceiptData(quantity=10_000, lot_number="L-77", received_on=DUE_ON, expiry_on=date(2029, 6, 30))
    return receiving.receive_delivery(session, receiver, order.deliveries[0], data, today=DUE_ON)


def held(session, receipt, state: StockState) -> int:
    return ledger.balance(session, location=receipt.location, product=receipt.product, lot=receipt.lot, state=state)


def release(**overrides) -> InspectionData:
    values = {"decision": "release", "documents_checked": True, "sample_result": "passed"}
    values.update(overrides)
    return InspectionData(**values)


def reject(reason="Filtration 89 % in the sample test (EN 149 requires 94 %)", **overrides) -> InspectionData:
    values = {"decision": "reject", "documents_checked": True, "sample_result": "failed", "rejection_reason": reason}
    values.update(overrides)
    return InspectionData(**values)


def test_a_released_receipt_is_available_for_allocation(session, inspector, receipt):
    receiving.inspect(session, inspector, receipt, release(notes="Marking and CE 0598 checked"))
    assert receipt.outcome == InspectionOutcome.RELEASED
    assert held(session, receipt, StockState.QUARANTINE) == 0
    assert held(session, receipt, StockState.AVAILABLE) == 10_000
    assert receipt.inspected_by_id == inspector.id and receipt.inspected_at is not None
    assert receipt.sample_test_passed is True and receipt.documents_checked is True
    assert [m.kind for m in receiving.receipt_movements(session, receipt)] == ["release", "receipt"]


def test_whoever_received_the_goods_cannot_release_them(session, receiver, receipt):
    with pytest.raises(ReceivingError, match="four eyes") as refused:
        receiving.inspect(session, receiver, receipt, release())
    assert refused.value.field == "decision"
    assert held(session, receipt, StockState.QUARANTINE) == 10_000


def test_the_receiver_may_still_reject_what_is_obviously_wrong(session, receiver, receipt):
    receiving.inspect(session, receiver, receipt, reject("Cartons soaked through"))
    assert receipt.outcome == InspectionOutcome.REJECTED


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (release(documents_checked=False), "documents_checked"),
        (release(sample_result="failed"), "sample_result"),
        (release(decision="maybe"), "decision"),
        (release(sample_result="perhaps"), "sample_result"),
        (reject(reason="  "), "rejection_reason"),
    ],
)
def test_an_inspection_that_does_not_support_its_decision_is_refused(session, inspector, receipt, data, field):
    with pytest.raises(ReceivingError) as refused:
        receiving.inspect(session, inspector, receipt, data)
    assert refused.value.field == field
    assert receipt.outcome == InspectionOutcome.PENDING


def test_an_untested_sample_may_be_released_on_checked_documents(session, inspector, receipt):
    receiving.inspect(session, inspector, receipt, release(sample_result="not_tested"))
    assert receipt.sample_test_passed is None
    assert receipt.outcome == InspectionOutcome.RELEASED


def test_a_rejected_receipt_is_held_apart_with_its_reason(session, inspector, receipt):
    receiving.inspect(session, inspector, receipt, reject())
    assert receipt.outcome == InspectionOutcome.REJECTED
    assert "89 %" in receipt.rejection_reason
    assert receipt.sample_test_passed is False
    assert held(session, receipt, StockState.REJECTED) == 10_000
    assert held(session, receipt, StockState.AVAILABLE) == 0
    assert receiving.rejected_remaining(session, receipt) == 10_000


def test_a_receipt_is_inspected_once(session, inspector, receipt):
    receiving.inspect(session, inspector, receipt, release())
    with pytest.raises(ConflictError):
        receiving.inspect(session, inspector, receipt, reject())


def test_rejected_goods_are_returned_to_the_supplier_once(session, inspector, receipt):
    receiving.inspect(session, inspector, receipt, reject())
    movement = receiving.settle_rejected(session, inspector, receipt, how="return", note="DHL 1234")
    assert movement.kind == MovementKind.RETURN_TO_SUPPLIER and movement.quantity == 10_000
    assert held(session, receipt, StockState.REJECTED) == 0
    assert receiving.rejected_remaining(session, receipt) == 0
    with pytest.raises(ConflictError):
        receiving.settle_rejected(session, inspector, receipt, how="dispose", note=None)


def test_only_rejected_goods_are_disposed_of(session, inspector, receipt):
    with pytest.raises(ReceivingError):
        receiving.settle_rejected(session, inspector, receipt, how="dispose", note=None)
    receiving.inspect(session, inspector, receipt, reject())
    movement = receiving.settle_rejected(session, inspector, receipt, how="dispose", note="Destroyed by Stena")
    assert movement.kind == MovementKind.DISPOSAL


def test_the_certificates_offered_are_the_suppliers_for_the_product_usable_ones_first(session, order, receipt):
    model = make_supplier_product(session, supplier=order.supplier, product=receipt.product, model_name="Aura 9320")
    unverified = make_certificate(session, model)
    verified = make_certificate(session, model, verification_status=VerificationStatus.VERIFIED.value)
    make_certificate(session)  # another supplier's
    assert [c.id for c in receiving.certificates_for(session, receipt)] == [verified.id, unverified.id]
    assert receiving.certificate_warning(receipt, [verified, unverified]) is None
    assert "verify the certificate" in receiving.certificate_warning(receipt, [unverified])
    assert "no certificate registered" in receiving.certificate_warning(receipt, [])


def test_an_expired_verified_certificate_is_not_usable(session, order, receipt):
    model = make_supplier_product(session, supplier=order.supplier, product=receipt.product)
    old = make_certificate(session, model, verification_status=VerificationStatus.VERIFIED.value,
                           valid_from=date(2020, 1, 1), valid_until=date(2025, 12, 31))
    assert receiving.certificate_warning(receipt, [old]) is not None


def test_release_against_a_certificate_is_recorded_and_a_forged_one_refused(session, inspector, order, receipt):
    model = make_supplier_product(session, supplier=order.supplier, product=receipt.product)
    forged = make_certificate(session, model, verification_status=VerificationStatus.REJECTED.value)
    foreign = make_certificate(session)
    with pytest.raises(ReceivingError) as refused:
        receiving.inspect(session, inspector, receipt, release(certificate_id=foreign.id))
    assert refused.value.field == "certificate_id"
    with pytest.raises(ReceivingError, match="rejected as invalid"):
        receiving.inspect(session, inspector, receipt, release(certificate_id=forged.id))
    good = make_certificate(session, model, verification_status=VerificationStatus.VERIFIED.value)
    receiving.inspect(session, inspector, receipt, release(certificate_id=good.id))
    assert receipt.certificate_id == good.id
