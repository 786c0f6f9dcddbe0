"""The generated project's make test, for real, as a user runs it: make test (green, reports
written), make test with a failing test added (red, reported), make clean twice (nothing left);
each database under each Compose generation on the default Python, then the other Python once.
Self-contained with its conftest: CI runs this file alone on Engine 20.10 too.
"""

import time
from xml.etree import ElementTree

import pytest

from tests.support import command_works, explain, left_behind

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


def make_test(checkout, record_figure, what):
    """make test, timed, and its JUnit report ({}, [] when it wrote none)."""
    started = time.monotonic()
    result = checkout.make("test")
    seconds = time.monotonic() - started
    record_figure(f"make test, {what}: exit {result.returncode} in {seconds:.1f} s")
    written = (checkout.path / "reports/unittests.xml").is_file()
    return result, checkout.report() if written else ({}, [])


@pytest.fixture(scope="module", params=COMBINATIONS, ids="-".join)
def sequence(request, new_module_project, record_figure):
    database, python, generation = request.param
    named = f"{database} python {python} Compose {generation}"
    since = time.time()
    checkout = new_module_project(generation, database=database, python_version=python)
    green, green_report = make_test(checkout, record_figure, f"first of a bake, {named}")
    coverage = checkout.path / "reports/coverage.xml"
    rate = (
        float(ElementTree.parse(coverage).getroot().get("line-rate")) if coverage.is_file() else 0
    )
    (checkout.path / "src/todo/tests/test_deliberate_failure.py").write_text(FAILING_TEST)
    red, red_report = make_test(checkout, record_figure, f"with one failing test, {named}")
    cleans = [(checkout.make("clean"), left_behind(checkout.slug, since)) for _ in range(2)]
    return {
        "checkout": checkout, "green": green, "green_report": green_report, "coverage": rate,
        "red": red, "red_report": red_report, "cleans": cleans,
    }  # fmt: skip


def test_make_test_is_green_shows_its_steps_and_reports(sequence):
    green = sequence["green"]
    assert green.returncode == 0, explain(green)
    steps = [line for line in green.stdout.splitlines() if line.startswith("=> ")]
    words = ["Building", "database", "Running the tests"]
    found = [next((i for i, step in enumerate(steps) if word in step), None) for word in words]
    assert None not in found and found == sorted(found), f"steps shown: {steps}"
    assert "answered SELECT 1" in green.stdout + green.stderr, explain(green)
    totals, failed = sequence["green_report"]
    assert totals and totals["tests"] >= 20 and failed == [], totals
    assert totals["failures"] == totals["errors"] == totals["skipped"] == 0
    assert sequence["coverage"] > 0.8


def test_a_failing_test_fails_make_test_and_is_reported(sequence):
    assert sequence["red"].returncode != 0, explain(sequence["red"])
    totals, failed = sequence["red_report"]
    assert failed == ["test_deliberately_failing"]
    assert totals["failures"] == 1 and totals["errors"] == 0
    assert totals["tests"] == sequence["green_report"][0]["tests"] + 1


def test_make_clean_leaves_nothing_and_a_second_one_succeeds(sequence):
    for cleaned, left in sequence["cleans"]:
        assert cleaned.returncode == 0, explain(cleaned)
        assert left == {}
    for name in ("PYTHON_IMAGE", "DB_IMAGE"):
        image = sequence["checkout"].setting(name)
        assert command_works("docker", "image", "inspect", image), f"make clean removed {image}"
