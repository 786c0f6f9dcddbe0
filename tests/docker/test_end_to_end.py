"""The generated project's make test, for real: both databases under both Compose generations.

Each combination bakes a project and runs, as a user would: make test (green, reports written),
make test with a deliberately failing test added (red, its report still written), make clean (the
engine as it was before the first make) and make clean again (a no-op), on the default answers
(each database under each Compose generation); one more combination runs the other Python,
3.11. Self-contained with its conftest: CI runs this file alone on Engine 20.10 too.
"""

import time
from dataclasses import dataclass
from xml.etree import ElementTree

import pytest

from tests.support import (
    DEFAULT_ANSWERS,
    command_works,
    engine_changes,
    engine_inventory,
    explain,
)

# (database, python_version, Compose generation): the default Python under both databases and
# both Compose generations, then the other Python once.
COMBINATIONS = [
    ("mysql", "3.13", "v2"),
    ("mysql", "3.13", "v1"),
    ("mariadb", "3.13", "v2"),
    ("mariadb", "3.13", "v1"),
    ("mysql", "3.11", "v2"),
]
FAILING_TEST = '''

def test_deliberately_failing():
    assert 1 + 1 == 3, "this test fails on purpose"
'''


@dataclass
class Sequence:
    """What one combination's make test, make test (red), make clean, make clean showed."""

    checkout: object
    green: object
    green_seconds: float
    green_report: tuple
    coverage: float
    red: object
    red_report: tuple
    base_images: tuple
    before: dict
    clean: object
    after_clean: dict
    second_clean: object
    after_second_clean: dict


def coverage_rate(report):
    return float(ElementTree.parse(report).getroot().get("line-rate"))


@pytest.fixture(
    scope="module", params=COMBINATIONS, ids=["-".join(combination) for combination in COMBINATIONS]
)
def sequence(request, new_module_project, record_figure):
    database, python, generation = request.param
    before = engine_inventory()
    # The default answers stay unchanged: only what differs from them is given.
    answers = {"database": database, "python_version": python}
    defaults = {name: DEFAULT_ANSWERS[name][0] for name in answers}
    checkout = new_module_project(
        generation, **{name: value for name, value in answers.items() if value != defaults[name]}
    )
    reports = checkout.path / "reports"

    started = time.monotonic()
    green = checkout.make("test")
    green_seconds = time.monotonic() - started
    record_figure(
        f"make test, first of a bake, {database} python {python} Compose {generation}: "
        f"exit {green.returncode} in {green_seconds:.1f} s"
    )
    green_report = checkout.report() if (reports / "unittests.xml").is_file() else ({}, [])
    coverage = (
        coverage_rate(reports / "coverage.xml") if (reports / "coverage.xml").is_file() else 0
    )

    app_tests = checkout.path / "src" / "todo" / "tests"
    (app_tests / "test_deliberate_failure.py").write_text(FAILING_TEST)
    started = time.monotonic()
    red = checkout.make("test")
    record_figure(
        f"make test with one failing test, {database} python {python} Compose {generation}: "
        f"exit {red.returncode} in {time.monotonic() - started:.1f} s"
    )
    red_report = checkout.report() if (reports / "unittests.xml").is_file() else ({}, [])

    clean = checkout.make("clean")
    after_clean = engine_inventory()
    second_clean = checkout.make("clean")
    return Sequence(
        checkout=checkout,
        green=green,
        green_seconds=green_seconds,
        green_report=green_report,
        coverage=coverage,
        red=red,
        red_report=red_report,
        base_images=(checkout.setting("PYTHON_IMAGE"), checkout.setting("DB_IMAGE")),
        before=before,
        clean=clean,
        after_clean=after_clean,
        second_clean=second_clean,
        after_second_clean=engine_inventory(),
    )


def test_make_test_is_green_and_shows_its_steps(sequence):
    assert sequence.green.returncode == 0, explain(sequence.green)
    steps = [line for line in sequence.green.stdout.splitlines() if line.startswith("=> ")]
    words = ["Building", "database", "Running the tests"]
    found = [next((i for i, step in enumerate(steps) if word in step), None) for word in words]
    assert None not in found and found == sorted(found), f"steps shown: {steps}"


def test_the_agent_waited_for_an_authenticated_query(sequence):
    output = sequence.green.stdout + sequence.green.stderr
    assert "answered SELECT 1" in output, explain(sequence.green)


def test_junit_report_shows_every_test_passed(sequence):
    totals, failed = sequence.green_report
    assert totals, "no reports/unittests.xml after a green make test"
    assert totals["tests"] >= 20
    assert failed == []
    assert totals["failures"] == totals["errors"] == totals["skipped"] == 0


def test_coverage_report_shows_more_than_80_percent(sequence):
    assert sequence.coverage > 0.8


def test_a_failing_test_fails_make_test_and_is_reported(sequence):
    assert sequence.red.returncode != 0, explain(sequence.red)
    totals, failed = sequence.red_report
    assert failed == ["test_deliberately_failing"]
    assert totals["failures"] == 1 and totals["errors"] == 0
    assert totals["tests"] == sequence.green_report[0]["tests"] + 1


def test_make_clean_leaves_the_engine_as_it_was(sequence):
    assert sequence.clean.returncode == 0, explain(sequence.clean)
    assert engine_changes(sequence.before, sequence.after_clean, sequence.checkout.slug) == []
    for image in sequence.base_images:
        assert command_works("docker", "image", "inspect", image), f"make clean removed {image}"


def test_a_second_make_clean_succeeds_and_changes_nothing(sequence):
    assert sequence.second_clean.returncode == 0, explain(sequence.second_clean)
    changes = engine_changes(
        sequence.after_clean, sequence.after_second_clean, sequence.checkout.slug
    )
    assert changes == []
