"""Refuse answers that would generate a broken project, before any file is written.

Every typed answer that ends up in code, file names, image names or compose project names is
checked; the choices (database, python_version, ci) are cookiecutter's to check. Each refusal is
one sentence naming the question, the value and what would be accepted; all of them are printed,
then the hook exits non-zero and cookiecutter deletes the project folder.
"""

import json
import keyword
import re
import sys

# json.loads of tojson survives quotes and backslashes that a plain quoted string would not.
ANSWERS = {
    "project_name": json.loads(r'''{{ cookiecutter.project_name | tojson }}'''),
    "project_slug": json.loads(r'''{{ cookiecutter.project_slug | tojson }}'''),
    "app_name": json.loads(r'''{{ cookiecutter.app_name | tojson }}'''),
    "description": json.loads(r'''{{ cookiecutter.description | tojson }}'''),
    "author_name": json.loads(r'''{{ cookiecutter.author_name | tojson }}'''),
    "author_email": json.loads(r'''{{ cookiecutter.author_email | tojson }}'''),
    "image_name": json.loads(r'''{{ cookiecutter.image_name | tojson }}'''),
}

# Python package names: the MySQL user name (<= 32 characters in MySQL 8) is the slug too.
MAX_IDENTIFIER_LENGTH = 30
IDENTIFIER = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
# The generated code and its tools import these; a package of the same name would shadow them.
SHADOWED_IMPORTS = {
    "django", "rest_framework", "corsheaders", "pymysql", "mysqldb", "pytest",
    "pytest_django", "pytest_cov", "coverage", "ansible", "cryptography", "drf_spectacular",
    "drf_spectacular_sidecar", "yaml", "jsonschema", "whitenoise", "gunicorn",
    "test", "tests", "conftest",
}  # fmt: skip
# Docker's reference grammar: optional registry host[:port], then lowercase path components.
IMAGE_NAME = re.compile(
    r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"(?::[0-9]+)?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
)
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# Free text is rendered into Python strings, YAML, Makefile comments and Markdown.
UNSAFE_IN_TEXT = set('"\\`$%{}')


def check_identifier(question, value, accepted_example):
    if not value:
        return f"{question} is empty; use lowercase letters, digits and underscores, e.g. '{accepted_example}'."
    if len(value) > MAX_IDENTIFIER_LENGTH:
        return (
            f"{question} {value!r} is {len(value)} characters long; use at most "
            f"{MAX_IDENTIFIER_LENGTH}, e.g. '{accepted_example}'."
        )
    if not IDENTIFIER.fullmatch(value):
        return (
            f"{question} {value!r} is not a valid name; use lowercase letters, digits and single "
            f"underscores, starting with a letter (no spaces, capitals, dashes, slashes or "
            f"symbols), e.g. '{accepted_example}'."
        )
    if keyword.iskeyword(value) or keyword.issoftkeyword(value):
        return f"{question} {value!r} is a Python keyword; choose another name, e.g. '{accepted_example}'."
    if value in sys.stdlib_module_names or value in SHADOWED_IMPORTS:
        return (
            f"{question} {value!r} would shadow the {value!r} module the project imports; "
            f"choose another name, e.g. '{accepted_example}'."
        )
    return None


def check_text(question, value, max_length, required=True):
    if required and not value.strip():
        return f"{question} is empty; give a short text."
    if len(value) > max_length:
        return f"{question} is {len(value)} characters long; use at most {max_length}."
    unsafe = sorted({c for c in value if c in UNSAFE_IN_TEXT or not c.isprintable()})
    if unsafe:
        shown = " ".join(repr(c) for c in unsafe)
        return (
            f"{question} {value!r} contains {shown}; use letters, digits, spaces and simple "
            "punctuation (no quotes, backslashes, dollar or percent signs, braces or control characters)."
        )
    return None


def problems(answers):
    slug, app = answers["project_slug"], answers["app_name"]
    found = [
        check_text("project_name", answers["project_name"], 80),
        check_identifier("project_slug", slug, "todobackend"),
        check_identifier("app_name", app, "todo"),
        check_text("description", answers["description"], 200, required=False),
        check_text("author_name", answers["author_name"], 100),
        check_text("author_email", answers["author_email"], 100),
    ]
    if slug and slug == app:
        found.append(
            f"app_name {app!r} is the same as project_slug; the project package and the app "
            "need different names, e.g. 'todo'."
        )
    email = answers["author_email"]
    if email and not EMAIL.fullmatch(email):
        found.append(
            f"author_email {email!r} is not an email address; use e.g. 'team@example.com'."
        )
    image = answers["image_name"]
    if not image or len(image) > 200 or not IMAGE_NAME.fullmatch(image):
        found.append(
            f"image_name {image!r} is not a valid Docker image repository; use lowercase path "
            "components separated by '/', optionally after a registry host, e.g. "
            "'todobackend' or 'registry.example.com/team/todobackend'."
        )
    return [message for message in found if message]


def main():
    found = problems(ANSWERS)
    if not found:
        return 0
    for message in found:
        print(f"ERROR: {message}", file=sys.stderr)
    print("Nothing was generated; run cookiecutter again with the answers fixed.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
