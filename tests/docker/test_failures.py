"""One short failure for each mistake: a syntax error in the app, ARGS that select no test and an
index make lock cannot reach each end make with one sentence that says what is wrong, within a
screen (a bad image setting: test_workflow.py); a lock that succeeds lists the pins it changed.
"""

import pytest

from tests.support import explain

# make test's own steps (build, the agent's report, compose's container lines) take about 35.
SCREEN = 45


def said_in_short(result, sentence, max_lines=SCREEN):
    """make failed, said `sentence` and printed at most max_lines lines."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, explain(result)
    assert sentence in output, explain(result)
    assert len(output.splitlines()) <= max_lines, explain(result)


@pytest.fixture(scope="module")
def checkout(new_module_project):
    return new_module_project()


def test_args_that_select_no_test_say_so(checkout):
    result = checkout.make("test", "ARGS=-k nosuch")

    # The coverage table of nothing run comes on top of make test's own steps.
    said_in_short(result, 'No test matched ARGS="-k nosuch"', max_lines=SCREEN + 25)


def test_a_syntax_error_in_the_app_names_its_file_and_line(checkout):
    views = checkout.path / "src" / "todo" / "views.py"
    original = views.read_text()
    views.write_text(original + "\ndef broken(:\n")
    try:
        result = checkout.make("test")
    finally:
        views.write_text(original)

    line = len(original.splitlines()) + 2
    said_in_short(result, f"src/todo/views.py:{line}: SyntaxError: invalid syntax")


def test_lock_names_an_index_it_cannot_reach(new_project):
    result = new_project().make("lock", "PIP_INDEX_URL=http://127.0.0.1:9/simple")

    said_in_short(result, "could not reach the package index http://127.0.0.1:9/simple", 8)


def test_lock_lists_the_pins_that_changed(new_project):
    checkout = new_project()
    with (checkout.path / "docker" / "agent" / "requirements.in").open("a") as requirements:
        requirements.write("six\n")

    result = checkout.make("lock")

    assert result.returncode == 0, explain(result)
    assert "docker/agent/requirements.txt: six (new) -> " in result.stdout, explain(result)
    assert "six==" in (checkout.path / "docker" / "agent" / "requirements.txt").read_text()
