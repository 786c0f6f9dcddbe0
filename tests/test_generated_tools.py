"""Linters a user's CI may run on a generated project, run here on bakes of every choice that
changes what they read.

hadolint on every Dockerfile, shellcheck on every shell script (the template's own too), and
`config` of both Compose generations on every compose file, with the environment the project's
own Makefile gives its compose commands. Each tool must report nothing; a finding fails the test
with the tool's own words. One tiny negative check per tool proves that the check can fail. No
Docker engine is needed: `compose config` only reads and validates the files. The CI files'
schemas are test_ci_files.py's.
"""

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import (
    COMPOSE_GENERATIONS,
    DEFAULT_ANSWERS,
    MAKE_ENVIRONMENT,
    TEMPLATE_DIR,
    baked,
    compose_command,
    explain,
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
SHELLS = {"sh", "bash", "dash", "ksh"}
# Never looked into for scripts; in the template, `build` holds bakes and the project folder
# is unrendered (its scripts are checked in the bakes instead).
NOT_SOURCE = {".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache", "node_modules"}
TEMPLATE_ONLY_SKIPPED = {"build", "{{cookiecutter.project_slug}}"}
UNSET_VARIABLE = re.compile(r'The \\?"?(\w+)\\?"? variable is not set')


def source_files(root, skipped=frozenset()):
    """Every file under root, sorted, without descending into the skipped folders."""
    found = []
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in NOT_SOURCE | skipped]
        found += [Path(folder, name) for name in files]
    return sorted(path for path in found if path.is_file())


def is_shell_script(path):
    if path.suffix == ".sh":
        return True
    with path.open("rb") as file:
        first = file.readline(200)
    if not first.startswith(b"#!"):
        return False
    words = [w for w in first[2:].decode(errors="replace").split() if not w.startswith("-")]
    if words and words[0].rsplit("/", 1)[-1] == "env":
        words = words[1:]
    return bool(words) and words[0].rsplit("/", 1)[-1] in SHELLS


def shell_scripts(root, skipped=frozenset()):
    return [p.relative_to(root) for p in source_files(root, skipped) if is_shell_script(p)]


def dockerfiles(root):
    return [
        p.relative_to(root)
        for p in source_files(root)
        if p.name == "Dockerfile" or p.name.startswith("Dockerfile.") or p.suffix == ".Dockerfile"
    ]


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """An environment without the developer's own ~/.config/hadolint.yaml or ~/.shellcheckrc."""
    home = tmp_path_factory.mktemp("tools-home")
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home)}


def lint(name, command, files, cwd, env, findings_of):
    """Run a linter with a JSON report; it passes where it exits 0 and reports nothing. A rule is
    disabled, with its reason, in the project's own files (`# hadolint ignore=`, ...)."""
    assert files, f"no file for {name} to check"
    completed = run([tool(name), *command, *map(str, files)], cwd, env, timeout=120, check=False)
    try:
        findings = [f"{f[0]}:{f[1]} {f[2]} {f[3]}: {f[4]}" for f in findings_of(completed.stdout)]
    except (json.JSONDecodeError, KeyError):
        pytest.fail(f"{name} gave no JSON report:\n{explain(completed)}")
    if findings:
        pytest.fail(f"{name} on {len(files)} files:\n" + "\n".join(findings), pytrace=False)
    if completed.returncode != 0:
        pytest.fail(f"{name} failed without reporting a finding:\n{explain(completed)}")


def hadolint(files, cwd, env):
    """One hadolint over every file, with the project's own .hadolint.yaml if it has one."""

    def findings(report):
        return [
            (f["file"], f["line"], f["code"], f["level"], f["message"])
            for f in json.loads(report or "[]")
        ]

    lint("hadolint", ["--no-color", "--format", "json"], files, cwd, env, findings)


def shellcheck(files, cwd, env):
    """One shellcheck over every script, at its default severity (style)."""

    def findings(report):
        comments = json.loads(report or '{"comments": []}')["comments"]
        return [
            (c["file"], c["line"], f"SC{c['code']}", c["level"], c["message"]) for c in comments
        ]

    lint("shellcheck", ["--format", "json1"], files, cwd, env, findings)


def without_outer_make(environ):
    """The environment minus what an outer make or compose setting would slip into ours."""
    return {
        k: v
        for k, v in environ.items()
        if k not in MAKE_ENVIRONMENT and not k.startswith("COMPOSE_")
    }


def makefile_environment(project):
    """What the baked Makefile exports to its recipes, compose commands included (no .env)."""
    command = ["make", "--eval", "_generated_tools_env: ; @env -0", "_generated_tools_env"]
    exported = run(command, project, env=without_outer_make(os.environ), timeout=60).stdout
    return without_outer_make(
        dict(item.split("=", 1) for item in exported.split("\0") if "=" in item)
    )


def compose_problems(generation, files, cwd, env):
    """`config` of every file at once; each must be valid and find every variable it uses."""
    command = compose_command(generation).split()

    def config(path):
        return path, run([*command, "-f", str(path), "config", "--quiet"], cwd, env, 120, False)

    assert files, "no compose file to check"
    with ThreadPoolExecutor(max_workers=len(files)) as pool:
        results = list(pool.map(config, files))
    problems = []
    for path, completed in results:
        if completed.returncode != 0:
            problems.append(f"{path}: {explain(completed)}")
        elif unset := sorted(set(UNSET_VARIABLE.findall(completed.stderr))):
            problems.append(f"{path}: variables the Makefile does not set: {', '.join(unset)}")
    return problems


@pytest.fixture(scope="module", params=list(BAKES.values()), ids=list(BAKES))
def bake(request, cookies_session):
    return baked(cookies_session.bake(extra_context=request.param))


def test_hadolint_passes_every_dockerfile(bake, isolated):
    files = dockerfiles(bake)
    assert Path("docker/dev/Dockerfile") in files
    hadolint(files, bake, isolated)


def test_shellcheck_passes_every_script_of_the_bake(bake, isolated):
    files = shell_scripts(bake)
    assert {Path("scripts/test.sh"), Path("docker/db/initialise.sh")} <= set(files)
    shellcheck(files, bake, isolated)


def test_shellcheck_passes_every_script_of_the_template(isolated):
    files = shell_scripts(TEMPLATE_DIR, TEMPLATE_ONLY_SKIPPED)
    assert Path(".ci/run") in files
    shellcheck(files, TEMPLATE_DIR, isolated)


@pytest.mark.parametrize("generation", list(COMPOSE_GENERATIONS))
def test_compose_config_accepts_every_compose_file(bake, generation):
    files = sorted(p.relative_to(bake) for p in bake.glob("docker/*/docker-compose*.yml"))
    assert Path("docker/dev/docker-compose.yml") in files
    problems = compose_problems(generation, files, bake, makefile_environment(bake))
    if problems:
        pytest.fail(f"Compose {generation} config:\n" + "\n".join(problems))


# --- each check can fail -------------------------------------------------------------------


def test_hadolint_can_fail(tmp_path, isolated):
    (tmp_path / "Dockerfile").write_text("FROM debian\nRUN cd /tmp && ls\n")
    with pytest.raises(pytest.fail.Exception, match="DL3003"):
        hadolint(dockerfiles(tmp_path), tmp_path, isolated)


def test_shellcheck_can_fail(tmp_path, isolated):
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin/tool").write_text('#!/usr/bin/env bash\necho $1\n')
    (tmp_path / "bin/tool.py").write_text("#!/usr/bin/env python3\nprint(1)\n")
    assert shell_scripts(tmp_path) == [Path("bin/tool")]
    with pytest.raises(pytest.fail.Exception, match="SC2086"):
        shellcheck(shell_scripts(tmp_path), tmp_path, isolated)


@pytest.mark.parametrize("generation", list(COMPOSE_GENERATIONS))
def test_compose_config_can_fail(tmp_path, generation):
    (tmp_path / "invalid.yml").write_text("services:\n  app:\n    image: alpine\n    ports: 9\n")
    (tmp_path / "unset.yml").write_text("services:\n  app:\n    image: ${TOOLS_TEST_UNSET}:1\n")
    env = without_outer_make({k: v for k, v in os.environ.items() if k != "TOOLS_TEST_UNSET"})
    problems = compose_problems(generation, [Path("invalid.yml"), Path("unset.yml")], tmp_path, env)
    assert len(problems) == 2, problems
    assert problems[0].startswith("invalid.yml: ") and "ports" in problems[0]
    assert problems[1].endswith("variables the Makefile does not set: TOOLS_TEST_UNSET")
