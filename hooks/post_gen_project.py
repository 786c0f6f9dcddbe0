"""Finish the generated project: no files for options that were not chosen.

No secret is generated here: the project's first `make` writes fresh development credentials
into its git-ignored .env, so none sits in a tracked file or in cookiecutter's replay file.
Nothing here is random, reaches the network or runs git: the same answers always give the same
files, which is what lets cruft compute a template update by rendering the template again.
"""

import json
import re
import shutil
import sys
import tempfile
from pathlib import Path

CI = json.loads(r'''{{ cookiecutter.ci | tojson }}''')
# Only cruft puts the template's commit in the context (cookiecutter itself does not).
CRUFT_COMMIT = json.loads(r'''{{ cookiecutter._commit | default("") | tojson }}''')


def remove_unchosen(root):
    if CI != "github":
        shutil.rmtree(root / ".github")
    if CI != "gitlab":
        (root / ".gitlab-ci.yml").unlink()


def rendered_by_cruft_for_a_diff(root):
    """True for cruft's throwaway renders: to update or diff a project, cruft renders the template
    into a fresh tempfile.TemporaryDirectory() and discards it (cruft/_commands/utils/generate.py).
    `cruft create` renders where its user asked, so the next step is printed there."""
    throwaway = root.parent
    return bool(CRUFT_COMMIT) and (
        throwaway.parent == Path(tempfile.gettempdir()).resolve()
        and re.fullmatch(r"tmp[a-z0-9_]{8}", throwaway.name) is not None
    )


def main():
    root = Path.cwd()
    remove_unchosen(root)
    if not rendered_by_cruft_for_a_diff(root):
        print(f"Generated {root}. Next: cd {root.name} && make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
