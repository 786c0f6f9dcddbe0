"""Jinja helpers that cookiecutter loads before it renders anything (`_extensions` in cookiecutter.json).

Cookiecutter creates the project folder from project_slug before any hook runs, and on a hook's
failure deletes only the last folder of that path. A slug that is no folder name (empty, with a
path separator, '.' or '..') is therefore refused here, while the answers are rendered, before
anything is written. Every other check lives in hooks/pre_gen_project.py.
"""

from cookiecutter.exceptions import EmptyDirNameException
from jinja2.ext import Extension


class NotAFolderName(EmptyDirNameException):
    """Printed by cookiecutter's command line as one line, like its own empty-folder error."""


def folder_name(value, question):
    if not value or value in {".", ".."} or "/" in value or "\\" in value:
        raise NotAFolderName(
            f"ERROR: {question} {value!r} cannot name the project folder; use lowercase letters, "
            "digits and single underscores, starting with a letter, e.g. 'todobackend'. "
            "Nothing was generated."
        )
    return value


class FolderNameExtension(Extension):
    def __init__(self, environment):
        super().__init__(environment)
        environment.filters["folder_name"] = folder_name
