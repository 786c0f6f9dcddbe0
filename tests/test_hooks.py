"""The questions: the README tells them as cookiecutter.json asks them, and bad answers are
refused with one clear sentence, with nothing left on disk."""

import re

import pytest
from cookiecutter.exceptions import CookiecutterException
from cookiecutter.main import cookiecutter

from tests.support import DEFAULT_ANSWERS, TEMPLATE_DIR, baked

# What the message must say besides the question and the value, and the bad values that say it.
# fmt: off
BAD_NAMES = {
    "is empty": [""],
    "not a valid name": [
        "todo backend", "TodoBackend", "1todo", "_todo", "todo_", "todo__list", "todo-backend",
        "todo/backend", "todo\\backend", "../escape", "todo;rm", "$(id)", "`id`", "todo*", "tödo",
    ],
    "Python keyword": ["class", "lambda", "match"],
    "would shadow": ["django", "pymysql", "os", "test", "email"],
    "at most 30": ["a" * 31],
}
BAD_TEXTS = {
    "project_name": {
        "is empty": [""],
        "contains": ['Todo "Backend"', "Todo\\Backend", "Todo $HOME", "Todo `id`",
                     "Todo\nBackend", "Todo {x}"],
        "at most 80": ["T" * 81],
    },
    "description": {"contains": ["Serves $HOME"], "at most 200": ["d" * 201]},
    "author_name": {"is empty": [""], "contains": ['Ann "The Dev"']},
    "author_email": {"not an email address": ["not-an-email", "a b@example.com"], "is empty": [""]},
    "image_name": {"not a valid Docker image repository": [
        "", "Todo", "todo backend", "todo:latest", "todo;rm -rf", "-todo", "team//todo", "i" * 201,
    ]},
    "app_name": {"the same as project_slug": ["todobackend"]},
}
CASES = [
    *((question, value, said) for question in ("project_slug", "app_name")
      for said, values in BAD_NAMES.items() for value in values),
    *((question, value, said) for question, texts in BAD_TEXTS.items()
      for said, values in texts.items() for value in values),
]
# fmt: on


def bake_into(output_dir, answers):
    """Bake with cookiecutter's API into a folder of our own; return the error."""
    output_dir.mkdir()
    config = output_dir.parent / "cookiecutterrc.yaml"
    home = output_dir.parent / "home"
    config.write_text(f"cookiecutters_dir: {home}/templates\nreplay_dir: {home}/replay\n")
    try:
        cookiecutter(str(TEMPLATE_DIR), no_input=True, extra_context=answers,
                     output_dir=str(output_dir), config_file=str(config))  # fmt: skip
    except (CookiecutterException, ValueError) as error:
        return error


@pytest.mark.parametrize("case", CASES, ids=[f"{q}={v[:24]!r}" for q, v, _ in CASES])
def test_bad_answer_is_refused_clearly(tmp_path, capfd, case):
    question, value, expected = case
    error = bake_into(tmp_path / "out", {question: value})
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
    assert list((tmp_path / "out").iterdir()) == []


def test_good_unusual_answers_are_accepted(cookies):
    answers = {
        "project_name": "Bob's To-Do (v2)", "project_slug": "bobs_todo2", "app_name": "items",
        "image_name": "registry.example.com:5000/team/bobs-todo", "author_name": "Zoë O'Brien",
    }  # fmt: skip
    project = baked(cookies.bake(extra_context=answers))
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
