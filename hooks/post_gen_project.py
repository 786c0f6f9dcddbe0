"""Finish the generated project: no files for options that were not chosen.

No secret is generated here: the project's first `make` writes fresh development credentials
into its git-ignored .env, so none sits in a tracked file or in cookiecutter's replay file.
"""

import json
import shutil
import sys
from pathlib import Path

CI = json.loads(r'''{{ cookiecutter.ci | tojson }}''')


def remove_unchosen(root):
    if CI != "github":
        shutil.rmtree(root / ".github")
    if CI != "gitlab":
        (root / ".gitlab-ci.yml").unlink()


def main():
    root = Path.cwd()
    remove_unchosen(root)
    print(f"Generated {root}. Next: cd {root.name} && make test")
    return 0


if __name__ == "__main__":
    sys.exit(main())
