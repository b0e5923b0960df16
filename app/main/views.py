"""Start page, language switch and health check."""
from __future__ import annotations

from flask import current_app, redirect, render_template, request, session, url_for
from flask_login import current_user
from sqlalchemy import text

from app.auth.access import login_required, public
from app.extensions import db
from app.main import bp
from app.main.dashboard import dashboard_for


@bp.route("/")
@login_required
def home():
    return render_template("main/home.html", dashboard=dashboard_for(db.session, current_user))


@bp.route("/language", methods=["POST"])
@public
def set_language():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated and current_user.locale != locale:
            current_user.locale = locale
            db.session.commit()
    target = request.form.get("next") or url_for("main.home")
    # Only local paths: an open redirect here would let a link send users anywhere after a click.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("main.home")
    return redirect(target)


@bp.route("/health")
@public
def health():
    db.session.execute(text("SELECT 1"))
    return {"status": "ok"}
