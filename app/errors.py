"""Domain errors and the HTTP error handlers."""
from __future__ import annotations

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException


class DomainError(Exception):
    """A rule of the domain was broken. ``field`` names the form field the message belongs beside."""

    status_code = 422

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFoundError(DomainError):
    status_code = 404


class ConflictError(DomainError):
    status_code = 409


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return request.path.startswith("/api/") or (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def _respond(status: int, title: str, message: str):
    if _wants_json():
        return jsonify({"error": title, "message": message}), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_errorhandlers(app) -> None:
    from flask_babel import gettext as _

    from app.extensions import db

    @app.errorhandler(DomainError)
    def domain_error(error: DomainError):
        db.session.rollback()
        return _respond(error.status_code, _("The request could not be carried out"), error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        titles = {
            400: _("Bad request"),
            403: _("Not allowed"),
            404: _("Not found"),
            405: _("Method not allowed"),
            409: _("Conflict"),
            413: _("The file is too large"),
            422: _("The request could not be carried out"),
        }
        messages = {
            403: _("Your role does not give access to this page."),
            404: _("There is no such page, or it is not available to you."),
        }
        code = error.code or 500
        return _respond(code, titles.get(code, error.name), messages.get(code, error.description or ""))

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _respond(500, _("Something went wrong"), _("The error has been logged. Nothing was saved."))
