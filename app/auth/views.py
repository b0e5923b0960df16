"""Login, logout and the user's own password."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from app.auth import bp, services
from app.auth.access import login_required, public
from app.auth.forms import ChangePasswordForm, LoginForm
from app.extensions import db
from app.forms import apply_domain_error, form_status


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("main.home")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(
                db.session,
                form.email.data,
                form.password.data,
                remote_addr=request.remote_addr,
                policy=current_app.config,
            )
        except services.AuthError as error:
            # The failed attempt (and any lock it caused) is kept: that is the point of recording it.
            db.session.commit()
            form.form_errors.append(error.message)
        else:
            # The login's own change (last login time) is the user's, not an anonymous system's.
            db.session.info["actor"] = user
            db.session.commit()
            session.clear()
            login_user(user)
            if user.locale:
                session["locale"] = user.locale
            return redirect(_safe_next(request.args.get("next")))
    return render_template("auth/login.html", form=form), form_status(form)


@bp.route("/logout", methods=["POST"])
@public
def logout():
    logout_user()
    session.clear()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        try:
            services.change_password(db.session, current_user, form.current_password.data, form.new_password.data)
        except services.AuthError as error:
            db.session.rollback()
            apply_domain_error(form, error)
        else:
            db.session.commit()
            flash(_("Your password is changed."), "success")
            return redirect(url_for("main.home"))
    return render_template("auth/password.html", form=form), form_status(form)
