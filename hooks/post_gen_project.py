"""Finish the generated project: fresh secrets, and no files for options that were not chosen.

The template holds placeholders, never secrets: each generated project gets its own Django
SECRET_KEY and database passwords here, so no two projects share them and none sits in
cookiecutter's replay file.
"""

import json
import secrets
import shutil
import sys
from pathlib import Path

USE_GITHUB_ACTIONS = json.loads(r'''{{ cookiecutter.use_github_actions | tojson }}''')
PROJECT_SLUG = json.loads(r'''{{ cookiecutter.project_slug | tojson }}''')

# URL-safe tokens: no quote, dollar or backslash to escape in Python, YAML, shell or Compose.
PLACEHOLDERS = {
    "__GENERATED_DJANGO_SECRET_KEY__": lambda: secrets.token_urlsafe(50),
    "__GENERATED_DB_PASSWORD__": lambda: secrets.token_urlsafe(24),
    "__GENERATED_DB_ROOT_PASSWORD__": lambda: secrets.token_urlsafe(24),
}


def project_files(root):
    return (path for path in root.rglob("*") if path.is_file() and not path.is_symlink())


def fill_secrets(root):
    """Replace each placeholder by one fresh value, the same everywhere it appears."""
    values = {placeholder: make() for placeholder, make in PLACEHOLDERS.items()}
    for path in project_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        filled = text
        for placeholder, value in values.items():
            filled = filled.replace(placeholder, value)
        if filled != text:
            path.write_text(filled, encoding="utf-8")


def remove_unchosen(root):
    if not USE_GITHUB_ACTIONS:
        shutil.rmtree(root / ".github")


def main():
    root = Path.cwd()
    fill_secrets(root)
    remove_unchosen(root)
    print(f"Generated {root}. Next: cd {root.name} && make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
