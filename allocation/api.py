"""The situation report API (/api/v1): JSON in and out, per-organisation bearer tokens, never cookies.

A routing table over the reporting service: the request's shape is checked against the JSON Schemas in
allocation/openapi.py (the ones the published OpenAPI document shows), the rules are the reporting
service's, and every error is a JSON object ``{"error": code, "message": text, "problems": [...]}``.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import wraps

from flask import Blueprint, current_app, g, jsonify, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from jsonschema import Draft202012Validator
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import BadRequest, RequestEntityTooLarge

from allocation import need, openapi, reporting, tokens
from allocation.models import (
    ApiToken,
    Branch,
    Channel,
    ReportingPeriod,
    SituationReport,
    SituationReportLine,
    SituationReportVersion,
)
from allocation.reporting import LineInput, Problem
from app.auth.access import public
from app.db import utcnow
from app.errors import ConflictError, NotFoundError
from app.extensions import db
from app.organisations.models import Organisation

api = Blueprint("api", __name__, url_prefix="/api/v1")

# The access marker the route matrix test reads: a bearer token, never the cookie session.
API_TOKEN = "api_token"
REALM = 'Bearer realm="samordna"'

_submission_validator = Draft202012Validator(openapi.REPORT_SUBMISSION)


class ApiError(Exception):
    """An answer other than success, as the JSON error object the OpenAPI document describes."""

    def __init__(self, status: int, error: str, message: str, problems: Sequence[dict] | None = None,
                 headers: dict | None = None):
        super().__init__(message)
        self.status, self.error, self.message = status, error, message
        self.problems = list(problems) if problems is not None else None
        self.headers = headers or {}


@api.errorhandler(ApiError)
def _api_error(error: ApiError):
    db.session.rollback()
    body = {"error": error.error, "message": error.message}
    if error.problems is not None:
        body["problems"] = error.problems
    return jsonify(body), error.status, error.headers


@api.errorhandler(RequestEntityTooLarge)
def _too_large(error):
    db.session.rollback()
    message = _("The request body is larger than %(size)s KiB.", size=openapi.MAX_BODY_BYTES // 1024)
    return jsonify({"error": "too_large", "message": message}), 413


@api.after_request
def _no_store(response):
    # Answers carry one organisation's figures for one token holder; no cache in between may keep them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _problem(line: int | None, category: str | None, field: str | None, message: str) -> dict:
    return {"line": line, "category": category, "field": field, "message": message}


def _invalid(problems: Sequence[dict]) -> ApiError:
    return ApiError(422, "invalid", _("The report was not saved; correct the problems listed."), problems)


# --- authentication --------------------------------------------------------------------------------------

def _locale() -> str:
    """API clients send no cookie, so their language comes from Accept-Language (else the default)."""
    languages = current_app.config["LANGUAGES"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def _authenticated_token() -> ApiToken:
    scheme, _space, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credentials.strip():
        raise ApiError(
            401, "unauthorized", _("Send an API token: Authorization: Bearer <token>."),
            headers={"WWW-Authenticate": REALM},
        )
    token = tokens.authenticate(db.session, credentials.strip())
    if token is None:
        raise ApiError(
            401, "unauthorized", _("The API token is unknown or has been revoked."),
            headers={"WWW-Authenticate": f'{REALM}, error="invalid_token"'},
        )
    return token


def api_token_required(view):
    """The caller must send an active API token; the request then acts for the token's organisation only.

    The cookie session is never consulted: a browser logged in to Samordna gets 401 here like anyone else.
    """

    @wraps(view)
    def wrapped(*args, **kwargs):
        with force_locale(_locale()):
            token = _authenticated_token()
            # The audit log names the token, and last_used_at is kept even if the request is then refused.
            db.session.info["actor"] = tokens.actor_label(token)
            db.session.commit()
            g.api_token = token
            return view(*args, **kwargs)

    wrapped.access = API_TOKEN
    return wrapped


# --- reading the request ---------------------------------------------------------------------------------

def _json_body() -> object:
    request.max_content_length = openapi.MAX_BODY_BYTES
    if not request.is_json:
        raise ApiError(400, "bad_request", _("Send the report as JSON with Content-Type: application/json."))
    try:
        return request.get_json()
    except RequestEntityTooLarge:
        raise
    except BadRequest:
        raise ApiError(400, "bad_request", _("The body is not valid JSON.")) from None


def _idempotency_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > openapi.MAX_IDEMPOTENCY_KEY:
        raise _invalid([
            _problem(None, None, "Idempotency-Key",
                     _("The Idempotency-Key must be 1 to %(count)s characters.", count=openapi.MAX_IDEMPOTENCY_KEY))
        ])
    return key


def _line_category(payload, index: int | None) -> str | None:
    lines = payload.get("lines") if isinstance(payload, dict) else None
    if index is None or not isinstance(lines, list) or index >= len(lines) or not isinstance(lines[index], dict):
        return None
    category = lines[index].get("category")
    return category if isinstance(category, str) else None


_TYPE_MESSAGES = {
    "integer": lambda: _("Enter a whole number (a JSON integer such as 12, not 1.5 or \"12\")."),
    "string": lambda: _("Enter text (a JSON string)."),
    "boolean": lambda: _("Enter true or false."),
    "array": lambda: _("Send a list (a JSON array)."),
    "object": lambda: _("Send a JSON object."),
}


def _schema_message(error) -> str:
    kind, limit = error.validator, error.validator_value
    if kind == "type":
        return _TYPE_MESSAGES.get(limit, lambda: _("The value has the wrong type."))()
    if kind == "minimum":
        return _("The number cannot be negative.") if limit == 0 else _("Enter %(min)s or more.", min=limit)
    if kind == "maximum":
        return _("The number is too large.")
    if kind == "enum":
        return _("Choose one of: %(values)s.", values=", ".join(str(value) for value in limit))
    if kind == "minLength":
        return _("This cannot be empty.")
    if kind == "maxLength":
        return _("Use at most %(count)s characters.", count=limit)
    if kind == "minItems":
        return _("Send at least one line.")
    if kind == "maxItems":
        return _("Send at most %(count)s lines.", count=limit)
    return error.message


def schema_problems(validator: Draft202012Validator, payload) -> list[dict]:
    """Every way the payload breaks the schema, as problems naming the line, category and field."""
    problems: list[dict] = []
    seen: set[tuple] = set()

    def add(line, field, message):
        key = (line, field, message)
        if key not in seen:
            seen.add(key)
            problems.append(_problem(line, _line_category(payload, line), field, message))

    for error in sorted(validator.iter_errors(payload), key=lambda e: [str(part) for part in e.absolute_path]):
        path = list(error.absolute_path)
        line = path[1] if len(path) > 1 and path[0] == "lines" and isinstance(path[1], int) else None
        names = [part for part in path if isinstance(part, str)]
        field = names[-1] if names else None
        if error.validator == "required" and isinstance(error.instance, dict):
            for name in error.validator_value:
                if name not in error.instance:
                    add(line, name, _("%(field)s is required.", field=name))
        elif error.validator == "additionalProperties" and isinstance(error.instance, dict):
            known = error.schema.get("properties", {})
            for name in error.instance:
                if name not in known:
                    add(line, name, _("%(field)s is not a field of this API.", field=name))
        else:
            add(line, field, _schema_message(error))
    return problems


def _service_problems(problems: Sequence[Problem], payload: dict) -> list[dict]:
    """The reporting service's problems, each with the index of the line it is about."""
    positions: dict[str, list[int]] = defaultdict(list)
    for index, line in enumerate(payload["lines"]):
        positions[line["category"]].append(index)
    result = []
    for problem in problems:
        where = positions.get(problem.category or "", [])
        # A category sent twice: the problem is the second line.
        line = (where[-1] if problem.field == "category" else where[0]) if where else None
        result.append(_problem(line, problem.category, problem.field, problem.message))
    return result


def _organisation(code: str, token: ApiToken) -> Organisation:
    organisation = db.session.scalar(
        select(Organisation).where(or_(Organisation.code == code, Organisation.municipality_code == code))
    )
    if organisation is None or organisation.id != token.organisation_id:
        raise ApiError(404, "not_found", _("No such organisation for this API token."))
    return organisation


def _period(period_id: int | None, earlier: SituationReportVersion | None) -> ReportingPeriod:
    if period_id is None:
        # A replay goes to the period the first submission went to, even if a new period has begun since.
        period = earlier.report.period if earlier is not None else reporting.current_period(db.session, utcnow())
        if period is None:
            raise _invalid([_problem(None, None, "period_id", _("No reporting period is open now."))])
        return period
    period = db.session.get(ReportingPeriod, period_id)
    if period is None:
        raise _invalid([_problem(None, None, "period_id", _("No such reporting period."))])
    return period


def _line_inputs(payload: dict) -> list[LineInput]:
    # The schema let through only JSON integers; int() turns an integral 12.0 (a JSON Schema integer) into 12.
    return [
        LineInput(
            category=line["category"],
            stock=int(line["stock"]),
            consumption_7d=int(line["consumption_7d"]),
            expected_14d=int(line["expected_14d"]),
            stated_need=int(line["stated_need"]),
            justification=line.get("justification", ""),
        )
        for line in payload["lines"]
    ]


def _earlier_with_key(organisation: Organisation, key: str | None) -> SituationReportVersion | None:
    if key is None:
        return None
    return db.session.scalar(
        select(SituationReportVersion).where(
            SituationReportVersion.organisation_id == organisation.id, SituationReportVersion.idempotency_key == key
        )
    )


def _figures(line) -> tuple:
    return (line.stock, line.consumption_7d, line.expected_14d, line.stated_need, line.justification.strip())


def _check_replay(earlier: SituationReportVersion, payload: dict, lines: list[LineInput]) -> None:
    """A repeated Idempotency-Key must come with the same report; different figures would be lost silently."""
    sent = sorted((line.category, *_figures(line)) for line in lines)
    stored = sorted((line.category.code, *_figures(line)) for line in earlier.lines)
    same = (
        earlier.report.branch == payload["branch"]
        and payload.get("period_id", earlier.report.period_id) == earlier.report.period_id
        and (payload.get("comment") or "").strip() == earlier.comment
        and sent == stored
    )
    if not same:
        raise _invalid([
            _problem(None, None, "Idempotency-Key", _(
                "This Idempotency-Key was already used for a different report (version %(number)s); "
                "send new figures with a new key.", number=earlier.number,
            ))
        ])


# --- writing the response --------------------------------------------------------------------------------

def _time(moment) -> str:
    return moment.isoformat()


def _line_json(line: SituationReportLine, thresholds: need.Thresholds) -> dict:
    days = need.days_of_supply(line.stock, line.consumption_7d)
    return {
        "category": line.category.code,
        "stock": line.stock,
        "consumption_7d": line.consumption_7d,
        "expected_14d": line.expected_14d,
        "stated_need": line.stated_need,
        "computed_need": line.computed_need,
        "justification": line.justification,
        "days_of_supply": str(days) if days is not None else None,
        "status": need.status_for(days, thresholds).value,
    }


def version_json(version: SituationReportVersion, thresholds: need.Thresholds) -> dict:
    lines = sorted(version.lines, key=lambda line: (line.category.sort_order, line.category.code))
    return {
        "id": version.id,
        "report_id": version.report_id,
        "period_id": version.report.period_id,
        "branch": version.report.branch,
        "number": version.number,
        "submitted_at": _time(version.submitted_at),
        "channel": version.channel,
        "late": version.late,
        "idempotency_key": version.idempotency_key,
        "comment": version.comment,
        "lines": [_line_json(line, thresholds) for line in lines],
    }


def report_json(report: SituationReport, thresholds: need.Thresholds, *, versions: bool = False) -> dict:
    organisation, period = report.organisation, report.period
    body = {
        "id": report.id,
        "organisation": {
            "code": organisation.code,
            "municipality_code": organisation.municipality_code,
            "name": organisation.name,
        },
        "period": {
            "id": period.id,
            "opens_at": _time(period.opens_at),
            "deadline_at": _time(period.deadline_at),
            "closes_at": _time(period.closes_at),
            "horizon_days": period.horizon_days,
            "categories": [category.code for category in period.categories],
        },
        "branch": report.branch,
        "created_at": _time(report.created_at),
        "version_count": len(report.versions),
        "latest_version": version_json(report.latest, thresholds) if report.latest is not None else None,
    }
    if versions:
        body["versions"] = [version_json(version, thresholds) for version in report.versions]
    return body


def _thresholds() -> need.Thresholds:
    return reporting.thresholds(reporting.get_settings(db.session))


# --- the routes ------------------------------------------------------------------------------------------

@api.route("/reports", methods=["POST"])
@api_token_required
def submit_report():
    token: ApiToken = g.api_token
    key = _idempotency_key()
    payload = _json_body()
    problems = schema_problems(_submission_validator, payload)
    if problems:
        raise _invalid(problems)
    organisation = _organisation(payload["organisation"], token)
    lines = _line_inputs(payload)
    earlier = _earlier_with_key(organisation, key)
    if earlier is not None:
        _check_replay(earlier, payload, lines)
    period = _period(payload.get("period_id"), earlier)
    try:
        submitted = reporting.submit_report(
            db.session,
            organisation=organisation,
            period=period,
            branch=payload["branch"],
            lines=lines,
            channel=Channel.API,
            token=token,
            idempotency_key=key,
            confirm_spikes=payload.get("confirm", False),
            comment=payload.get("comment", ""),
        )
    except reporting.ConfirmationRequired as spikes:
        raise ApiError(
            409, "confirmation_required",
            _("Check the figures and send the report again with \"confirm\": true."),
            _service_problems(spikes.problems, payload),
        ) from None
    except reporting.ReportInvalid as invalid:
        raise _invalid(_service_problems(invalid.problems, payload)) from None
    except NotFoundError as error:
        raise ApiError(404, "not_found", error.message) from None
    except ConflictError as error:
        raise ApiError(409, "conflict", error.message) from None
    except reporting.ReportError as error:
        field = "period_id" if error.field == "period" else error.field
        raise ApiError(422, "invalid", error.message, [_problem(None, None, field, error.message)]) from None
    db.session.commit()
    version = submitted.version
    headers = {"Location": url_for("api.report", report_id=version.report_id)}
    if not submitted.created:
        headers["Idempotent-Replayed"] = "true"
    return jsonify(version_json(version, _thresholds())), 201 if submitted.created else 200, headers


def _query_int(name: str, default: int | None, low: int, high: int | None, problems: list[dict]) -> int | None:
    text = request.args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < low or (high is not None and value > high):
        message = (_("Enter a whole number from %(low)s to %(high)s.", low=low, high=high) if high is not None
                   else _("Enter a whole number, %(low)s or more.", low=low))
        problems.append(_problem(None, None, name, message))
        return default
    return value


@api.route("/reports", methods=["GET"])
@api_token_required
def reports():
    token: ApiToken = g.api_token
    problems: list[dict] = []
    period_id = _query_int("period_id", None, 1, None, problems)
    limit = _query_int("limit", openapi.DEFAULT_LIMIT, 1, openapi.MAX_LIMIT, problems)
    offset = _query_int("offset", 0, 0, None, problems)
    branch = request.args.get("branch") or None
    if branch is not None and branch not in openapi.BRANCHES:
        problems.append(_problem(None, None, "branch", _("Choose one of: %(values)s.", values=", ".join(openapi.BRANCHES))))
    if problems:
        raise ApiError(422, "invalid", _("Correct the query parameters listed."), problems)

    stmt = select(SituationReport).where(SituationReport.organisation_id == token.organisation_id)
    if period_id is not None:
        stmt = stmt.where(SituationReport.period_id == period_id)
    if branch is not None:
        stmt = stmt.where(SituationReport.branch == Branch(branch).value)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.scalars(
        stmt.join(SituationReport.period)
        .order_by(ReportingPeriod.deadline_at.desc(), SituationReport.branch, SituationReport.id.desc())
        .options(selectinload(SituationReport.versions))
        .limit(limit)
        .offset(offset)
    ).unique()
    thresholds = _thresholds()
    return jsonify(
        {"reports": [report_json(r, thresholds) for r in rows], "total": total, "limit": limit, "offset": offset}
    )


@api.route("/reports/<int:report_id>")
@api_token_required
def report(report_id: int):
    token: ApiToken = g.api_token
    found = db.session.get(SituationReport, report_id)
    if found is None or found.organisation_id != token.organisation_id:
        raise ApiError(404, "not_found", _("No such report for this API token."))
    return jsonify(report_json(found, _thresholds(), versions=True))


@api.route("/openapi.json")
@public
def openapi_document():
    return jsonify(openapi.document())
