"""The situation report pages: the web form, the report with its history, and who may see and send what."""

from __future__ import annotations

import re
from datetime import timedelta

from flask import get_template_attribute
from sqlalchemy import event, func, select

from allocation import reporting
from allocation.forms import report_form
from allocation.models import Channel, ReportingPeriod, SituationReport, SituationReportVersion
from allocation.views_reports import LINE_FIELDS, figure_inputs
from app.catalog.models import ProductCategory
from app.db import utcnow
from app.extensions import db
from tests.allocation.conftest import full_lines
from tests.conftest import organisation


def _form(period, branch="healthcare", key="form-test", **overrides) -> dict:
    """Form fields for a complete report; ``overrides`` maps category code to {field: text}."""
    data = {"period_id": str(period.id), "branch": branch, "idempotency_key": key, "comment": ""}
    for category in period.categories:
        values = {
            "stock": "1000",
            "consumption_7d": "700",
            "expected_14d": "300",
            "stated_need": "800",
            "justification": "",
        }
        values.update(overrides.get(category.code, {}))
        for name, value in values.items():
            data[f"lines-{category.code}-{name}"] = value
    return data


def _versions(session) -> int:
    return session.scalar(select(func.count()).select_from(SituationReportVersion))


def _report_of(session, code: str) -> SituationReport:
    return session.scalar(
        select(SituationReport).where(SituationReport.organisation_id == organisation(code).id)
    )


def _error_beside(html: str, field_id: str) -> str:
    """The error text shown for a field, after checking the input points at it with aria-describedby."""
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">(.*?)</p>', html, re.DOTALL)
    assert match, f"no error beside {field_id}"
    assert re.search(
        rf'id="{re.escape(field_id)}"[^>]*aria-describedby="[^"]*{re.escape(field_id)}-error', html
    ) or re.search(
        rf'aria-describedby="[^"]*{re.escape(field_id)}-error[^"]*"[^>]*id="{re.escape(field_id)}"', html
    )
    return match.group(1)


def _submit_by_service(session, user, period, code="0180", now=None, **overrides):
    result = reporting.submit_report(
        session,
        organisation=organisation(code),
        period=period,
        branch="healthcare",
        lines=full_lines(period, **overrides),
        channel=Channel.FORM,
        user=user,
        now=now,
    )
    session.commit()
    return result.version


def test_the_form_is_prefilled_from_the_organisations_previous_report(
    client, auth, session, users, period, previous_period
):
    reporter = users.make("reporter", "0180")
    first = previous_period.categories[0].code
    _submit_by_service(
        session,
        reporter,
        previous_period,
        now=previous_period.opens_at + timedelta(hours=1),
        **{first: {"stock": 4321, "consumption_7d": 70, "stated_need": 0, "expected_14d": 5000}},
    )
    auth.login(reporter)
    response = client.get(f"/need/reports/new?period_id={period.id}&branch=healthcare")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'id="lines-{first}-stock"[^>]*value="4321"', html)
    assert re.search(rf'id="lines-{first}-expected_14d"[^>]*value="5000"', html)
    assert "Filled in from your report for the period" in html


def test_the_form_shows_each_category_with_its_unit(client, auth, users, period):
    auth.login(users.make("reporter", "0180"))
    html = client.get(f"/need/reports/new?period_id={period.id}&branch=lss").get_data(as_text=True)
    disinfectant = next(c for c in period.categories if c.code == "hand_disinfectant")
    assert f'id="line-{disinfectant.code}"' in html
    assert disinfectant.name_en in html and "unit: bottle" in html and "unit: piece" in html
    assert "Need for the next 21 days" in html


def _without_layout(html) -> str:
    """Markup without its line breaks and indentation, which differ between macros' sources."""
    return re.sub(r"\s*\n\s*", "", str(html))


def test_the_report_figures_are_marked_up_as_the_field_macro_marks_up_their_wtforms_fields(app, period):
    # The form renders its figures from FigureInputs instead of WTForms' widgets, for speed; labels, typed
    # values, errors and the aria attributes tying them together must come out the same.
    code = period.categories[0].code
    posted = {
        f"lines-{code}-stock": "-5",
        f"lines-{code}-consumption_7d": "12 000",
        f"lines-{code}-expected_14d": 'x<y & "z"',
        f"lines-{code}-stated_need": "",
        f"lines-{code}-justification": 'Because <b>"so"</b> & more',
    }
    prefilled = {"lines": {code: {"stock": 4321, "justification": "As before: <none> & more"}}}
    for method, sent, data in [("GET", None, prefilled), ("POST", posted, None)]:
        with app.test_request_context("/need/reports/new", method=method, data=sent):
            form = report_form(period.categories, period.horizon_days, data=data)
            form.validate()
            line = form.lines.form[code].form
            if method == "POST":
                line.justification.errors = ["Explain why."]  # as show_problems adds the service's
            field = get_template_attribute("macros/forms.html", "field")
            figure_field = get_template_attribute("macros/forms.html", "figure_field")
            figures = figure_inputs(line, {})
            for name in LINE_FIELDS:
                for hint in (None, "A hint"):
                    expected = _without_layout(field(line[name], hint))
                    assert _without_layout(figure_field(figures[name], hint)) == expected, (method, name, hint)


def test_choosing_a_period_defaults_to_the_current_one(client, auth, users, period):
    auth.login(users.make("reporter", "0180"))
    html = client.get("/need/reports/new").get_data(as_text=True)
    assert re.search(rf'<option selected value="{period.id}"|<option value="{period.id}" selected', html)


def test_submitting_the_form_saves_version_1_and_says_so(client, auth, session, users, period):
    auth.login(users.make("reporter", "0180"))
    response = client.post("/need/reports/new", data=_form(period, branch="social_services"))
    report = _report_of(session, "0180")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/need/reports/{report.id}")
    assert report.branch == "social_services" and report.latest.number == 1
    assert {line.stock for line in report.latest.lines} == {1000}
    assert report.latest.channel == "form"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Report submitted (version 1)." in page
    assert "marked late" not in page


def test_sending_the_same_form_twice_saves_one_version(client, auth, session, users, period):
    auth.login(users.make("reporter", "0180"))
    client.post("/need/reports/new", data=_form(period, key="form-once"))
    again = client.post("/need/reports/new", data=_form(period, key="form-once"), follow_redirects=True)
    assert _versions(session) == 1
    assert "already sent as version 1" in again.get_data(as_text=True)


def test_negative_numbers_and_letters_are_shown_beside_their_fields_and_nothing_is_saved(
    client, auth, session, users, period
):
    auth.login(users.make("reporter", "0180"))
    first, second = period.categories[0].code, period.categories[1].code
    data = _form(
        period, **{first: {"stock": "-5"}, second: {"consumption_7d": "many", "expected_14d": "1.5"}}
    )
    response = client.post("/need/reports/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "cannot be negative" in _error_beside(html, f"lines-{first}-stock")
    assert "whole number" in _error_beside(html, f"lines-{second}-consumption_7d")
    assert "whole number" in _error_beside(html, f"lines-{second}-expected_14d")
    assert f'id="lines-{first}-consumption_7d-error"' not in html
    assert _versions(session) == 0


def test_thousands_written_with_spaces_are_read_as_numbers(client, auth, session, users, period):
    auth.login(users.make("reporter", "0180"))
    first = period.categories[0].code
    data = _form(
        period, **{first: {"stock": "12 000", "consumption_7d": "7\u00a0000", "stated_need": "8\u202f700"}}
    )
    assert client.post("/need/reports/new", data=data).status_code == 302
    line = next(line for line in _report_of(session, "0180").latest.lines if line.category.code == first)
    assert (line.stock, line.consumption_7d, line.stated_need) == (12000, 7000, 8700)


def test_a_stated_need_far_from_the_computed_one_needs_a_justification_beside_its_line(
    client, auth, session, users, period
):
    auth.login(users.make("reporter", "0180"))
    first = period.categories[0].code
    response = client.post("/need/reports/new", data=_form(period, **{first: {"stated_need": "5000"}}))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "explain why" in _error_beside(html, f"lines-{first}-justification")
    assert _versions(session) == 0
    justified = _form(period, **{first: {"stated_need": "5000", "justification": "New care home opens"}})
    assert client.post("/need/reports/new", data=justified).status_code == 302
    line = next(line for line in _report_of(session, "0180").latest.lines if line.category.code == first)
    assert (line.stated_need, line.justification) == (5000, "New care home opens")


def test_a_consumption_spike_asks_for_confirmation_and_is_saved_once_confirmed(
    client, auth, session, users, period, previous_period
):
    reporter = users.make("reporter", "0180")
    first = period.categories[0].code
    _submit_by_service(
        session,
        reporter,
        previous_period,
        now=previous_period.opens_at + timedelta(hours=1),
        **{first: {"consumption_7d": 70, "stated_need": 0, "expected_14d": 5000}},
    )
    auth.login(reporter)
    data = _form(period, **{first: {"consumption_7d": "7000", "stated_need": "19700"}})
    response = client.post("/need/reports/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "more than ten times" in _error_beside(html, f"lines-{first}-consumption_7d")
    assert 'name="confirm_spikes"' in html and "I have checked these numbers" in html
    assert _versions(session) == 1  # only last period's
    response = client.post("/need/reports/new", data={**data, "confirm_spikes": "y"})
    assert response.status_code == 302
    line = next(
        line for line in _report_of_period(session, period).latest.lines if line.category.code == first
    )
    assert line.consumption_7d == 7000


def _report_of_period(session, period) -> SituationReport:
    return session.scalar(select(SituationReport).where(SituationReport.period_id == period.id))


def test_the_confirmation_box_is_not_offered_without_a_spike(client, auth, users, period):
    auth.login(users.make("reporter", "0180"))
    html = client.get(f"/need/reports/new?period_id={period.id}&branch=healthcare").get_data(as_text=True)
    assert 'name="confirm_spikes"' not in html


def test_a_report_after_the_deadline_is_marked_late_in_the_message_and_on_the_page(
    client, auth, session, users
):
    now = utcnow()
    overdue = ReportingPeriod(
        opens_at=now - timedelta(days=3),
        deadline_at=now - timedelta(hours=1),
        closes_at=now + timedelta(days=1),
        horizon_days=21,
    )
    overdue.categories = list(session.scalars(select(ProductCategory).order_by(ProductCategory.sort_order)))
    session.add(overdue)
    session.commit()
    auth.login(users.make("reporter", "0180"))
    form_page = client.get(f"/need/reports/new?period_id={overdue.id}&branch=healthcare").get_data(
        as_text=True
    )
    assert "The deadline has passed" in form_page
    response = client.post("/need/reports/new", data=_form(overdue), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Report submitted (version 1). It is marked late" in html
    assert "Late: submitted after the deadline" in html
    assert _report_of(session, "0180").latest.late


def test_a_correction_is_version_2_and_the_history_shows_both_with_what_changed(
    client, auth, session, users, period
):
    auth.login(users.make("reporter", "0180"))
    first = period.categories[0].code
    client.post("/need/reports/new", data=_form(period, key="form-1"))
    report = _report_of(session, "0180")
    page = client.get(f"/need/reports/{report.id}").get_data(as_text=True)
    correct_url = f"/need/reports/new?period_id={period.id}&amp;branch=healthcare"
    assert "Correct this report" in page and correct_url in page
    form_page = client.get(f"/need/reports/new?period_id={period.id}&branch=healthcare").get_data(
        as_text=True
    )
    assert "Filled in from version 1 of this report" in form_page
    assert re.search(rf'id="lines-{first}-stock"[^>]*value="1000"', form_page)
    changed = _form(period, key="form-2", **{first: {"stock": "10", "stated_need": "1790"}})
    response = client.post("/need/reports/new", data=changed, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Report submitted (version 2)." in html
    session.expire_all()
    assert [v.number for v in _report_of(session, "0180").versions] == [1, 2]
    assert "Version 1" in html and "Version 2" in html
    assert re.search(r"Stock on hand:\s*1,000 →\s*10</li>", html)
    assert re.search(r"Stated need:\s*800 →\s*1,790</li>", html)
    assert html.count("</li>") - html.count("<li><a") >= 2


def test_an_old_version_has_its_own_page_and_figures(client, auth, session, users, period):
    reporter = users.make("reporter", "0180")
    first = period.categories[0].code
    old = _submit_by_service(session, reporter, period)
    _submit_by_service(session, reporter, period, **{first: {"stock": 10, "stated_need": 1790}})
    auth.login(reporter)
    html = client.get(f"/need/reports/{old.report_id}/versions/{old.id}").get_data(as_text=True)
    assert "Version 1 of the situation report" in html
    assert "The current version is 2." in html
    assert ">1,000<" in html and '<td class="num">10</td>' not in html


def test_a_version_of_another_report_is_not_found(client, auth, session, users, period):
    reporter = users.make("reporter", "0180")
    healthcare = _submit_by_service(session, reporter, period)
    lss = reporting.submit_report(
        session,
        organisation=organisation("0180"),
        period=period,
        branch="lss",
        lines=full_lines(period),
        channel=Channel.FORM,
        user=reporter,
    ).version
    session.commit()
    auth.login(reporter)
    assert client.get(f"/need/reports/{healthcare.report_id}/versions/{lss.id}").status_code == 404


def test_the_report_page_shows_days_of_supply_computed_need_and_a_status_per_line(
    client, auth, session, users, period
):
    reporter = users.make("reporter", "0180")
    first, second = period.categories[0].code, period.categories[1].code
    version = _submit_by_service(
        session,
        reporter,
        period,
        **{
            first: {"stock": 300, "consumption_7d": 700, "stated_need": 1500},  # 3 days: red
            second: {"stock": 3000, "consumption_7d": 700, "stated_need": 0},
        },  # 30 days: green
    )
    auth.login(reporter)
    html = client.get(f"/need/reports/{version.report_id}").get_data(as_text=True)
    assert '<td class="num">3.0</td>' in html and '<td class="num">30.0</td>' in html
    assert '<td class="num">10.0</td>' in html  # the other lines: 1000 at 100 a day
    assert 'badge-red">Red: under 7 days' in html
    assert 'badge-amber">Amber: under 14 days' in html
    assert 'badge-green">Green: 14 days or more' in html
    assert '<td class="num">1,500</td>' in html  # computed need of the red line: 2100 − 300 − 300


def test_a_county_coordinator_sees_reports_in_its_county_only_and_cannot_submit(
    client, auth, session, users, period
):
    own = _submit_by_service(session, users.make("reporter", "0180"), period)
    other = _submit_by_service(session, users.make("reporter", "1480"), period, code="1480")
    auth.login(users.make("county_coordinator", "LST-01"))
    assert client.get(f"/need/reports/{own.report_id}").status_code == 200
    assert client.get(f"/need/reports/{other.report_id}").status_code == 404
    assert client.get(f"/need/reports/{other.report_id}/versions/{other.id}").status_code == 404
    listing = client.get("/need/reports/").get_data(as_text=True)
    assert f'/need/reports/{own.report_id}"' in listing and f'/need/reports/{other.report_id}"' not in listing
    assert "Correct this report" not in client.get(f"/need/reports/{own.report_id}").get_data(as_text=True)
    assert client.get("/need/reports/new").status_code == 403
    assert client.post("/need/reports/new", data=_form(period)).status_code == 403
    assert _versions(session) == 2


def test_a_reporter_cannot_see_another_municipalitys_report(client, auth, session, users, period):
    other = _submit_by_service(session, users.make("reporter", "0181"), period, code="0181")
    auth.login(users.make("reporter", "0180"))
    assert client.get(f"/need/reports/{other.report_id}").status_code == 404


def test_an_auditor_reads_reports_but_cannot_send_one(client, auth, session, users, period):
    version = _submit_by_service(session, users.make("reporter", "1480"), period, code="1480")
    auth.login(users.make("auditor", "RK-S"))
    assert client.get(f"/need/reports/{version.report_id}").status_code == 200
    assert client.get(f"/need/reports/{version.report_id}/versions/{version.id}").status_code == 200
    assert client.post("/need/reports/new", data=_form(period)).status_code == 403
    assert _versions(session) == 1


def test_the_national_list_filters_by_county_and_late_and_exports_csv(client, auth, session, users, period):
    _submit_by_service(session, users.make("reporter", "0180"), period)
    _submit_by_service(
        session,
        users.make("reporter", "1480"),
        period,
        code="1480",
        now=period.deadline_at + timedelta(minutes=5),
    )
    auth.login(users.make("national_coordinator", "SOS"))
    stockholm = organisation("0180").name
    goteborg = organisation("1480").name
    html = client.get("/need/reports/?county=14").get_data(as_text=True)
    assert goteborg in html and f">{stockholm}<" not in html
    late = client.get("/need/reports/?late=yes").get_data(as_text=True)
    assert goteborg in late and f">{stockholm}<" not in late
    csv = client.get(f"/need/reports/?format=csv&period={period.id}")
    text = csv.get_data(as_text=True)
    assert csv.mimetype == "text/csv"
    assert stockholm in text and goteborg in text and len(text.strip().splitlines()) == 3


def test_a_reporter_sees_which_of_its_reports_are_due(client, auth, session, users, period):
    reporter = users.make("reporter", "0180")
    _submit_by_service(session, reporter, period)
    auth.login(reporter)
    html = client.get("/need/reports/").get_data(as_text=True)
    assert "Correct the report" in html  # healthcare, sent
    assert html.count("Submit a report") == 2  # social services and LSS, not yet


def test_a_report_of_a_closed_period_cannot_be_corrected(client, auth, session, users, previous_period):
    reporter = users.make("reporter", "0180")
    version = _submit_by_service(
        session, reporter, previous_period, now=previous_period.opens_at + timedelta(hours=1)
    )
    auth.login(reporter)
    assert "Correct this report" not in client.get(f"/need/reports/{version.report_id}").get_data(
        as_text=True
    )
    response = client.post("/need/reports/new", data=_form(previous_period))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This reporting period is closed" in html
    assert 'value="1000"' in html  # the figures typed are kept
    assert _versions(session) == 1


def test_an_empty_post_asks_for_the_period_and_branch(client, auth, users, period):
    auth.login(users.make("reporter", "0180"))
    response = client.post("/need/reports/new", data={})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Choose a reporting period that takes reports." in html
    assert "Choose a branch of activity." in html


def test_the_navigation_shows_reports_to_everyone_and_settings_to_the_national_coordinator(
    client, auth, users
):
    auth.login(users.make("reporter", "0180"))
    html = client.get("/need/reports/").get_data(as_text=True)
    assert 'href="/need/reports/" aria-current="page">Situation reports' in html
    assert "Reporting settings" not in html
    auth.logout()
    auth.login(users.make("national_coordinator", "SOS"))
    assert 'href="/need/settings">Reporting settings' in client.get("/need/reports/").get_data(as_text=True)


def test_the_report_list_narrows_to_an_organisation_linked_from_its_need_page(client, auth, users, session, period):
    from allocation import reporting
    from allocation.models import Channel
    from tests.allocation.conftest import full_lines
    from tests.conftest import organisation

    for code in ("0180", "0184"):
        reporting.submit_report(
            session, organisation=organisation(code), period=period, branch="healthcare",
            lines=full_lines(period), channel=Channel.FORM, user=users.make("reporter", code),
        )
    session.commit()
    auth.login(users.make("county_coordinator", "LST-01"))
    both = client.get("/need/reports/?format=csv").get_data(as_text=True)
    only = client.get(f"/need/reports/?organisation={organisation('0184').id}&format=csv").get_data(as_text=True)
    assert "Stockholm" in both and "Solna" in both
    assert "Solna" in only and "Stockholm" not in only
    # An organisation outside the scope is ignored rather than revealed.
    outside = client.get(f"/need/reports/?organisation={organisation('1480').id}&format=csv").get_data(as_text=True)
    assert "Stockholm" in outside and "Göteborg" not in outside


def test_the_report_page_the_form_and_the_file_template_read_the_units_in_one_query(
    client, auth, session, users, period
):
    # Each category's unit comes from its products: one query for all categories, not one per category.
    reporter = users.make("reporter", "0180")
    version = _submit_by_service(session, reporter, period)
    auth.login(reporter)
    urls = [
        f"/need/reports/{version.report_id}",
        f"/need/reports/new?period_id={period.id}&branch=healthcare",
        f"/need/import/template.csv?period_id={period.id}&branch=healthcare&prefill=y",
    ]
    for url in urls:
        statements = []

        def record(conn, cursor, statement, parameters, context, executemany):
            statements.append(" ".join(statement.lower().split()))

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert client.get(url).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert len([s for s in statements if "from products" in s]) == 1, url
