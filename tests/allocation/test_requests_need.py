"""The remaining need a request for national allocation is prefilled with: pure, no database, no fixtures."""
from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from allocation import remaining_need as module
from allocation.remaining_need import IncomingTransfer, ReportedNeed, remaining_need

SOURCE = Path(module.__file__)

REPORTED = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
SOLNA, TABY = 10, 11
FFP2, GLOVES = 1, 4


def test_the_remaining_need_is_the_registered_need_less_what_agreed_transfers_bring():
    needs = [ReportedNeed(SOLNA, FFP2, 1000, REPORTED)]
    incoming = [IncomingTransfer(SOLNA, FFP2, 240), IncomingTransfer(SOLNA, FFP2, 160)]

    row = remaining_need(needs, incoming)[(SOLNA, FFP2)]

    assert (row.registered, row.incoming, row.remaining) == (1000, 400, 600)


def test_the_need_of_several_branches_is_summed_and_is_as_old_as_its_oldest_figure():
    older = REPORTED - timedelta(days=2)
    needs = [ReportedNeed(SOLNA, FFP2, 300, REPORTED), ReportedNeed(SOLNA, FFP2, 200, older)]
    between = IncomingTransfer(SOLNA, FFP2, 100, confirmed_at=REPORTED - timedelta(days=1))

    row = remaining_need(needs, [between])[(SOLNA, FFP2)]

    # Confirmed after the older branch reported: that branch's figure does not count it yet.
    assert (row.registered, row.incoming, row.remaining, row.reported_at) == (500, 100, 400, older)


def test_a_transfer_confirmed_before_the_report_is_already_in_it_and_one_confirmed_after_still_counts():
    needs = [ReportedNeed(SOLNA, FFP2, 1000, REPORTED)]
    before = IncomingTransfer(SOLNA, FFP2, 300, confirmed_at=REPORTED - timedelta(hours=1))
    after = IncomingTransfer(SOLNA, FFP2, 200, confirmed_at=REPORTED + timedelta(hours=1))

    row = remaining_need(needs, [before, after])[(SOLNA, FFP2)]

    assert (row.incoming, row.remaining) == (200, 800)


def test_the_remaining_need_never_falls_below_zero_and_categories_and_organisations_are_kept_apart():
    needs = [ReportedNeed(SOLNA, FFP2, 100, REPORTED), ReportedNeed(TABY, GLOVES, 500, REPORTED)]
    incoming = [IncomingTransfer(SOLNA, FFP2, 240), IncomingTransfer(SOLNA, GLOVES, 50)]

    result = remaining_need(needs, incoming)

    assert result[(SOLNA, FFP2)].remaining == 0
    assert result[(TABY, GLOVES)].remaining == 500
    # A transfer to an organisation without registered need is listed, and leaves nothing to request.
    assert (result[(SOLNA, GLOVES)].registered, result[(SOLNA, GLOVES)].remaining) == (0, 0)
    assert set(result) == {(SOLNA, FFP2), (TABY, GLOVES), (SOLNA, GLOVES)}


def test_no_need_and_no_transfers_give_nothing():
    assert remaining_need([], []) == {}


@pytest.mark.parametrize(
    ("needs", "incoming", "message"),
    [
        ([ReportedNeed(SOLNA, FFP2, -1, REPORTED)], [], "need"),
        ([ReportedNeed(SOLNA, FFP2, 1.5, REPORTED)], [], "need"),
        ([ReportedNeed(SOLNA, FFP2, 10, REPORTED.replace(tzinfo=None))], [], "reported_at"),
        ([ReportedNeed(SOLNA, FFP2, 10, None)], [], "reported_at"),
        ([], [IncomingTransfer(SOLNA, FFP2, -5)], "quantity"),
        ([], [IncomingTransfer(SOLNA, FFP2, True)], "quantity"),
        ([], [IncomingTransfer(SOLNA, FFP2, 5, confirmed_at=REPORTED.replace(tzinfo=None))], "confirmed_at"),
    ],
)
def test_bad_figures_are_refused_with_a_clear_message(needs, incoming, message):
    with pytest.raises(ValueError, match=message):
        remaining_need(needs, incoming)


def test_the_module_imports_nothing_from_flask_sqlalchemy_or_the_app():
    # Loaded on its own (not through the allocation package, whose __init__ needs Flask), it pulls in none.
    script = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('remaining_alone', {str(SOURCE)!r})\n"
        "module = importlib.util.module_from_spec(spec); sys.modules['remaining_alone'] = module\n"
        "spec.loader.exec_module(module)\n"
        "assert module.remaining_need([], []) == {}\n"
        "loaded = {name.split('.')[0] for name in sys.modules}\n"
        "print(sorted(loaded & {'flask', 'sqlalchemy', 'app', 'allocation', 'werkzeug', 'flask_babel'}))\n"
    )
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
