"""The situation report API: bearer tokens, submission with idempotency, validation errors, reading, OpenAPI."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from sqlalchemy import func, select

from allocation import openapi, reporting, tokens
from allocation.models import ApiToken, Channel, SituationReport, SituationReportVersion
from app.audit.models import AuditEntry
from tests.allocation.conftest import full_lines
from tests.conftest import organisation

URL = "/api/v1/reports"


def _secret(session, users, code="0180", name="Care records system") -> str:
    reporter = users.make("reporter", code)
    issued = tokens.create_token(session, reporter, organisation=organisation(code), name=name)
    session.commit()
    return issued.secret


def _body(period, code="0180", branch="healthcare", **overrides) -> dict:
    """A complete, valid report; ``overrides`` maps category code to changed line fields."""
    lines = []
    for category in period.categories:
        line = {"category": category.code, "stock": 1000, "consumption_7d": 700, "expected_14d": 300, "stated_need": 800}
        line.update(overrides.get(category.code, {}))
        lines.append(line)
    return {"organisation": code, "branch": branch, "lines": lines}


def _post(client, secret, body, key=None, **headers):
    headers = {"Authorization": f"Bearer {secret}", **headers}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(URL, json=body, headers=headers)


def _get(client, secret, url=URL, **params):
    return client.get(url, query_string=params, headers={"Authorization": f"Bearer {secret}"})


def _count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def _conforms(body, schema) -> None:
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    errors = [error.message for error in validator.iter_errors(body)]
    assert errors == [], errors


def _where(response) -> set[tuple]:
    return {(p["line"], p["category"], p["field"]) for p in response.get_json()["problems"]}


# --- authentication --------------------------------------------------------------------------------------

def test_a_request_without_a_token_is_refused_with_a_bearer_challenge(client, period):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="samordna"'
    assert response.get_json()["error"] == "unauthorized"


def test_an_unknown_token_is_refused(client, period):
    response = _get(client, tokens.new_secret())
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_a_revoked_token_is_refused(client, session, users, period):
    secret = _secret(session, users)
    admin = users.make("administrator", "SOS")
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(secret)))
    assert _get(client, secret).status_code == 200
    tokens.revoke_token(session, admin, token)
    session.commit()
    response = _post(client, secret, _body(period))
    assert response.status_code == 401
    assert response.get_json()["message"] == "The API token is unknown or has been revoked."
    assert _count(session, SituationReportVersion) == 0


def test_a_logged_in_browser_without_a_token_gets_401_not_its_cookie_session(client, auth, users, period):
    reporter = users.make("reporter", "0180")
    auth.login(reporter)
    assert client.get("/need/reports/").status_code == 200
    assert client.get(URL).status_code == 401
    assert client.post(URL, json=_body(period)).status_code == 401


def test_using_a_token_notes_when_it_was_last_used(client, session, users, period):
    secret = _secret(session, users)
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(secret)))
    assert token.last_used_at is None
    _get(client, secret)
    session.expire_all()
    assert token.last_used_at is not None


# --- submitting ------------------------------------------------------------------------------------------

def test_a_report_posted_with_a_token_is_stored_as_a_version_sent_through_the_api(client, session, users, period):
    secret = _secret(session, users)
    response = _post(client, secret, _body(period))
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    _conforms(body, openapi.VERSION)
    assert body["channel"] == "api" and body["number"] == 1 and body["period_id"] == period.id
    assert response.headers["Location"] == f"/api/v1/reports/{body['report_id']}"
    assert {line["computed_need"] for line in body["lines"]} == {800}
    assert {line["days_of_supply"] for line in body["lines"]} == {"10.0"}

    version = session.get(SituationReportVersion, body["id"])
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == tokens.hash_token(secret)))
    assert version.channel == Channel.API and version.api_token_id == token.id and version.submitted_by_id is None
    assert version.report.organisation.municipality_code == "0180"
    writers = set(session.scalars(select(AuditEntry.actor_label).where(AuditEntry.table_name == "situation_report_versions")))
    assert writers == {tokens.actor_label(token)}


def test_the_organisation_may_be_named_by_its_code_as_well_as_its_municipality_code(client, session, users, period):
    secret = _secret(session, users, code="REG-09")  # Region Gotland, also municipality 0980
    assert _post(client, secret, _body(period, code="REG-09")).status_code == 201
    assert _post(client, secret, _body(period, code="0980")).get_json()["number"] == 2


def test_the_same_idempotency_key_stores_one_version_and_replays_it(client, session, users, period):
    secret = _secret(session, users)
    first = _post(client, secret, _body(period), key="stockholm-2020-04-14")
    again = _post(client, secret, _body(period), key="stockholm-2020-04-14")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    assert _count(session, SituationReportVersion) == 1


def test_an_idempotency_key_reused_for_different_figures_is_refused(client, session, users, period):
    secret = _secret(session, users)
    code = period.categories[0].code
    assert _post(client, secret, _body(period), key="k-1").status_code == 201
    response = _post(client, secret, _body(period, **{code: {"stock": 900, "stated_need": 900}}), key="k-1")
    assert response.status_code == 422
    assert _where(response) == {(None, None, "Idempotency-Key")}
    assert "version 1" in response.get_json()["problems"][0]["message"]
    assert _count(session, SituationReportVersion) == 1


def test_a_second_submission_for_the_same_period_and_branch_is_a_correction(client, session, users, period):
    secret = _secret(session, users)
    first = _post(client, secret, _body(period)).get_json()
    second = _post(client, secret, _body(period)).get_json()
    assert second["report_id"] == first["report_id"] and second["number"] == 2


def test_a_whole_number_written_with_a_zero_fraction_counts_as_that_integer(client, session, users, period):
    # JSON Schema defines 12.0 as an integer; the published schema and the API agree on it.
    secret = _secret(session, users)
    code = period.categories[0].code
    response = client.post(
        URL,
        data=json.dumps(_body(period)).replace('"stock": 1000', '"stock": 1000.0', 1),
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert next(line for line in response.get_json()["lines"] if line["category"] == code)["stock"] == 1000


BAD_LINES = [
    pytest.param({"stock": 1.5}, "stock", "Enter a whole number", id="decimal"),
    pytest.param({"stock": "12"}, "stock", "Enter a whole number", id="string"),
    pytest.param({"consumption_7d": -1}, "consumption_7d", "cannot be negative", id="negative"),
    pytest.param({"expected_14d": True}, "expected_14d", "Enter a whole number", id="boolean"),
    pytest.param({"stated_need": 10**12}, "stated_need", "too large", id="huge"),
    pytest.param({"colour": "red"}, "colour", "not a field of this API", id="extra-field"),
]


@pytest.mark.parametrize(("change", "field", "message"), BAD_LINES)
def test_a_bad_figure_is_refused_naming_its_line_and_field_and_nothing_is_saved(
    client, session, users, period, change, field, message
):
    secret = _secret(session, users)
    code = period.categories[1].code
    response = _post(client, secret, _body(period, **{code: change}))
    assert response.status_code == 422
    body = response.get_json()
    _conforms(body, openapi.ERROR)
    assert body["error"] == "invalid"
    assert [(p["line"], p["category"], p["field"]) for p in body["problems"]] == [(1, code, field)]
    assert message in body["problems"][0]["message"]
    assert (_count(session, SituationReport), _count(session, SituationReportVersion)) == (0, 0)


def test_a_missing_field_is_named(client, session, users, period):
    secret = _secret(session, users)
    body = _body(period)
    del body["lines"][2]["stated_need"]
    del body["branch"]
    response = _post(client, secret, body)
    assert response.status_code == 422
    assert _where(response) == {(None, None, "branch"), (2, period.categories[2].code, "stated_need")}
    assert _count(session, SituationReportVersion) == 0


def test_an_unknown_category_and_a_missing_one_are_both_reported(client, session, users, period):
    secret = _secret(session, users)
    body = _body(period)
    missing = body["lines"][-1]["category"]
    body["lines"][-1]["category"] = "ventilators"
    response = _post(client, secret, body)
    assert response.status_code == 422
    last = len(body["lines"]) - 1
    assert _where(response) == {(last, "ventilators", "category"), (None, missing, "category")}
    assert _count(session, SituationReportVersion) == 0


def test_a_category_sent_twice_points_at_the_second_line(client, session, users, period):
    secret = _secret(session, users)
    body = _body(period)
    body["lines"].append(dict(body["lines"][0]))
    response = _post(client, secret, body)
    assert response.status_code == 422
    assert (len(body["lines"]) - 1, body["lines"][0]["category"], "category") in _where(response)


def test_a_stated_need_far_from_the_computed_one_asks_for_a_justification(client, session, users, period):
    secret = _secret(session, users)
    code = period.categories[0].code
    response = _post(client, secret, _body(period, **{code: {"stated_need": 5000}}))
    assert response.status_code == 422 and _where(response) == {(0, code, "justification")}
    fixed = _body(period, **{code: {"stated_need": 5000, "justification": "A new nursing home opens."}})
    assert _post(client, secret, fixed).status_code == 201


def test_another_organisation_is_not_found_for_the_token(client, session, users, period):
    secret = _secret(session, users, code="0180")
    for code in ("1480", "9999"):
        response = _post(client, secret, _body(period, code=code))
        assert response.status_code == 404
        assert response.get_json() == {"error": "not_found", "message": "No such organisation for this API token."}
    assert _count(session, SituationReportVersion) == 0


def test_a_closed_period_is_refused_on_the_period_id(client, session, users, period, previous_period):
    secret = _secret(session, users)
    response = _post(client, secret, {**_body(period), "period_id": previous_period.id})
    assert response.status_code == 422
    assert _where(response) == {(None, None, "period_id")}
    assert "closed" in response.get_json()["problems"][0]["message"]
    missing = _post(client, secret, {**_body(period), "period_id": previous_period.id + 1000})
    assert missing.status_code == 422 and _where(missing) == {(None, None, "period_id")}
    assert _count(session, SituationReportVersion) == 0


def test_a_tenfold_consumption_asks_for_confirmation_then_is_accepted(client, session, users, period, previous_period):
    reporter = users.make("reporter", "0180")
    reporting.submit_report(
        session, organisation=organisation("0180"), period=previous_period, branch="healthcare",
        lines=full_lines(previous_period), channel=Channel.FORM, user=reporter,
        now=previous_period.deadline_at - timedelta(hours=1),
    )
    session.commit()
    secret = _secret(session, users)
    code = period.categories[3].code
    spiked = _body(period, **{code: {"consumption_7d": 7001, "stated_need": 140_000, "justification": "Outbreak"}})
    response = _post(client, secret, spiked, key="spike-1")
    assert response.status_code == 409
    body = response.get_json()
    _conforms(body, openapi.ERROR)
    assert body["error"] == "confirmation_required" and _where(response) == {(3, code, "consumption_7d")}
    assert _count(session, SituationReportVersion) == 1

    confirmed = _post(client, secret, {**spiked, "confirm": True}, key="spike-1")
    assert confirmed.status_code == 201
    assert _count(session, SituationReportVersion) == 2


def test_a_body_that_is_not_json_is_a_bad_request(client, session, users, period):
    secret = _secret(session, users)
    auth = {"Authorization": f"Bearer {secret}"}
    malformed = client.post(URL, data="{not json", headers={**auth, "Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.get_json()["error"] == "bad_request"
    form = client.post(URL, data={"organisation": "0180"}, headers=auth)
    assert form.status_code == 400 and "application/json" in form.get_json()["message"]
    not_object = _post(client, secret, [1, 2])
    assert not_object.status_code == 422 and _where(not_object) == {(None, None, None)}


def test_a_body_that_is_too_large_is_refused_with_413(client, session, users, period):
    secret = _secret(session, users)
    body = {**_body(period), "comment": "x" * (openapi.MAX_BODY_BYTES + 1)}
    response = _post(client, secret, body)
    assert response.status_code == 413
    assert response.get_json()["error"] == "too_large"


def test_an_overlong_idempotency_key_is_refused(client, session, users, period):
    secret = _secret(session, users)
    response = _post(client, secret, _body(period), key="k" * 101)
    assert response.status_code == 422 and _where(response) == {(None, None, "Idempotency-Key")}


# --- reading ---------------------------------------------------------------------------------------------

def _submit(session, user, period, code, branch="healthcare", now=None):
    result = reporting.submit_report(
        session, organisation=organisation(code), period=period, branch=branch, lines=full_lines(period),
        channel=Channel.FORM, user=user, now=now,
    )
    session.commit()
    return result.version


def test_the_list_holds_only_the_token_organisations_reports_newest_period_first(
    client, session, users, period, previous_period
):
    stockholm, goteborg = users.make("reporter", "0180"), users.make("reporter", "1480")
    earlier = previous_period.deadline_at - timedelta(hours=1)
    _submit(session, stockholm, previous_period, "0180", now=earlier)
    _submit(session, stockholm, period, "0180", "healthcare")
    _submit(session, stockholm, period, "0180", "lss")
    _submit(session, goteborg, period, "1480")
    secret = _secret(session, users)

    response = _get(client, secret)
    assert response.status_code == 200
    body = response.get_json()
    _conforms(body, openapi.REPORT_LIST)
    assert body["total"] == 3
    assert {r["organisation"]["municipality_code"] for r in body["reports"]} == {"0180"}
    assert [r["period"]["id"] for r in body["reports"]] == [period.id, period.id, previous_period.id]
    assert body["reports"][0]["latest_version"]["lines"]

    assert _get(client, secret, branch="lss").get_json()["total"] == 1
    assert _get(client, secret, period_id=previous_period.id).get_json()["total"] == 1
    page = _get(client, secret, limit=1, offset=1).get_json()
    assert (len(page["reports"]), page["total"], page["limit"], page["offset"]) == (1, 3, 1, 1)
    assert page["reports"][0]["id"] == body["reports"][1]["id"]


def test_bad_list_parameters_are_named(client, session, users, period):
    secret = _secret(session, users)
    response = _get(client, secret, limit=101, offset=-1, branch="dentistry")
    assert response.status_code == 422
    assert {p["field"] for p in response.get_json()["problems"]} == {"limit", "offset", "branch"}


def test_a_report_is_read_with_every_version_and_another_organisations_is_not_found(client, session, users, period):
    stockholm, goteborg = users.make("reporter", "0180"), users.make("reporter", "1480")
    own = _submit(session, stockholm, period, "0180")
    _submit(session, stockholm, period, "0180")
    other = _submit(session, goteborg, period, "1480")
    secret = _secret(session, users)

    response = _get(client, secret, f"{URL}/{own.report_id}")
    assert response.status_code == 200
    body = response.get_json()
    _conforms(body, openapi.REPORT_DETAIL)
    assert [v["number"] for v in body["versions"]] == [1, 2] and body["latest_version"]["number"] == 2
    assert body["versions"][0]["channel"] == "form"

    for report_id in (other.report_id, other.report_id + 1000):
        missing = _get(client, secret, f"{URL}/{report_id}")
        assert missing.status_code == 404 and missing.get_json()["error"] == "not_found"


def test_api_answers_are_not_cached(client, session, users, period):
    secret = _secret(session, users)
    assert _get(client, secret).headers["Cache-Control"] == "no-store"


# --- the OpenAPI document --------------------------------------------------------------------------------

def test_the_openapi_document_is_public_and_valid_openapi_3_1(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    validate_openapi(document)
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_openapi_document_describes_every_api_route_and_no_other(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    base = document["servers"][0]["url"]
    registered = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(base + "/"):
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule.removeprefix(base))
            registered |= {(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}}
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert registered and documented == registered


def test_the_api_validates_with_the_schemas_the_document_publishes(client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert document["components"]["schemas"]["ReportSubmission"] == openapi.REPORT_SUBMISSION
    assert document["components"]["schemas"]["ReportVersion"] == openapi.VERSION


def test_every_example_in_the_document_matches_its_schema(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]

    def media_types():
        for item in document["paths"].values():
            for operation in item.values():
                if "requestBody" in operation:
                    yield operation["requestBody"]["content"]["application/json"]
                for response in operation["responses"].values():
                    if "content" in response:
                        yield response["content"]["application/json"]
        for response in document["components"]["responses"].values():
            yield response["content"]["application/json"]

    checked = 0
    for media in media_types():
        ref = media["schema"].get("$ref")
        if ref is None:
            continue
        schema = schemas[ref.rsplit("/", 1)[1]]
        examples = [media["example"]] if "example" in media else []
        examples += [example["value"] for example in media.get("examples", {}).values()]
        for example in examples:
            _conforms(example, schema)
            checked += 1
    assert checked >= 8
