"""The generated project's make test, for real: both databases under both Compose generations.

Each combination bakes a project and runs, as a user would: make test (green, reports written),
make test with a deliberately failing test added (red, report still written), make clean (the
engine's containers, volumes and networks as they were before), and make clean again (a no-op).
"""

import datetime
import itertools
import json
import os
import subprocess
import time
from dataclasses import dataclass, field

import pytest

from tests.docker.conftest import (
    bake_project,
    compose_command,
    coverage_rate,
    dangling_images,
    engine_state,
    explain,
    junit_totals,
    make,
    project_containers,
    project_env,
    record_figure,
    unique_build_id,
)

COMBINATIONS = list(itertools.product(["mysql", "mariadb"], ["v2", "v1"]))
FAILING_TEST = """
def test_deliberately_failing():
    assert 1 + 1 == 3, "this test fails on purpose"
"""


def moment(timestamp):
    """Docker's RFC 3339 time, nanoseconds cut to what datetime holds."""
    seconds, _, fraction = timestamp.rstrip("Z").partition(".")
    return datetime.datetime.fromisoformat(f"{seconds}.{(fraction + '000000')[:6]}+00:00")


def one_off_containers(compose_project):
    """The State of the containers `compose run` left, by service (agent, test)."""
    ids = project_containers(compose_project, "com.docker.compose.oneoff=True")
    if not ids:
        return {}
    inspected = json.loads(
        subprocess.run(
            ["docker", "inspect", *ids], capture_output=True, text=True, check=True
        ).stdout
    )
    return {c["Config"]["Labels"]["com.docker.compose.service"]: c["State"] for c in inspected}


@dataclass
class Sequence:
    """What one combination's run of make test, test (red), clean, clean showed."""

    project: object
    env: dict
    before: dict
    green: object = None
    green_totals: dict = field(default_factory=dict)
    green_coverage: float = 0.0
    one_offs: dict = field(default_factory=dict)
    red: object = None
    red_totals: dict = field(default_factory=dict)
    red_failed: list = field(default_factory=list)
    clean: object = None
    after_clean: dict = field(default_factory=dict)
    dangling_after_clean: list = field(default_factory=list)
    second_clean: object = None
    after_second_clean: dict = field(default_factory=dict)


@pytest.fixture(scope="module", params=COMBINATIONS, ids=["-".join(c) for c in COMBINATIONS])
def sequence(request, cookies_session, base_images):
    database, generation = request.param
    compose = compose_command(generation)
    project = bake_project(cookies_session, database=database)
    env = project_env(base_images, compose, unique_build_id())
    run = Sequence(project=project, env=env, before=engine_state())
    reports = project / "reports"
    try:
        started = time.monotonic()
        run.green = make(project, "test", env)
        record_figure(
            f"make test {database} {generation}: exit {run.green.returncode} in {time.monotonic() - started:.1f} s"
        )
        if (reports / "unittests.xml").is_file():
            run.green_totals, _ = junit_totals(reports / "unittests.xml")
        if (reports / "coverage.xml").is_file():
            run.green_coverage = coverage_rate(reports / "coverage.xml")
        run.one_offs = one_off_containers(f"{project.name}-dev-{env['BUILD_ID']}")
        app_tests = next(project.glob("src/*/tests"))
        (app_tests / "test_deliberate_failure.py").write_text(FAILING_TEST)
        run.red = make(project, "test", env)
        if (reports / "unittests.xml").is_file():
            run.red_totals, run.red_failed = junit_totals(reports / "unittests.xml")
    finally:
        run.clean = make(project, "clean", env)
    run.after_clean = engine_state()
    run.dangling_after_clean = dangling_images(f"application={project.name}")
    run.second_clean = make(project, "clean", env)
    run.after_second_clean = engine_state()
    return run


def test_make_test_is_green(sequence):
    assert sequence.green.returncode == 0, explain(sequence.green)
    for step in ("=> Building images", "=> Starting the database", "=> Running tests"):
        assert step in sequence.green.stdout


def test_the_agent_waited_for_an_authenticated_query(sequence):
    assert "answered SELECT 1" in sequence.green.stdout + sequence.green.stderr, explain(
        sequence.green
    )


def test_the_tests_load_while_the_agent_probes_and_run_after_its_verdict(sequence):
    output = sequence.green.stdout
    assert set(sequence.one_offs) == {"agent", "test"}, sequence.one_offs
    agent, tests = sequence.one_offs["agent"], sequence.one_offs["test"]
    assert agent["ExitCode"] == tests["ExitCode"] == 0
    # The test container started before the agent was done...
    assert moment(tests["StartedAt"]) < moment(agent["FinishedAt"]), (agent, tests)
    # ...and its session began after the agent's verdict.
    assert output.index("answered SELECT 1") < output.index("test session starts"), output[-4000:]


def test_junit_report_shows_every_test_passed(sequence):
    totals = sequence.green_totals
    assert totals, "no reports/unittests.xml after a green make test"
    assert totals["tests"] >= 20
    assert totals["failures"] == totals["errors"] == totals["skipped"] == 0


def test_coverage_report_is_written(sequence):
    assert sequence.green_coverage > 0.8


def test_a_failing_test_makes_make_test_fail(sequence):
    assert sequence.red.returncode != 0, explain(sequence.red)
    assert "Tests failed" in sequence.red.stderr


def test_the_failing_run_still_writes_its_report(sequence):
    assert sequence.red_failed == ["test_deliberately_failing"]
    assert sequence.red_totals["failures"] == 1
    assert sequence.red_totals["tests"] == sequence.green_totals["tests"] + 1


def test_make_clean_leaves_the_engine_as_it_was(sequence):
    assert sequence.clean.returncode == 0, explain(sequence.clean)
    assert sequence.after_clean == sequence.before
    assert sequence.dangling_after_clean == []


def test_a_second_make_clean_succeeds_and_changes_nothing(sequence):
    assert sequence.second_clean.returncode == 0, explain(sequence.second_clean)
    assert sequence.after_second_clean == sequence.before


def test_reports_belong_to_whoever_ran_make(sequence):
    for report in (sequence.project / "reports").iterdir():
        assert report.stat().st_uid == os.getuid(), report
