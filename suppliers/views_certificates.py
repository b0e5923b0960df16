"""Pages for suppliers' models, certificates and documents: thin, form → service → commit → redirect."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import TypeVar

from flask import abort, current_app, flash, redirect, render_template, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm import contains_eager, selectinload
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms.fields.choices import SelectChoice

from app.auth.access import has_permission, require
from app.auth.roles import Permission
from app.catalog.models import Product, ProductCategory
from app.catalog.views import display_name
from app.errors import DomainError
from app.extensions import db
from app.forms import apply_domain_error, form_status
from app.listing import Column, Filter, Listing
from app.timeutil import local_today
from suppliers import bp, standards, storage
from suppliers import services_certificates as services
from suppliers.forms_certificates import (
    CertificateForm,
    DocumentForm,
    EditCertificateForm,
    SupplierProductForm,
    VerificationForm,
)
from suppliers.models import (
    Certificate,
    CertificateKind,
    Document,
    Supplier,
    SupplierProduct,
    VerificationStatus,
)

T = TypeVar("T")



def show_domain_error(form, error: DomainError) -> None:
    """Each of a refusal's errors beside its field (or above the form)."""
    for each in getattr(error, "errors", None) or [error]:
        apply_domain_error(form, each)


def saved(form, change: Callable[[], T], message: str | Callable[[T], str], target: Callable[[T], str]):
    """A thin view's POST: when the form is valid run the service, commit, say so and redirect to ``target``;
    on a DomainError roll back and show it beside the fields. None means: show the form again."""
    if not form.validate_on_submit():
        return None
    try:
        result = change()
    except DomainError as error:
        db.session.rollback()
        show_domain_error(form, error)
        return None
    db.session.commit()
    flash(message(result) if callable(message) else message, "success")
    return redirect(target(result))


def product_label(product: Product) -> str:
    return f"{product.sku} – {display_name(product)}"


def product_choices(current: Product | None = None) -> list[SelectChoice]:
    """Active catalogue products (and the current one, even when inactive), by category and SKU."""
    offered = Product.active.is_(True)
    if current is not None:
        offered = offered | (Product.id == current.id)
    products = db.session.scalars(
        select(Product).join(Product.category).where(offered).order_by(ProductCategory.sort_order, Product.sku)
    ).all()
    return [
        SelectChoice(product.id, product_label(product), optgroup=display_name(product.category))
        for product in products
    ]


def _can_see_documents() -> bool:
    return has_permission(current_user, Permission.VIEW_SUPPLIER_DOCUMENTS)


def _kind_label(kind: str) -> str:
    return CertificateKind(kind).label


def _page_context() -> dict:
    """What every certificate page's template uses to show standing, kinds and the upload limit."""
    return {
        "today": local_today(),
        "state_of": services.certificate_state,
        "expires_soon": services.expires_soon,
        "kind_label": _kind_label,
        "verification_label": lambda status: VerificationStatus(status).label,
        "see_documents": _can_see_documents(),
        "upload_limit": storage.size_limit_text(),
    }


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error):
    """A request over MAX_CONTENT_LENGTH is refused before the form is read; say what the limit is."""
    limit = min(
        storage.max_upload_bytes(), current_app.config.get("MAX_CONTENT_LENGTH") or storage.max_upload_bytes()
    )
    message = _(
        "The file is larger than %(limit)s, the most that can be uploaded. Nothing was saved: "
        "go back and choose a smaller file (a scanned certificate can often be saved at a lower resolution).",
        limit=storage.size_limit_text(limit),
    )
    return render_template(
        "errors/error.html", status=413, title=_("The file is too large"), message=message
    ), 413


# --- the supplier's products and certificates ---------------------------------------------------------------


def _products_page(supplier: Supplier, document_form: DocumentForm | None = None, status: int = 200):
    models = db.session.scalars(
        select(SupplierProduct)
        .where(SupplierProduct.supplier_id == supplier.id)
        .options(selectinload(SupplierProduct.certificates).selectinload(Certificate.documents))
        .order_by(SupplierProduct.model_name, SupplierProduct.id)
    ).all()
    loose = db.session.scalars(
        select(Document)
        .where(Document.supplier_id == supplier.id, Document.certificate_id.is_(None))
        .order_by(Document.uploaded_at.desc(), Document.id.desc())
    ).all()
    return render_template(
        "suppliers/certificates.html",
        supplier=supplier,
        models=models,
        loose_documents=loose,
        document_form=document_form or DocumentForm(formdata=None),
        **_page_context(),
    ), status


@bp.route("/<int:supplier_id>/products")
@require(Permission.VIEW_SUPPLIERS)
def certificates(supplier_id: int):
    return _products_page(db.get_or_404(Supplier, supplier_id))


@bp.route("/<int:supplier_id>/documents", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def upload_supplier_document(supplier_id: int):
    """A document about the supplier itself (a registry extract, a quality certificate of the company)."""
    supplier = db.get_or_404(Supplier, supplier_id)
    form = DocumentForm()
    done = saved(
        form,
        lambda: services.attach_document(db.session, current_user, supplier, _upload(form)),
        _("The document is uploaded."),
        lambda document: url_for("suppliers.certificates", supplier_id=document.supplier_id),
    )
    if done:
        return done
    return _products_page(supplier, form, form_status(form))


def _upload(form) -> services.Upload:
    upload = form.file.data
    return services.Upload(upload.stream, upload.filename, form.title.data)


def _models_url(model: SupplierProduct) -> str:
    return url_for("suppliers.certificates", supplier_id=model.supplier_id, _anchor=f"model-{model.id}")


def _certificate_url(certificate: Certificate) -> str:
    return url_for("suppliers.certificate", certificate_id=certificate.id)


def _model_data(form: SupplierProductForm) -> services.SupplierProductData:
    return services.SupplierProductData(
        product_id=form.product_id.data,
        model_name=form.model_name.data,
        manufacturer_name=form.manufacturer_name.data,
        notes=form.notes.data,
    )


@bp.route("/<int:supplier_id>/products/new", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def new_supplier_product(supplier_id: int):
    supplier = db.get_or_404(Supplier, supplier_id)
    form = SupplierProductForm()
    form.product_id.choices = product_choices()
    done = saved(
        form,
        lambda: services.add_supplier_product(db.session, current_user, supplier, _model_data(form)),
        lambda model: _("The model %(name)s is added.", name=model.model_name),
        _models_url,
    )
    if done:
        return done
    return render_template(
        "suppliers/certificates_model_form.html", form=form, supplier=supplier, model=None
    ), form_status(form)


@bp.route("/models/<int:supplier_product_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def edit_supplier_product(supplier_product_id: int):
    model = db.get_or_404(SupplierProduct, supplier_product_id)
    form = SupplierProductForm(obj=model)
    form.product_id.choices = product_choices(model.product)
    done = saved(
        form,
        lambda: services.update_supplier_product(db.session, current_user, model, _model_data(form)),
        _("The model is saved."),
        _models_url,
    )
    if done:
        return done
    return render_template(
        "suppliers/certificates_model_form.html", form=form, supplier=model.supplier, model=model
    ), form_status(form)


# --- certificates -------------------------------------------------------------------------------------------


def _certificate_data(form: CertificateForm) -> services.CertificateData:
    standard, standard_class = standards.parse_choice(form.standard.data)
    return services.CertificateData(
        kind=form.kind.data,
        standard=standard,
        standard_class=standard_class,
        ce_marked=form.ce_marked.data,
        notified_body_number=form.notified_body_number.data,
        certificate_number=form.certificate_number.data,
        issued_by=form.issued_by.data,
        valid_from=form.valid_from.data,
        valid_until=form.valid_until.data,
    )


def _standard_choices(form, model: SupplierProduct) -> None:
    category = model.product.category.code if model.product.category else None
    form.standard.choices = [
        SelectChoice("", _("Choose…")),
        *(
            SelectChoice(value, label, optgroup=value.split(standards.CHOICE_SEPARATOR)[0])
            for value, label in standards.choices_for(category)
        ),
    ]


@bp.route("/models/<int:supplier_product_id>/certificates/new", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def new_certificate(supplier_product_id: int):
    model = db.get_or_404(SupplierProduct, supplier_product_id)
    form = CertificateForm()
    _standard_choices(form, model)
    done = saved(
        form,
        lambda: services.add_certificate(
            db.session,
            current_user,
            model,
            _certificate_data(form),
            _upload(form) if form.file.data else None,
        ),
        _("The certificate is recorded. It is not verified until someone checks it with the issuer."),
        _certificate_url,
    )
    if done:
        return done
    return render_template(
        "suppliers/certificates_form.html", form=form, model=model, certificate=None, **_page_context()
    ), form_status(form)


@bp.route("/certificates/<int:certificate_id>/edit", methods=["GET", "POST"])
@require(Permission.MANAGE_SUPPLIERS)
def edit_certificate(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    model = certificate.supplier_product
    form = EditCertificateForm(obj=certificate)
    _standard_choices(form, model)
    if not form.is_submitted():
        form.standard.data = standards.choice_value(certificate.standard, certificate.standard_class)
    was_verified = certificate.verification_status == VerificationStatus.VERIFIED

    def message(saved_certificate: Certificate) -> str:
        if was_verified and saved_certificate.verification_status != VerificationStatus.VERIFIED:
            return _(
                "The certificate is saved. It changed, so it is no longer marked verified: check it again."
            )
        return _("The certificate is saved.")

    done = saved(
        form,
        lambda: services.update_certificate(db.session, current_user, certificate, _certificate_data(form)),
        message,
        _certificate_url,
    )
    if done:
        return done
    return render_template(
        "suppliers/certificates_form.html", form=form, model=model, certificate=certificate, **_page_context()
    ), form_status(form)


def _certificate_page(
    certificate: Certificate, verification_form=None, document_form=None, status: int = 200
):
    return render_template(
        "suppliers/certificates_detail.html",
        certificate=certificate,
        model=certificate.supplier_product,
        supplier=certificate.supplier_product.supplier,
        verification_form=verification_form or VerificationForm(formdata=None),
        document_form=document_form or DocumentForm(formdata=None),
        **_page_context(),
    ), status


@bp.route("/certificates/<int:certificate_id>")
@require(Permission.VIEW_SUPPLIERS)
def certificate(certificate_id: int):
    return _certificate_page(db.get_or_404(Certificate, certificate_id))


@bp.route("/certificates/<int:certificate_id>/verification", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def verify_certificate(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    form = VerificationForm()
    done = saved(
        form,
        lambda: services.record_verification(
            db.session, current_user, certificate, form.outcome.data, form.note.data
        ),
        lambda checked: _(
            "The check is recorded: %(status)s.", status=VerificationStatus(checked.verification_status).label
        ),
        _certificate_url,
    )
    if done:
        return done
    return _certificate_page(certificate, verification_form=form, status=form_status(form))


@bp.route("/certificates/<int:certificate_id>/documents", methods=["POST"])
@require(Permission.MANAGE_SUPPLIERS)
def upload_certificate_document(certificate_id: int):
    certificate = db.get_or_404(Certificate, certificate_id)
    form = DocumentForm()
    supplier = certificate.supplier_product.supplier
    done = saved(
        form,
        lambda: services.attach_document(
            db.session, current_user, supplier, _upload(form), certificate=certificate
        ),
        _("The document is uploaded."),
        lambda _document: _certificate_url(certificate),
    )
    if done:
        return done
    return _certificate_page(certificate, document_form=form, status=form_status(form))


# --- documents ----------------------------------------------------------------------------------------------


@bp.route("/documents/<int:document_id>")
@require(Permission.VIEW_SUPPLIER_DOCUMENTS)
def document(document_id: int):
    """The stored file: PDFs open in the browser, images download; never sniffed into anything else.

    The file is read whole (uploads are at most a few MB) and checked against the SHA-256 taken at upload, so
    a file changed or damaged on disk is never handed out as the supplier's document.
    """
    document = db.get_or_404(Document, document_id)
    path = storage.path_of(document.storage_key)
    if storage.file_type_of(document.content_type) is None or not path.is_file():
        current_app.logger.error(
            "supplier document %s: stored file %s is missing", document.id, document.storage_key
        )
        abort(404)
    content = path.read_bytes()
    if hashlib.sha256(content).hexdigest() != document.sha256:
        current_app.logger.error(
            "supplier document %s: stored file %s has changed", document.id, document.storage_key
        )
        abort(500)
    response = send_file(
        io.BytesIO(content),
        mimetype=document.content_type,
        as_attachment=document.content_type != "application/pdf",
        download_name=document.filename,
        etag=document.sha256,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    # Commercial documents: not kept by shared caches or the browser's disk cache.
    response.headers["Cache-Control"] = "private, no-store"
    return response


# --- all certificates ---------------------------------------------------------------------------------------


STATUS_FILTERS = {
    "expiring": _l("Expiring within 60 days"),
    "expired": _l("Expired"),
    "unverified": _l("Not verified"),
    "verified": _l("Verified"),
    "rejected": _l("Rejected as invalid"),
}


def _filter_status(today: date):
    def apply(stmt, value):
        if value == "expiring":
            return stmt.where(services.expiring_clause(today))
        if value == "expired":
            return stmt.where(services.expired_clause(today))
        return stmt.where(Certificate.verification_status == value)

    return apply


def standard_text(certificate: Certificate) -> str:
    return (
        f"{certificate.standard} {certificate.standard_class}"
        if certificate.standard_class
        else certificate.standard
    )


def certificate_listing(today: date) -> Listing:
    see_documents = _can_see_documents()
    categories = db.session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)).all()
    columns = [
        Column(
            "supplier",
            _l("Supplier"),
            lambda c: c.supplier_product.supplier.legal_name,
            sort=Supplier.legal_name,
            link=lambda c: url_for("suppliers.certificates", supplier_id=c.supplier_product.supplier_id),
        ),
        Column("product", _l("Product"), lambda c: c.supplier_product.product.sku, sort=Product.sku),
        Column(
            "model",
            _l("Model"),
            lambda c: c.supplier_product.model_name,
            sort=SupplierProduct.model_name,
            link=lambda c: url_for("suppliers.certificate", certificate_id=c.id),
        ),
        Column("kind", _l("Kind"), lambda c: CertificateKind(c.kind).label, sort=Certificate.kind),
        Column("standard", _l("Standard and class"), standard_text, sort=Certificate.standard),
        Column("ce", _l("CE marked"), lambda c: c.ce_marked, sort=Certificate.ce_marked),
        Column(
            "notified_body",
            _l("Notified body"),
            lambda c: c.notified_body_number,
            sort=Certificate.notified_body_number,
        ),
    ]
    if see_documents:
        columns.append(
            Column(
                "number",
                _l("Certificate number"),
                lambda c: c.certificate_number,
                sort=Certificate.certificate_number,
            )
        )
    columns += [
        Column("valid_until", _l("Valid until"), lambda c: c.valid_until, sort=Certificate.valid_until),
        Column(
            "verification",
            _l("Verification"),
            lambda c: VerificationStatus(c.verification_status).label,
            sort=Certificate.verification_status,
        ),
        Column("state", _l("Standing today"), lambda c: services.certificate_state(c, today).label),
    ]
    search = [Supplier.legal_name, SupplierProduct.model_name, Product.sku, Certificate.issued_by]
    if see_documents:
        search.append(Certificate.certificate_number)
    return Listing(
        select(Certificate)
        .join(Certificate.supplier_product)
        .join(SupplierProduct.supplier)
        .join(SupplierProduct.product)
        .join(Product.category)
        .options(
            contains_eager(Certificate.supplier_product).contains_eager(SupplierProduct.supplier),
            contains_eager(Certificate.supplier_product)
            .contains_eager(SupplierProduct.product)
            .contains_eager(Product.category),
        ),
        columns=columns,
        search=search,
        filters=[
            Filter("status", _l("Status"), list(STATUS_FILTERS.items()), _filter_status(today)),
            Filter(
                "standard",
                _l("Standard"),
                [(s.code, s.code) for s in standards.STANDARDS],
                lambda stmt, value: stmt.where(Certificate.standard == value),
            ),
            Filter(
                "category",
                _l("Category"),
                [(c.code, display_name(c)) for c in categories],
                lambda stmt, value: stmt.where(ProductCategory.code == value),
            ),
        ],
        default_sort="valid_until",
        csv_name="certificates",
    )


@bp.route("/certificates/")
@require(Permission.VIEW_SUPPLIERS)
def certificate_list():
    today = local_today()
    return certificate_listing(today).respond(
        lambda page: render_template(
            "suppliers/certificates_list.html",
            page=page,
            horizon=today + timedelta(days=services.EXPIRY_HORIZON_DAYS),
        )
    )
