"""The tools a generated project's CI runs, run here on a few representative bakes.

hadolint on every Dockerfile, shellcheck on every shell script (the template's own too),
check-jsonschema on the CI files, and `config` of both Compose generations on every compose
file, with the environment the project's own Makefile gives its compose commands. Each tool must
run and report nothing; a finding fails the test with the tool's own words. One tiny negative
check per tool proves that the check can fail. No Docker engine is needed: `compose config`
only reads and validates the file.
"""

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support import DEFAULT_ANSWERS, IN_CI, TEMPLATE_DIR, baked, explain

# The answers that change what these tools read; the full matrix is test_bake.py's business.
BAKES = {
    "defaults": {},
    "mariadb": {"database": "mariadb"},
    "python-3.13": {"python_version": "3.13"},
    "gitlab": {"ci": "gitlab"},
    "no-ci": {"ci": "none"},
}
# Where the generated CI files live, and the check-jsonschema schema each one must follow.
CI_SCHEMAS = {
    ".github/workflows/*.yml": "vendor.github-workflows",
    ".github/workflows/*.yaml": "vendor.github-workflows",
    ".gitlab-ci.yml": "vendor.gitlab-ci",
}
# The schemas of the CI files each answer to the `ci` question gives.
CI_SCHEMAS_CHOSEN = {"github": {"vendor.github-workflows"}, "gitlab": {"vendor.gitlab-ci"}}
COMPOSE = {"v2": ["docker", "compose"], "v1": ["docker-compose"]}
COMPOSE_QUIET = {"v2": "--quiet", "v1": "-q"}
SHELLS = {"sh", "bash", "dash", "ksh"}
# Never looked into for scripts; in the template, `build` holds bakes and the project folder
# is unrendered (its scripts are checked in the bakes instead).
NOT_SOURCE = {".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache", "node_modules"}
TEMPLATE_ONLY_SKIPPED = {"build", "{{cookiecutter.project_slug}}"}
UNSET_VARIABLE = re.compile(r'The \\?"?(\w+)\\?"? variable is not set')

# --- finding files -------------------------------------------------------------------------


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


def ci_files(root):
    found = {}
    for pattern, schema in CI_SCHEMAS.items():
        for path in sorted(root.glob(pattern)):
            found.setdefault(schema, []).append(path.relative_to(root))
    return found


# --- running the tools ---------------------------------------------------------------------


def quietly(command, cwd, env=None):
    """Run a tool and keep its output; the caller decides what its exit status means."""
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def tool(name):
    """A tool requirements-dev.txt installs: next to this Python, else on PATH."""
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt", pytrace=False)
    return found


@pytest.fixture(scope="module")
def isolated(tmp_path_factory):
    """An environment without the developer's own ~/.config/hadolint.yaml or ~/.shellcheckrc."""
    home = tmp_path_factory.mktemp("tools-home")
    return {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home)}


def finding(path, line, code, level, message):
    return f"{path}:{line} {code} {level}: {message}"


def check_findings(name, completed, findings, files):
    """Passes where the tool exits 0 and reports nothing. A rule is disabled, with its reason, in
    the project's own files (an inline `# hadolint ignore=` or `# shellcheck disable=`)."""
    if completed.returncode != 0 and not findings:
        pytest.fail(f"{name} failed without reporting a finding:\n{explain(completed)}")
    if findings:
        pytest.fail(f"{name} on {len(files)} files:\n" + "\n".join(findings), pytrace=False)


def hadolint(files, cwd, env):
    """One hadolint over every file, with the project's own .hadolint.yaml if it has one."""
    assert files, "no Dockerfile to check"
    command = [tool("hadolint"), "--no-color", "--format", "json", *map(str, files)]
    completed = quietly(command, cwd, env)
    try:
        report = json.loads(completed.stdout or "[]")
    except json.JSONDecodeError:
        pytest.fail(f"hadolint gave no JSON report:\n{explain(completed, command)}")
    findings = [finding(f["file"], f["line"], f["code"], f["level"], f["message"]) for f in report]
    check_findings("hadolint", completed, findings, files)


def shellcheck(files, cwd, env):
    """One shellcheck over every script, at its default severity (style), as CI runs it."""
    assert files, "no shell script to check"
    command = [tool("shellcheck"), "--format", "json1", *map(str, files)]
    completed = quietly(command, cwd, env)
    try:
        report = json.loads(completed.stdout or '{"comments": []}')["comments"]
    except (json.JSONDecodeError, KeyError):
        pytest.fail(f"shellcheck gave no JSON report:\n{explain(completed, command)}")
    findings = [
        finding(c["file"], c["line"], f"SC{c['code']}", c["level"], c["message"]) for c in report
    ]
    check_findings("shellcheck", completed, findings, files)


def validate_ci_files(root):
    """Each CI file against its schema (bundled with check-jsonschema: no network)."""
    found = ci_files(root)
    for schema, files in found.items():
        key = (schema, *((str(f), (root / f).read_bytes()) for f in files))
        if key not in CI_VERDICTS:
            command = [tool("check-jsonschema"), "--builtin-schema", schema, *map(str, files)]
            completed = quietly(command, root)
            failed = completed.returncode != 0
            CI_VERDICTS[key] = f"{schema}:\n{explain(completed, command)}" if failed else ""
        if CI_VERDICTS[key]:
            pytest.fail(CI_VERDICTS[key], pytrace=False)
    return found


# The verdicts on CI files already checked, byte for byte (the same in most bakes).
CI_VERDICTS = {}


@functools.cache
def compose_runs(generation):
    try:
        version = subprocess.run([*COMPOSE[generation], "version"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return version.returncode == 0


def compose_or_skip(generation):
    """The Compose generation's command; a missing one fails under CI=true, else skips."""
    command = COMPOSE[generation]
    if not compose_runs(generation):
        reason = f"Compose {generation} ({' '.join(command)}) is not installed or does not run"
        if IN_CI:
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(f"{reason} (under CI=true this is a failure)")
    return command


def without_outer_make(environ):
    """The environment minus what an outer make or compose setting would slip into ours."""
    dropped = {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES"}
    return {k: v for k, v in environ.items() if k not in dropped and not k.startswith("COMPOSE_")}


def makefile_environment(project):
    """What the baked Makefile exports to its recipes, compose commands included (no .env)."""
    command = ["make", "--eval", "_generated_tools_env: ; @env -0", "_generated_tools_env"]
    completed = subprocess.run(
        command, cwd=project, env=without_outer_make(os.environ), capture_output=True, timeout=60
    )
    assert completed.returncode == 0, completed.stderr.decode(errors="replace")
    pairs = (item.split("=", 1) for item in completed.stdout.decode().split("\0") if "=" in item)
    return without_outer_make(dict(pairs))


def compose_problems(command, generation, files, cwd, env):
    """`config` of every file at once; each must be valid and find every variable it uses."""

    def config(path):
        return path, quietly(
            [*command, "-f", str(path), "config", COMPOSE_QUIET[generation]], cwd, env
        )

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


def compose_inputs(project):
    """A digest of what `compose config` reads in a bake: its compose files and its Makefiles."""
    digest = hashlib.sha256()
    read = [*project.glob("docker/*/docker-compose*.yml"), project / "Makefile"]
    for path in sorted(read + list(project.rglob("*.mk"))):
        digest.update(f"{path.relative_to(project)}\0".encode() + path.read_bytes() + b"\0")
    return digest.hexdigest()


# Problems found per (generation, compose_inputs): a bake whose compose files and Makefiles are
# byte for byte those of a bake already checked gets that check's verdict (Compose v1 takes a
# second of CPU a file).
COMPOSE_VERDICTS = {}


# --- the bakes -----------------------------------------------------------------------------


@pytest.fixture(scope="module", params=list(BAKES.values()), ids=list(BAKES))
def bake(request, cookies_session):
    return request.param, baked(cookies_session.bake(extra_context=request.param))


def test_hadolint_passes_every_dockerfile(bake, isolated):
    _, project = bake
    files = dockerfiles(project)
    assert Path("docker/dev/Dockerfile") in files
    hadolint(files, project, isolated)


def test_shellcheck_passes_every_script_of_the_bake(bake, isolated):
    _, project = bake
    files = shell_scripts(project)
    assert {Path("scripts/test.sh"), Path("docker/db/initialise.sh")} <= set(files)
    shellcheck(files, project, isolated)


def test_shellcheck_passes_every_script_of_the_template(isolated):
    files = shell_scripts(TEMPLATE_DIR, TEMPLATE_ONLY_SKIPPED)
    assert Path(".ci/run") in files
    shellcheck(files, TEMPLATE_DIR, isolated)


def test_ci_files_follow_their_schema(bake):
    answers, project = bake
    chosen = answers.get("ci", DEFAULT_ANSWERS["ci"][0])
    assert set(validate_ci_files(project)) == CI_SCHEMAS_CHOSEN.get(chosen, set())


@pytest.mark.parametrize("generation", list(COMPOSE))
def test_compose_config_accepts_every_compose_file(bake, generation):
    _, project = bake
    command = compose_or_skip(generation)
    files = sorted(p.relative_to(project) for p in project.glob("docker/*/docker-compose*.yml"))
    assert Path("docker/dev/docker-compose.yml") in files
    key = (generation, compose_inputs(project))
    if key not in COMPOSE_VERDICTS:
        env = makefile_environment(project)
        COMPOSE_VERDICTS[key] = compose_problems(command, generation, files, project, env)
    if COMPOSE_VERDICTS[key]:
        pytest.fail(f"Compose {generation} config:\n" + "\n".join(COMPOSE_VERDICTS[key]))


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


@pytest.mark.parametrize(
    "path, text, error",
    [
        (".github/workflows/test.yml", "on: push\njobs:\n  test:\n    steps: []\n", "runs-on"),
        (".gitlab-ci.yml", "test:\n  script: make test\n  when: sometimes\n", "sometimes"),
    ],
    ids=["github", "gitlab"],
)
def test_check_jsonschema_can_fail(tmp_path, path, text, error):
    (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / path).write_text(text)
    with pytest.raises(pytest.fail.Exception, match=error):
        validate_ci_files(tmp_path)


@pytest.mark.parametrize("generation", list(COMPOSE))
def test_compose_config_can_fail(tmp_path, generation):
    command = compose_or_skip(generation)
    (tmp_path / "invalid.yml").write_text("services:\n  app:\n    image: alpine\n    ports: 9\n")
    (tmp_path / "unset.yml").write_text("services:\n  app:\n    image: ${TOOLS_TEST_UNSET}:1\n")
    env = without_outer_make({k: v for k, v in os.environ.items() if k != "TOOLS_TEST_UNSET"})
    files = [Path("invalid.yml"), Path("unset.yml")]
    problems = compose_problems(command, generation, files, tmp_path, env)
    assert len(problems) == 2, problems
    assert problems[0].startswith("invalid.yml: ") and "ports" in problems[0]
    assert problems[1].endswith("variables the Makefile does not set: TOOLS_TEST_UNSET")
