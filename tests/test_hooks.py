"""The questions: the README tells them as cookiecutter.json asks them, and bad answers are
refused with one clear sentence, with nothing left on disk."""

import re

import pytest
from cookiecutter.exceptions import CookiecutterException
from cookiecutter.main import cookiecutter

from tests.support import DEFAULT_ANSWERS, TEMPLATE_DIR, baked

OVERLONG = "a" * 31

# (question, bad value, what the message must say besides the question and the value)
IDENTIFIER_CASES = [
    ("", "is empty"),
    ("todo backend", "not a valid name"),
    ("TodoBackend", "not a valid name"),
    ("1todo", "not a valid name"),
    ("_todo", "not a valid name"),
    ("todo_", "not a valid name"),
    ("todo__list", "not a valid name"),
    ("todo-backend", "not a valid name"),
    ("todo/backend", "not a valid name"),
    ("todo\\backend", "not a valid name"),
    ("../escape", "not a valid name"),
    ("todo;rm", "not a valid name"),
    ("$(id)", "not a valid name"),
    ("`id`", "not a valid name"),
    ("todo*", "not a valid name"),
    ("tödo", "not a valid name"),
    ("class", "Python keyword"),
    ("lambda", "Python keyword"),
    ("match", "Python keyword"),
    ("django", "would shadow"),
    ("pymysql", "would shadow"),
    ("os", "would shadow"),
    ("test", "would shadow"),
    ("email", "would shadow"),
    (OVERLONG, "at most 30"),
]
TEXT_CASES = [
    ("project_name", "", "is empty"),
    ("project_name", 'Todo "Backend"', "contains"),
    ("project_name", "Todo\\Backend", "contains"),
    ("project_name", "Todo $HOME", "contains"),
    ("project_name", "Todo `id`", "contains"),
    ("project_name", "Todo\nBackend", "contains"),
    ("project_name", "Todo {x}", "contains"),
    ("project_name", "T" * 81, "at most 80"),
    ("description", "Serves $HOME", "contains"),
    ("description", "d" * 201, "at most 200"),
    ("author_name", "", "is empty"),
    ("author_name", 'Ann "The Dev"', "contains"),
    ("author_email", "not-an-email", "not an email address"),
    ("author_email", "a b@example.com", "not an email address"),
    ("author_email", "", "is empty"),
    ("image_name", "", "not a valid Docker image repository"),
    ("image_name", "Todo", "not a valid Docker image repository"),
    ("image_name", "todo backend", "not a valid Docker image repository"),
    ("image_name", "todo:latest", "not a valid Docker image repository"),
    ("image_name", "todo;rm -rf", "not a valid Docker image repository"),
    ("image_name", "-todo", "not a valid Docker image repository"),
    ("image_name", "team//todo", "not a valid Docker image repository"),
    ("image_name", "i" * 201, "not a valid Docker image repository"),
]
CASES = (
    [("project_slug", value, expected) for value, expected in IDENTIFIER_CASES]
    + [("app_name", value, expected) for value, expected in IDENTIFIER_CASES]
    + TEXT_CASES
    + [("app_name", "todobackend", "the same as project_slug")]
)


def case_id(case):
    question, value, _ = case
    return f"{question}={value[:24]!r}"


def assert_nothing_left(output_dir):
    assert [
        path.name
        for path in output_dir.parent.rglob("*")
        if "home" not in path.parts and path.suffix != ".yaml"
    ] == ["out"]


def bake_into(tmp_path, answers):
    """Bake with cookiecutter's API into a folder of our own; return the output folder and error."""
    output_dir, home = tmp_path / "out", tmp_path / "home"
    output_dir.mkdir()
    config = tmp_path / "cookiecutterrc.yaml"
    config.write_text(f"cookiecutters_dir: {home}/templates\nreplay_dir: {home}/replay\n")
    try:
        cookiecutter(
            str(TEMPLATE_DIR),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            config_file=str(config),
        )
    except (CookiecutterException, ValueError) as error:
        return output_dir, error
    return output_dir, None


@pytest.mark.parametrize("case", CASES, ids=[case_id(case) for case in CASES])
def test_bad_answer_is_refused_clearly(tmp_path, capfd, case):
    question, value, expected = case
    output_dir, error = bake_into(tmp_path, {question: value})
    assert error is not None, "the bad answer was accepted"
    # The hook prints its refusals; a slug that cannot name a folder is refused while rendering.
    stderr = capfd.readouterr().err
    errors = [
        line for line in stderr.splitlines() + str(error).splitlines() if line.startswith("ERROR: ")
    ]
    # An empty or path-like project_name gives an unusable derived slug, refused as such.
    about = (question, "project_slug") if question == "project_name" else (question,)
    ours = [line for line in errors if line.startswith(tuple(f"ERROR: {q} " for q in about))]
    assert ours, f"no error about {question} in:\n{stderr}\n{error}"
    message = ours[0]
    if value and len(value) <= 40 and question in message:
        assert repr(value) in message
    assert expected in message or "cannot name the project folder" in message, message
    assert "Nothing was generated" in stderr + str(error)
    assert_nothing_left(output_dir)


def test_good_unusual_answers_are_accepted(cookies):
    project = baked(
        cookies.bake(
            extra_context={
                "project_name": "Bob's To-Do (v2)",
                "project_slug": "bobs_todo2",
                "app_name": "items",
                "image_name": "registry.example.com:5000/team/bobs-todo",
                "author_name": "Zoë O'Brien",
            }
        )
    )
    assert (project / "src/bobs_todo2/settings/base.py").is_file()


def test_the_readme_names_the_choices_and_images_of_cookiecutter_json():
    """The root README's questions table: each choice's default, versions and images."""
    rows = {
        cells[1].strip(" `"): [cell.strip() for cell in cells[2:]]
        for cells in (
            line.split("|")
            for line in (TEMPLATE_DIR / "README.md").read_text().splitlines()
            if line.startswith("| `")
        )
    }
    versions = DEFAULT_ANSWERS["python_version"]
    default, decides, _ = rows["python_version"]
    assert default == f"`{versions[0]}`"
    assert re.findall(r"`(\d+\.\d+)`", decides) == versions
    databases, prompts = DEFAULT_ANSWERS["database"], DEFAULT_ANSWERS["__prompts__"]["database"]
    images = [(name, re.search(r"\((\S+)\)$", prompts[name]).group(1)) for name in databases]
    default, decides, _ = rows["database"]
    assert default == f"`{databases[0]}`"
    assert re.findall(r"`([^`]+)` \(`([^`]+)`\)", decides) == images
