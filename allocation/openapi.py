"""The situation report API's JSON Schemas and its OpenAPI 3.1 document, built from the same dicts.

allocation/api.py validates request bodies with the request schemas below, and the tests check responses
against the response schemas, so the published description cannot drift from what the API does. The
schemas are JSON Schema 2020-12 (OpenAPI 3.1's dialect) and each stands alone (no ``$ref``), so a
validator needs nothing but the dict itself. This is developer documentation and stays in English.
"""
from __future__ import annotations

from allocation.forms import MAX_COMMENT, MAX_JUSTIFICATION
from allocation.models import Branch, Channel
from allocation.need import SupplyStatus
from allocation.reporting import MAX_QUANTITY
from allocation.tokens import TOKEN_PREFIX

API_VERSION = "1.0.0"
MAX_LINES = 100
MAX_IDEMPOTENCY_KEY = 100
DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# Request bodies above this size are refused with 413 before they are read.
MAX_BODY_BYTES = 256 * 1024

BRANCHES = [branch.value for branch in Branch]


def _quantity(description: str) -> dict:
    return {"type": "integer", "minimum": 0, "maximum": MAX_QUANTITY, "description": description}


def _nullable(schema: dict) -> dict:
    return {**schema, "type": [schema["type"], "null"]}


DATE_TIME = {"type": "string", "format": "date-time"}

# --- requests ---------------------------------------------------------------------------------------------

REPORT_LINE_INPUT = {
    "title": "ReportLineInput",
    "type": "object",
    "description": "The figures for one product category, counted in the category's reporting unit.",
    "required": ["category", "stock", "consumption_7d", "expected_14d", "stated_need"],
    "additionalProperties": False,
    "properties": {
        "category": {
            "type": "string",
            "minLength": 1,
            "maxLength": 40,
            "description": "Product category code, e.g. respirators, surgical_masks, gloves.",
        },
        "stock": _quantity("Stock on hand now."),
        "consumption_7d": _quantity("Used during the last 7 days."),
        "expected_14d": _quantity("Deliveries expected from the organisation's own orders within 14 days."),
        "stated_need": _quantity("The need the organisation states for the period's planning horizon."),
        "justification": {
            "type": "string",
            "maxLength": MAX_JUSTIFICATION,
            "default": "",
            "description": "Required when the stated need differs from the computed need by more than 25 %.",
        },
    },
}

REPORT_SUBMISSION = {
    "title": "ReportSubmission",
    "type": "object",
    "description": (
        "A situation report (lägesbild) for one period and branch of activity. Every category the period "
        "asks for must have exactly one line. Submitting again for the same period and branch stores a "
        "correction as a new version."
    ),
    "required": ["organisation", "branch", "lines"],
    "additionalProperties": False,
    "properties": {
        "organisation": {
            "type": "string",
            "minLength": 1,
            "maxLength": 16,
            "description": "The token's organisation: its code (REG-01) or municipality code (0180).",
        },
        "period_id": {
            "type": "integer",
            "minimum": 1,
            "description": "The reporting period; by default the one whose deadline is next.",
        },
        "branch": {"type": "string", "enum": BRANCHES, "description": "Branch of activity."},
        "comment": {"type": "string", "maxLength": MAX_COMMENT, "default": ""},
        "confirm": {
            "type": "boolean",
            "default": False,
            "description": "Set to true to accept consumption more than ten times the previous report's.",
        },
        "lines": {"type": "array", "minItems": 1, "maxItems": MAX_LINES, "items": REPORT_LINE_INPUT},
    },
}

# --- responses --------------------------------------------------------------------------------------------

ORGANISATION = {
    "title": "Organisation",
    "type": "object",
    "required": ["code", "municipality_code", "name"],
    "additionalProperties": False,
    "properties": {
        "code": {"type": "string"},
        "municipality_code": {"type": ["string", "null"], "description": "Kommunkod, for municipalities."},
        "name": {"type": "string"},
    },
}

PERIOD = {
    "title": "ReportingPeriod",
    "type": "object",
    "required": ["id", "opens_at", "deadline_at", "closes_at", "horizon_days", "categories"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "opens_at": DATE_TIME,
        "deadline_at": {**DATE_TIME, "description": "Reports after this are accepted but marked late."},
        "closes_at": {**DATE_TIME, "description": "No reports are taken from this moment."},
        "horizon_days": {"type": "integer", "description": "The planning horizon the stated need covers."},
        "categories": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Codes of the product categories the period asks for.",
        },
    },
}

REPORT_LINE = {
    "title": "ReportLine",
    "type": "object",
    "required": [
        "category", "stock", "consumption_7d", "expected_14d", "stated_need", "computed_need",
        "justification", "days_of_supply", "status",
    ],
    "additionalProperties": False,
    "properties": {
        "category": {"type": "string"},
        "stock": {"type": "integer"},
        "consumption_7d": {"type": "integer"},
        "expected_14d": {"type": "integer"},
        "stated_need": {"type": "integer"},
        "computed_need": {
            "type": "integer",
            "description": "Daily consumption × horizon − stock − expected, never below zero.",
        },
        "justification": {"type": "string"},
        "days_of_supply": {
            "type": ["string", "null"],
            "pattern": r"^[0-9]+\.[0-9]$",
            "description": "Stock ÷ daily consumption as an exact decimal string; null when nothing is used.",
        },
        "status": {
            "type": "string",
            "enum": [status.value for status in SupplyStatus],
            "description": "red under the red threshold (default 7 days), amber under the amber one (14).",
        },
    },
}

VERSION = {
    "title": "ReportVersion",
    "type": "object",
    "description": "One submission or correction of a report. Versions are never changed.",
    "required": [
        "id", "report_id", "period_id", "branch", "number", "submitted_at", "channel", "late",
        "idempotency_key", "comment", "lines",
    ],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "integer"},
        "report_id": {"type": "integer"},
        "period_id": {"type": "integer"},
        "branch": {"type": "string", "enum": BRANCHES},
        "number": {"type": "integer", "minimum": 1},
        "submitted_at": DATE_TIME,
        "channel": {"type": "string", "enum": [channel.value for channel in Channel]},
        "late": {"type": "boolean"},
        "idempotency_key": {"type": ["string", "null"]},
        "comment": {"type": "string"},
        "lines": {"type": "array", "items": REPORT_LINE},
    },
}

_REPORT_PROPERTIES = {
    "id": {"type": "integer"},
    "organisation": ORGANISATION,
    "period": PERIOD,
    "branch": {"type": "string", "enum": BRANCHES},
    "created_at": DATE_TIME,
    "version_count": {"type": "integer", "minimum": 0},
    "latest_version": {**VERSION, "type": ["object", "null"]},
}
_REPORT_REQUIRED = ["id", "organisation", "period", "branch", "created_at", "version_count", "latest_version"]

REPORT = {
    "title": "Report",
    "type": "object",
    "description": "A situation report: one organisation, period and branch; its figures are in its versions.",
    "required": _REPORT_REQUIRED,
    "additionalProperties": False,
    "properties": _REPORT_PROPERTIES,
}

REPORT_DETAIL = {
    "title": "ReportDetail",
    "type": "object",
    "description": "A report with every version, oldest first.",
    "required": [*_REPORT_REQUIRED, "versions"],
    "additionalProperties": False,
    "properties": {**_REPORT_PROPERTIES, "versions": {"type": "array", "items": VERSION}},
}

REPORT_LIST = {
    "title": "ReportList",
    "type": "object",
    "required": ["reports", "total", "limit", "offset"],
    "additionalProperties": False,
    "properties": {
        "reports": {"type": "array", "items": REPORT},
        "total": {"type": "integer", "description": "How many reports match, on all pages."},
        "limit": {"type": "integer"},
        "offset": {"type": "integer"},
    },
}

PROBLEM = {
    "title": "Problem",
    "type": "object",
    "required": ["line", "category", "field", "message"],
    "additionalProperties": False,
    "properties": {
        "line": {"type": ["integer", "null"], "description": "Index in lines (from 0), or null."},
        "category": {"type": ["string", "null"], "description": "Category code the problem concerns, or null."},
        "field": {
            "type": ["string", "null"],
            "description": "The field, query parameter or header (Idempotency-Key) at fault, or null.",
        },
        "message": {"type": "string"},
    },
}

ERROR = {
    "title": "Error",
    "type": "object",
    "required": ["error", "message"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "string",
            "description": (
                "A stable code: unauthorized, bad_request, not_found, invalid, confirmation_required, conflict, "
                "too_large; other HTTP errors carry a short title."
            ),
        },
        "message": {"type": "string", "description": "What went wrong, for people (Swedish or English)."},
        "problems": {"type": "array", "items": PROBLEM},
    },
}

OPENAPI_DOCUMENT = {"type": "object", "description": "This OpenAPI 3.1 document."}

SCHEMAS = {
    "ReportSubmission": REPORT_SUBMISSION,
    "ReportLineInput": REPORT_LINE_INPUT,
    "Report": REPORT,
    "ReportDetail": REPORT_DETAIL,
    "ReportList": REPORT_LIST,
    "ReportVersion": VERSION,
    "ReportLine": REPORT_LINE,
    "ReportingPeriod": PERIOD,
    "Organisation": ORGANISATION,
    "Problem": PROBLEM,
    "Error": ERROR,
}

# --- the document -----------------------------------------------------------------------------------------

_EXAMPLE_LINES = [
    {"category": "respirators", "stock": 1200, "consumption_7d": 700, "expected_14d": 500, "stated_need": 450},
    {
        "category": "gloves",
        "stock": 40000,
        "consumption_7d": 21000,
        "expected_14d": 0,
        "stated_need": 60000,
        "justification": "A second nursing home opens next week.",
    },
]
_EXAMPLE_SUBMISSION = {
    "organisation": "0180",
    "branch": "social_services",
    "comment": "",
    "lines": _EXAMPLE_LINES,
}
_EXAMPLE_VERSION = {
    "id": 5812,
    "report_id": 2210,
    "period_id": 96,
    "branch": "social_services",
    "number": 1,
    "submitted_at": "2020-04-14T08:12:03+00:00",
    "channel": "api",
    "late": False,
    "idempotency_key": "stockholm-ss-2020-04-14",
    "comment": "",
    "lines": [
        {
            "category": "respirators",
            "stock": 1200,
            "consumption_7d": 700,
            "expected_14d": 500,
            "stated_need": 450,
            "computed_need": 400,
            "justification": "",
            "days_of_supply": "12.0",
            "status": "amber",
        },
    ],
}


def _json(schema_name: str, example=None, examples=None) -> dict:
    media = {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
    if example is not None:
        media["example"] = example
    if examples is not None:
        media["examples"] = examples
    return {"application/json": media}


def _error_response(description: str, example: dict, headers: dict | None = None) -> dict:
    response = {"description": description, "content": _json("Error", example=example)}
    if headers:
        response["headers"] = headers
    return response


def _problem(line, category, field, message) -> dict:
    return {"line": line, "category": category, "field": field, "message": message}


RESPONSES = {
    "Unauthorized": _error_response(
        "No token, an unknown token or a revoked one. Cookies are never accepted.",
        {"error": "unauthorized", "message": "Send an API token: Authorization: Bearer <token>."},
        headers={
            "WWW-Authenticate": {
                "description": 'Bearer realm="samordna", with error="invalid_token" when a token was sent.',
                "schema": {"type": "string"},
            }
        },
    ),
    "BadRequest": _error_response(
        "The body is not JSON, or not sent as application/json.",
        {"error": "bad_request", "message": "Send the report as JSON with Content-Type: application/json."},
    ),
    "NotFound": _error_response(
        "No such report or organisation for this token (another organisation's reports are never shown).",
        {"error": "not_found", "message": "No such report for this API token."},
    ),
    "Invalid": {
        "description": (
            "The request breaks the rules. Every problem is listed at once, each naming the line (index), "
            "category and field; nothing was saved."
        ),
        "content": _json(
            "Error",
            examples={
                "line": {
                    "summary": "Bad figures",
                    "value": {
                        "error": "invalid",
                        "message": "The report was not saved; correct the problems listed.",
                        "problems": [
                            _problem(0, "respirators", "stock", "Enter a whole number."),
                            _problem(1, "gloves", "consumption_7d", "The number cannot be negative."),
                            _problem(None, "sampling", "category", "Sampling material is missing from the report."),
                        ],
                    },
                },
                "closed_period": {
                    "summary": "A closed period",
                    "value": {
                        "error": "invalid",
                        "message": "This reporting period is closed; report in the current period.",
                        "problems": [
                            _problem(
                                None, None, "period_id", "This reporting period is closed; report in the current period."
                            )
                        ],
                    },
                },
            },
        ),
    },
    "TooLarge": _error_response(
        f"The body is larger than {MAX_BODY_BYTES // 1024} KiB.",
        {"error": "too_large", "message": "The request body is too large."},
    ),
}


def _security_schemes() -> dict:
    return {
        "bearerAuth": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": f"{TOKEN_PREFIX}<43 characters>",
            "description": (
                "A per-organisation API token, created under Situation reports → API tokens by a reporter of "
                "the organisation or an administrator. It is shown once; Samordna keeps only a hash of it. "
                "Revoked tokens are refused at once."
            ),
        }
    }


def _error_refs(*names: str) -> dict:
    codes = {"Unauthorized": "401", "BadRequest": "400", "NotFound": "404", "Invalid": "422", "TooLarge": "413"}
    return {codes[name]: {"$ref": f"#/components/responses/{name}"} for name in names}


def _report_paths() -> dict:
    return {
        "/reports": {
            "get": {
                "operationId": "listReports",
                "summary": "The token organisation's reports, newest period first",
                "tags": ["reports"],
                "parameters": [
                    {
                        "name": "period_id",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1},
                        "description": "Only reports for this period.",
                    },
                    {
                        "name": "branch",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "string", "enum": BRANCHES},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                    },
                    {
                        "name": "offset",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "integer", "minimum": 0, "default": 0},
                    },
                ],
                "responses": {
                    "200": {"description": "A page of reports.", "content": _json("ReportList")},
                    **_error_refs("Unauthorized", "Invalid"),
                },
            },
            "post": {
                "operationId": "submitReport",
                "summary": "Submit a situation report, or a correction of one as a new version",
                "tags": ["reports"],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_IDEMPOTENCY_KEY},
                        "description": (
                            "Any unique string per submission, e.g. a UUID. Sending the same key again (after "
                            "a timeout, say) stores nothing new and answers 200 with the version first stored. "
                            "Reusing a key for different figures is refused with 422."
                        ),
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {"$ref": "#/components/schemas/ReportSubmission"},
                            "examples": {
                                "report": {"summary": "A municipality's report", "value": _EXAMPLE_SUBMISSION},
                                "confirmed": {
                                    "summary": "Resubmitted after 409, confirming a consumption spike",
                                    "value": {**_EXAMPLE_SUBMISSION, "confirm": True},
                                },
                            },
                        }
                    },
                },
                "responses": {
                    "201": {
                        "description": "Stored as a new version.",
                        "headers": {
                            "Location": {
                                "description": "The report's URL in this API.",
                                "schema": {"type": "string"},
                            }
                        },
                        "content": _json("ReportVersion", example=_EXAMPLE_VERSION),
                    },
                    "200": {
                        "description": "The Idempotency-Key was used before: nothing new was stored.",
                        "headers": {
                            "Idempotent-Replayed": {"schema": {"type": "string", "enum": ["true"]}},
                            "Location": {"schema": {"type": "string"}},
                        },
                        "content": _json("ReportVersion", example=_EXAMPLE_VERSION),
                    },
                    **_error_refs("BadRequest", "Unauthorized", "NotFound", "TooLarge", "Invalid"),
                    "409": {
                        "description": (
                            "confirmation_required: a consumption more than ten times the previous report's; "
                            "check the figures and send again with \"confirm\": true. conflict: another "
                            "submission of the same report arrived at the same moment; send again."
                        ),
                        "content": _json(
                            "Error",
                            example={
                                "error": "confirmation_required",
                                "message": "Check the figures and send the report again with \"confirm\": true.",
                                "problems": [
                                    _problem(
                                        0,
                                        "respirators",
                                        "consumption_7d",
                                        "The consumption is more than ten times the previous report's (70). "
                                        "Check the number and confirm it.",
                                    )
                                ],
                            },
                        ),
                    },
                },
            },
        },
        "/reports/{report_id}": {
            "get": {
                "operationId": "getReport",
                "summary": "One of the token organisation's reports with every version",
                "tags": ["reports"],
                "parameters": [
                    {"name": "report_id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {"description": "The report.", "content": _json("ReportDetail")},
                    **_error_refs("Unauthorized", "NotFound"),
                },
            }
        },
    }


def document() -> dict:
    """The OpenAPI 3.1 description of /api/v1, as served at /api/v1/openapi.json."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Samordna situation report API",
            "version": API_VERSION,
            "summary": "Regions and municipalities send their situation reports (lägesbild) from their own systems.",
            "description": (
                "Each report states, per product category, the stock on hand, consumption during the last "
                "7 days, deliveries expected from the organisation's own orders within 14 days and the need "
                "for the planning horizon, in the category's reporting unit (pieces, pairs, bottles …). "
                "Quantities are whole numbers of at least 0. A token belongs to one organisation and sees "
                "only its reports. Times are UTC in ISO 8601. Errors are JSON objects with a stable error "
                "code, a message and, for rule violations, every problem at once."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [
            {"name": "reports", "description": "Situation reports (lägesbild)."},
            {"name": "meta", "description": "This description."},
        ],
        "paths": {
            **_report_paths(),
            "/openapi.json": {
                "get": {
                    "operationId": "getOpenApiDocument",
                    "summary": "This OpenAPI document (no token needed)",
                    "tags": ["meta"],
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "The document.",
                            "content": {"application/json": {"schema": OPENAPI_DOCUMENT}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": _security_schemes(),
        },
    }
