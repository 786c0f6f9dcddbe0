"""Linters a user's CI may run on a generated project, on bakes of every choice that changes what
they read: hadolint on every Dockerfile, shellcheck on every shell script (the template's own
too), and `config` of both Compose generations on every compose file, with the settings the
project's own Makefile gives its compose commands (no engine needed). Each must report nothing;
a finding fails the test with the tool's own words. The CI files' schemas: test_ci_files.py.
"""

import os
import re
from pathlib import Path

import pytest

from tests.support import (
    COMPOSE_GENERATIONS,
    DEFAULT_ANSWERS,
    MAKE_ENVIRONMENT,
    TEMPLATE_DIR,
    TEMPLATE_PROJECT_DIR,
    baked,
    compose_command,
    run,
    tool,
)

# The database changes scripts and the Makefile, the Python version the Dockerfiles and the
# Makefile, the ci answer nothing these tools read: the defaults, then the other choices.
BAKES = {
    "defaults": {},
    "other-choices": {
        question: DEFAULT_ANSWERS[question][-1] for question in ("database", "python_version")
    },
}
# Never looked into; in the template, `build` holds bakes and the project folder is unrendered
# (its scripts are checked in the bakes instead).
NOT_SOURCE = {".git", ".venv", "__pycache__", ".ruff_cache", "build"} | {TEMPLATE_PROJECT_DIR.name}
SHELL_SHEBANG = re.compile(rb"#!\S*/(env +)?(ba|da|k)?sh\b")


def source_files(root):
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in NOT_SOURCE]
        yield from (Path(folder, name).relative_to(root) for name in files)


def shell_scripts(root):
    def is_shell(path):
        with path.open("rb") as file:
            return path.suffix == ".sh" or SHELL_SHEBANG.match(file.readline(200))

    return sorted(p for p in source_files(root) if (root / p).is_file() and is_shell(root / p))


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """An environment without the developer's own ~/.config/hadolint.yaml or ~/.shellcheckrc, nor
    what an outer make or compose setting would slip into the baked Makefile's."""
    home = tmp_path_factory.mktemp("tools-home")
    environ = {k: v for k, v in os.environ.items() if k not in MAKE_ENVIRONMENT}
    environ = {k: v for k, v in environ.items() if not k.startswith("COMPOSE_")}
    return {**environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home)}


@pytest.fixture(scope="module", params=list(BAKES.values()), ids=list(BAKES))
def bake(request, cookies_session):
    return baked(cookies_session.bake(extra_context=request.param))


def test_hadolint_passes_every_dockerfile(bake, isolated):
    files = sorted(path for path in source_files(bake) if "Dockerfile" in path.name)
    assert Path("docker/dev/Dockerfile") in files
    run([tool("hadolint"), "--no-color", *files], bake, isolated)


def test_shellcheck_passes_every_script_of_the_bake(bake, isolated):
    files = shell_scripts(bake)
    assert {Path("scripts/test.sh"), Path("docker/db/initialise.sh")} <= set(files)
    run([tool("shellcheck"), *files], bake, isolated)


def test_shellcheck_passes_every_script_of_the_template(isolated):
    files = shell_scripts(TEMPLATE_DIR)
    assert Path(".ci/run") in files and Path("offline-images/build.sh") in files
    run([tool("shellcheck"), *files], TEMPLATE_DIR, isolated)


def compose_config(generation, files, cwd, env, makefile="/dev/null"):
    """`config` of each file, in a recipe of the Makefile: with everything it exports. A variable
    it does not set draws a warning in both generations, which fails the check."""
    recipe = "".join(f"\n\t{compose_command(generation)} -f {f} config --quiet" for f in files)
    command = ["make", "-f", makefile, "--eval", f"compose-config:{recipe}", "compose-config"]
    completed = run(command, cwd, env, timeout=300)
    assert "is not set" not in completed.stderr, completed.stderr


@pytest.mark.parametrize("generation", list(COMPOSE_GENERATIONS))
def test_compose_config_accepts_every_compose_file(bake, isolated, generation):
    files = sorted(p.relative_to(bake) for p in bake.glob("docker/*/docker-compose*.yml"))
    assert Path("docker/dev/docker-compose.yml") in files
    compose_config(generation, files, bake, isolated, makefile="Makefile")


@pytest.mark.parametrize("generation", list(COMPOSE_GENERATIONS))
def test_compose_config_fails_on_a_variable_the_makefile_does_not_set(
    tmp_path, isolated, generation
):
    (tmp_path / "unset.yml").write_text("services:\n  app:\n    image: ${TOOLS_TEST_UNSET}:1\n")
    with pytest.raises(AssertionError, match="TOOLS_TEST_UNSET"):
        compose_config(generation, ["unset.yml"], tmp_path, isolated)
