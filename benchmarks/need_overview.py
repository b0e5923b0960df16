"""Registered need at national scale: load two years of situation reports, then load-test the overview pages.

Builds a fresh database (SQLite in a temporary directory, or the PostgreSQL database ``samordna_bench``,
dropped and recreated), runs the migrations, loads organisations and the catalogue, and generates history:
two reporting periods a week (Tuesday and Thursday) for ``--years`` back to now, one report with one version
per reporting organisation (regions and municipalities) × 3 branches × every catalogue category × period, and
the current-state table (``current_needs``) as a report's transaction would have left it.

The history is written with SQLAlchemy Core bulk inserts (PostgreSQL: COPY), which skip the ORM events that
write the audit log. That is right here: the audit log records people's changes, and this is a synthetic load.

First it times single requests in-process (the Flask test client, one at a time): CPU and wall time per
request of each page, with the overview cache off (every request builds the tables, as after a new report)
and on. Those figures hold on a busy machine, where the load test's do not.

Then gunicorn serves the app (4 workers) and wrk drives 8 concurrent connections against the national
overview (national coordinator), a county overview (county coordinator, LST-01) and the report form
(reporter, 0180), printing requests per second, median and 95th percentile latency and errors. With
``--cache both`` the pages are loaded once with the overview cache on (as in production) and once with it off.

    .venv/bin/python benchmarks/need_overview.py --database sqlite --years 2 --duration 20
    .venv/bin/python benchmarks/need_overview.py --database postgresql --cache both
"""
from __future__ import annotations

import argparse
import http.cookiejar
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, select, text  # noqa: E402

from allocation import need, reporting, schedule  # noqa: E402
from allocation.models import (  # noqa: E402
    Branch,
    CurrentNeed,
    ReportingPeriod,
    ReportingPeriodCategory,
    SituationReport,
    SituationReportLine,
    SituationReportVersion,
)
from app import create_app  # noqa: E402
from app.db import utcnow  # noqa: E402
from app.extensions import db  # noqa: E402

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
PG_DATABASE = "samordna_bench"
PASSWORD = "benchmark horse battery staple"
USER_AGENT = "samordna-benchmark"  # the session is bound to it ("strong" session protection)
BATCH = 10_000
WORKERS = 4
CONNECTIONS = 8
THREADS = 2
GOAL_P95_MS = 100.0
GOAL_RPS = 100.0


# --- the database ----------------------------------------------------------------------------------------

def fresh_database(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'bench.db'}"
    server = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {PG_DATABASE}"))
    server.dispose()
    return f"{PG_SERVER}/{PG_DATABASE}"


def drop_database(kind: str) -> None:
    if kind != "postgresql":
        return
    server = create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)"))
    server.dispose()


class Writer:
    """Bulk inserts: psycopg COPY on PostgreSQL, Core executemany in batches of 10,000 on SQLite."""

    def __init__(self, connection):
        self.connection = connection
        self.postgres = connection.dialect.name == "postgresql"
        self.counts: dict[str, int] = {}

    def write(self, table, rows: list[dict]) -> None:
        if not rows:
            return
        self.counts[table.name] = self.counts.get(table.name, 0) + len(rows)
        if self.postgres:
            columns = list(rows[0])
            raw = self.connection.connection.driver_connection
            with raw.cursor() as cursor:
                with cursor.copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
            return
        for start in range(0, len(rows), BATCH):
            self.connection.execute(table.insert(), rows[start:start + BATCH])

    def reset_sequences(self, tables) -> None:
        if not self.postgres:
            return
        for table in tables:
            self.connection.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table.name}))"
                )
            )


def reference_data() -> None:
    from app.catalog.services import load_catalog
    from app.organisations.services import load_reference_data

    db.session.info["actor"] = "benchmark"
    load_reference_data(db.session)
    load_catalog(db.session)
    reporting.get_settings(db.session)
    db.session.commit()


def period_rows(years: float, now, tz: ZoneInfo, settings) -> list[dict]:
    """Every deadline from ``years`` ago to a week ahead, as the reporting job would have created them."""
    weekdays, at = settings.weekdays, settings.deadline_time
    deadlines = schedule.deadlines_between(
        weekdays, at, tz, now - timedelta(days=round(365 * years)), now + timedelta(days=settings.open_days_ahead)
    )
    return [
        dict(
            id=number,
            opens_at=schedule.previous_deadline(weekdays, at, tz, deadline),
            deadline_at=deadline,
            closes_at=schedule.next_deadline(weekdays, at, tz, deadline),
            horizon_days=settings.horizon_days,
            created_at=schedule.previous_deadline(weekdays, at, tz, deadline),
        )
        for number, deadline in enumerate(deadlines, start=1)
    ]


def generate_history(years: float, seed: int) -> dict:
    """Write periods, reports, versions, lines and the current state. Returns row counts and seconds taken."""
    from app.organisations.models import Organisation

    started = time.perf_counter()
    random.seed(seed)
    now = utcnow()
    tz = ZoneInfo("Europe/Stockholm")
    settings = reporting.get_settings(db.session)
    categories = list(settings.categories)
    organisations = list(
        db.session.execute(
            select(Organisation.id, Organisation.kind, Organisation.county_code)
            .where(reporting.reporting_organisations_filter())
            .order_by(Organisation.id)
        )
    )
    periods = period_rows(years, now, tz, settings)
    past = [p for p in periods if p["deadline_at"] <= now]
    branches = [branch.value for branch in Branch]
    db.session.commit()

    # A baseline per organisation × branch × category, scaled to the organisation's size, so the figures move
    # plausibly from period to period instead of being noise.
    baseline = {}
    for org in organisations:
        size = random.uniform(20, 400) if org.kind == "region" else random.uniform(1, 40)
        for branch in branches:
            for category in categories:
                baseline[org.id, branch, category.id] = size * random.uniform(5, 60)

    connection = db.session.connection()
    writer = Writer(connection)
    writer.write(ReportingPeriod.__table__, periods)
    writer.write(
        ReportingPeriodCategory.__table__,
        [dict(period_id=p["id"], category_id=c.id) for p in periods for c in categories],
    )
    report_id = line_id = 0
    current: dict[tuple, dict] = {}
    for period in past:
        reports, versions, lines = [], [], []
        for org in organisations:
            for branch in branches:
                report_id += 1
                submitted_at = period["deadline_at"] - timedelta(minutes=random.randint(10, 3000))
                reports.append(
                    dict(id=report_id, organisation_id=org.id, period_id=period["id"], branch=branch,
                         created_at=submitted_at)
                )
                versions.append(
                    dict(id=report_id, report_id=report_id, organisation_id=org.id, number=1,
                         submitted_at=submitted_at, submitted_by_id=None, api_token_id=None, channel="form",
                         late=False, idempotency_key=None, comment="")
                )
                for category in categories:
                    line_id += 1
                    weekly = max(0, round(baseline[org.id, branch, category.id] * random.uniform(0.7, 1.3)))
                    stock = max(0, round(weekly * random.uniform(0.5, 4.0)))
                    expected = max(0, round(weekly * random.uniform(0, 1.5)))
                    computed = need.computed_need(stock, weekly, expected, horizon_days=period["horizon_days"])
                    line = dict(id=line_id, version_id=report_id, category_id=category.id, stock=stock,
                                consumption_7d=weekly, expected_14d=expected, stated_need=computed,
                                computed_need=computed, justification="")
                    lines.append(line)
                    current[org.id, branch, category.id] = dict(
                        organisation_id=org.id, branch=branch, category_id=category.id, county_code=org.county_code,
                        period_id=period["id"], period_deadline_at=period["deadline_at"], line_id=line_id,
                        reported_at=submitted_at, stock=stock, consumption_7d=weekly, expected_14d=expected,
                        stated_need=computed, computed_need=computed,
                    )
        writer.write(SituationReport.__table__, reports)
        writer.write(SituationReportVersion.__table__, versions)
        writer.write(SituationReportLine.__table__, lines)
    writer.write(CurrentNeed.__table__, list(current.values()))
    writer.reset_sequences(
        [ReportingPeriod.__table__, SituationReport.__table__, SituationReportVersion.__table__,
         SituationReportLine.__table__]
    )
    db.session.commit()
    if writer.postgres:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return dict(
        counts=writer.counts,
        organisations=len(organisations),
        categories=[c.code for c in categories],
        seconds=time.perf_counter() - started,
    )


def create_users() -> dict[str, str]:
    from app.auth.services import create_user
    from app.organisations.models import Organisation

    db.session.info["actor"] = "benchmark"
    wanted = {
        "national": ("national_coordinator", "SOS"),
        "county": ("county_coordinator", "LST-01"),
        "reporter": ("reporter", "0180"),
    }
    emails = {}
    for key, (role, code) in wanted.items():
        organisation = db.session.scalar(select(Organisation).where(Organisation.code == code))
        email = f"bench-{key}@example.se"
        create_user(db.session, email=email, name=f"Benchmark {key}", password=PASSWORD,
                    organisation=organisation, roles=[role])
        emails[key] = email
    db.session.commit()
    return emails


def current_period_id() -> int:
    period = reporting.current_period(db.session, utcnow())
    if period is None:
        raise SystemExit("no period accepts reports now: the generated periods are wrong")
    return period.id


# --- serving and measuring -------------------------------------------------------------------------------

def pages(period_id: int) -> list[tuple[str, str, str]]:
    """(label, path, user key) of each page measured."""
    return [
        ("national overview (national coordinator)", "/need/overview/national", "national"),
        ("county overview 01 (county coordinator)", "/need/overview/county/01", "county"),
        ("report form (reporter 0180)", f"/need/reports/new?branch=social_services&period_id={period_id}", "reporter"),
    ]


def time_in_process(url: str, workdir: Path, emails: dict[str, str], period_id: int, count: int) -> None:
    """CPU and wall milliseconds per request, one request at a time through the Flask test client (medians).

    Process CPU includes SQLite's work (it runs in the process) but not PostgreSQL's (a separate server).
    """
    print(f"\nsingle requests in-process, median of {count} after 3 warm-up requests:")
    print(f"{'page':<52} {'cache':>6} {'CPU':>9} {'wall':>9}")
    for cache in (False, True):
        app = create_app({
            "SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": "in-process",
            "TESTING": False, "WTF_CSRF_ENABLED": False, "NEED_OVERVIEW_CACHE": cache,
        })
        for label, path, key in pages(period_id):
            client = app.test_client()
            client.post("/auth/login", data={"email": emails[key], "password": PASSWORD})
            for _ in range(3):
                if client.get(path).status_code != 200:
                    raise SystemExit(f"{path} did not answer 200 in-process")
            cpu, wall = [], []
            for _ in range(count):
                started_cpu, started = time.process_time(), time.perf_counter()
                client.get(path)
                cpu.append(time.process_time() - started_cpu)
                wall.append(time.perf_counter() - started)
            print(f"{label:<52} {'on' if cache else 'off':>6} {statistics.median(cpu) * 1000:>7.1f}ms "
                  f"{statistics.median(wall) * 1000:>7.1f}ms")
        with app.app_context():
            db.engine.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_health(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("gunicorn did not answer /health in time")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def login(base: str, email: str) -> str:
    """Log in with a real form POST (CSRF token from the login page); returns the Cookie header value."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(f"{base}/auth/login") as response:
        page = response.read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page
    )
    if token is None:
        raise SystemExit("no CSRF token on the login page")
    body = urllib.parse.urlencode({"csrf_token": token.group(1), "email": email, "password": PASSWORD}).encode()
    with opener.open(f"{base}/auth/login", data=body) as response:
        response.read()
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "session=" not in cookie:
        raise SystemExit(f"logging in {email} gave no session cookie")
    return cookie


def check_page(base: str, path: str, cookie: str) -> None:
    """The page must answer 200 for this user: a redirect to the login page would make the figures meaningless."""
    opener = urllib.request.build_opener(_NoRedirect)
    request = urllib.request.Request(f"{base}{path}", headers={"Cookie": cookie, "User-Agent": USER_AGENT})
    try:
        with opener.open(request) as response:
            status = response.status
            response.read()
    except urllib.error.HTTPError as error:
        status = error.code
    if status != 200:
        raise SystemExit(f"{path} answered {status}, not 200; not measuring it")


def run_wrk(base: str, path: str, cookie: str, duration: int) -> dict:
    script = Path(__file__).resolve().parent / "report_latency.lua"
    result = subprocess.run(
        ["wrk", "-t", str(THREADS), "-c", str(CONNECTIONS), "-d", f"{duration}s", "--timeout", "10s",
         "-s", str(script), "-H", f"Cookie: {cookie}", "-H", f"User-Agent: {USER_AGENT}", f"{base}{path}"],
        capture_output=True, text=True, check=True,
    )
    match = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
    if match is None:
        raise SystemExit(f"wrk gave no result:\n{result.stdout}\n{result.stderr}")
    values = dict(part.split("=") for part in match.group(1).split())
    return dict(
        rps=float(values["requests"]) / (float(values["duration_us"]) / 1e6),
        median_ms=float(values["p50_us"]) / 1000,
        p95_ms=float(values["p95_us"]) / 1000,
        errors=int(values["status_errors"]) + int(values["socket_errors"]),
        requests=int(values["requests"]),
    )


def print_table(results: list[tuple[str, dict]]) -> bool:
    print(f"\n{'page':<52} {'req/s':>8} {'median':>9} {'p95':>9} {'errors':>7}  goal")
    all_met = True
    for page, r in results:
        met = r["p95_ms"] < GOAL_P95_MS and r["rps"] >= GOAL_RPS and r["errors"] == 0
        all_met &= met
        print(
            f"{page:<52} {r['rps']:>8.1f} {r['median_ms']:>7.1f}ms {r['p95_ms']:>7.1f}ms {r['errors']:>7}  "
            f"{'met' if met else 'MISSED'}"
        )
    print(f"\ngoal: p95 < {GOAL_P95_MS:.0f} ms, >= {GOAL_RPS:.0f} requests/s, no errors: "
          f"{'met on every page' if all_met else 'MISSED'}")
    return all_met


def serve(url: str, secret: str, cache: bool) -> tuple[subprocess.Popen, str]:
    """gunicorn with WORKERS sync workers on a free port, the overview cache on or off, and its base URL."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY=secret)
    # gunicorn calls the factory with literal arguments.
    factory = "app:create_app()" if cache else "app:create_app({'NEED_OVERVIEW_CACHE': False})"
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "-w", str(WORKERS), "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         factory],
        cwd=ROOT, env=env,
    )
    base = f"http://127.0.0.1:{port}"
    wait_for_health(base, process)
    return process, base


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def load_test(base: str, emails: dict[str, str], period_id: int, args, cache: bool) -> bool:
    """Log each user in, check each page, run wrk against each; prints the table and returns whether all met."""
    cookies = {key: login(base, email) for key, email in emails.items()}
    measured = pages(period_id)
    for _, path, key in measured:
        check_page(base, path, cookies[key])
    load = os.getloadavg()  # other work on the machine skews the figures; say how much there was
    results = []
    for page, path, key in measured:
        run_wrk(base, path, cookies[key], 3)  # warm-up: workers import templates, caches fill
        results.append((page, run_wrk(base, path, cookies[key], args.duration)))
    print(f"\n{args.database}, overview cache {'on' if cache else 'off'}, gunicorn {WORKERS} sync workers, "
          f"wrk {THREADS} threads × {CONNECTIONS} connections, {args.duration} s per page, {os.cpu_count()} CPUs, "
          f"load average before: {load[0]:.2f} (1 min), {load[1]:.2f} (5 min)")
    return print_table(results)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], required=True)
    parser.add_argument("--years", type=float, default=2)
    parser.add_argument("--duration", type=int, default=20, help="seconds of load per page")
    parser.add_argument("--seed", type=int, default=20201)
    parser.add_argument("--cache", choices=["on", "off", "both"], default="on",
                        help="the overview cache in the load test: on (as in production), off, or one run of each")
    parser.add_argument("--cpu-requests", type=int, default=30,
                        help="single requests per page timed in-process before the load test (0: none)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed")

    workdir = Path(tempfile.mkdtemp(prefix="samordna-bench-"))
    url = fresh_database(args.database, workdir)
    secret = os.urandom(16).hex()
    gunicorn = None
    try:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(workdir), "SECRET_KEY": secret, "TESTING": False}
        )
        with app.app_context():
            from flask_migrate import upgrade

            started = time.perf_counter()
            upgrade()
            reference_data()
            print(f"schema and reference data: {time.perf_counter() - started:.1f} s")
            loaded = generate_history(args.years, args.seed)
            print(
                f"history: {args.years:g} years, {loaded['organisations']} reporting organisations × 3 branches × "
                f"{len(loaded['categories'])} categories (the whole catalogue: {', '.join(loaded['categories'])})"
            )
            for table, count in loaded["counts"].items():
                print(f"  {table:<30} {count:>10,}")
            print(f"  loaded in {loaded['seconds']:.1f} s (Core bulk inserts{', COPY' if args.database == 'postgresql' else ''}; "
                  "no audit rows: the audit log is written by ORM events, which bulk inserts skip)")
            emails = create_users()
            period_id = current_period_id()
            db.session.remove()
            db.engine.dispose()

        if args.cpu_requests:
            time_in_process(url, workdir, emails, period_id, args.cpu_requests)

        met = True
        for cache in {"on": [True], "off": [False], "both": [True, False]}[args.cache]:
            gunicorn, base = serve(url, secret, cache)
            met &= load_test(base, emails, period_id, args, cache)
            stop(gunicorn)
            gunicorn = None
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        drop_database(args.database)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
