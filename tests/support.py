"""What the template's tests share: where things are, how to bake, how to run a baked project.

The one place that names the stand-in images, the Compose generations and a run's compose
project; the conftest files hold fixtures only.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from xml.etree import ElementTree

import pytest

TEMPLATE_DIR = Path(__file__).resolve().parents[1]
TEMPLATE_PROJECT_DIR = TEMPLATE_DIR / "{{cookiecutter.project_slug}}"
DEFAULT_ANSWERS = json.loads((TEMPLATE_DIR / "cookiecutter.json").read_text())
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

# The images baked projects default to, as offline-images/build.sh lists them (it builds stand-ins
# under these names for engines without a registry). {"3.13": "python:3.13-slim", ...}
OFFLINE_IMAGES = subprocess.run(
    ["bash", str(TEMPLATE_DIR / "offline-images/build.sh"), "--list"],
    capture_output=True, text=True, check=True,
).stdout.split()  # fmt: skip
PYTHON_IMAGES = {
    image.removeprefix("python:").removesuffix("-slim"): image
    for image in OFFLINE_IMAGES
    if image.startswith("python:")
}
DB_IMAGES = {
    image.partition(":")[0]: image
    for image in OFFLINE_IMAGES
    if image.partition(":")[0] in DEFAULT_ANSWERS["database"]
}
# The front of make deploy's stack.
(PROXY_IMAGE,) = (image for image in OFFLINE_IMAGES if image.startswith("nginx:"))
COMPOSE_GENERATIONS = {"v2": "docker compose", "v1": "docker-compose"}


def baked(result):
    """The project folder of a successful bake; fails the test with cookiecutter's error if not."""
    assert result.exception is None, f"bake failed: {result.exception!r}"
    assert result.exit_code == 0
    return Path(result.project_path)


def run(command, cwd, env=None, timeout=600, check=True, **options):
    """Run a command, capturing its output, and show that output when it fails."""
    completed = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, **options
    )
    if check and completed.returncode != 0:
        pytest.fail(explain(completed, command))
    return completed


def explain(completed, command=None):
    return (
        f"{command or completed.args} exited {completed.returncode}\n"
        f"--- stdout\n{completed.stdout[-5000:]}\n--- stderr\n{completed.stderr[-5000:]}"
    )


def said(completed):
    """What a make printed on stderr, without make's own closing `make[1]: *** ...` line."""
    return [line for line in completed.stderr.splitlines() if not re.match(r"make\S*: \*", line)]


def tool(name, install="pip install -r requirements-dev.txt"):
    """A program the tests run: beside this Python (requirements-dev.txt), else on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if found is None:
        pytest.fail(f"{name} is not installed: {install}", pytrace=False)
    return found


def junit_totals(report):
    """Totals over every <testsuite> of a JUnit report, and the names of the failed tests."""
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    totals = {
        key: sum(int(suite.get(key, 0)) for suite in suites)
        for key in ("tests", "failures", "errors", "skipped")
    }
    failed = [
        case.get("name")
        for case in root.iter("testcase")
        if case.find("failure") is not None or case.find("error") is not None
    ]
    return totals, failed


# --- The Docker layer: baked checkouts and the engine's state ----------------------------------

# The generated Makefile's settings. A test runner's own (Jenkins sets BUILD_ID, for one) must not
# leak into a baked project's make: the Docker layer's conftest removes them from its environment.
PROJECT_SETTINGS = (
    "PROJECT_NAME", "BUILD_ID", "COMPOSE", "PYTHON_IMAGE", "DB_IMAGE", "IMAGE", "PROBE_TIMEOUT",
    "PORT", "REPORTS_DIR", "ARGS", "BUILD_FLAGS", "BUILD_CACHE", "VERBOSE", "MYSQL_PASSWORD",
    "MYSQL_ROOT_PASSWORD", "SECRET_KEY", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME",
    "TAG", "STACK", "DEPLOY_PORT", "REPLICAS", "PROXY_IMAGE", "ALLOWED_HOSTS",
    "SECURE_SSL_REDIRECT", "MYSQL_HOST", "MYSQL_PORT", "MYSQL_DATABASE", "MYSQL_USER", "VOLUMES",
)  # fmt: skip
# What a make running these tests tells its sub-makes: a baked project's make is the user's own.
MAKE_ENVIRONMENT = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")
# The ordinary user in the docker group that the Docker layer acts as (created and removed by it).
DOCKER_GROUP_USER = "template-tester"
# Well past the few seconds a server takes to start, well inside the default PROBE_TIMEOUT.
LATE_DB_SECONDS = 30


def unavailable(reason):
    """Fail under CI, where the Docker layer is the point of the run; skip elsewhere; say why."""
    if IN_CI:
        pytest.fail(f"CI=true and the Docker layer cannot run: {reason}", pytrace=False)
    pytest.skip(f"Docker layer skipped: {reason} (under CI=true this is a failure)")


def command_works(*command):
    try:
        return subprocess.run(command, capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def compose_command(generation):
    """The command line of a Compose generation ("v2", "v1"); unavailable() when not installed."""
    command = COMPOSE_GENERATIONS[generation]
    if not command_works(*command.split(), "version"):
        unavailable(f"Compose {generation} ('{command}') is not installed")
    return command


def unique_build_id():
    return f"t{uuid.uuid4().hex[:8]}"


def make(project, target, env=None, *arguments, timeout=900):
    """Run the baked project's own make as a user would; its output is kept in make.log."""
    completed = subprocess.run(
        ["make", target, *arguments], cwd=project, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    with (project / "make.log").open("a") as log:
        log.write(f"$ make {target} {' '.join(arguments)} -> {completed.returncode}\n")
        log.write(completed.stdout + completed.stderr)
    return completed


def docker(*arguments, check=True, timeout=600):
    return run(["docker", *arguments], None, timeout=timeout, check=check)


def image_id(image):
    """The image's id, or None where the engine has no image of that name."""
    found = docker("image", "inspect", "--format", "{{.Id}}", image, check=False)
    return found.stdout.strip() if found.returncode == 0 else None


def ids(*listing):
    """The IDs a `docker ... --quiet` listing prints."""
    return sorted(docker(*listing).stdout.split())


def project_containers(compose_project, *labels):
    """IDs of a compose project's containers, stopped ones included, with these labels too."""
    filters = [f"com.docker.compose.project={compose_project}", *labels]
    return ids("ps", "--all", "--quiet", *(f"--filter=label={label}" for label in filters))


def settings_file(folder):
    """The KEY=VALUE settings of a checkout's .env ({} before its first make)."""
    path = Path(folder) / ".env"
    if not path.is_file():
        return {}
    lines = (line.partition("=") for line in path.read_text().splitlines())
    return {key: value for key, sep, value in lines if sep and not key.startswith("#")}


class Checkout:
    """One baked project as a developer has it: a folder, and the settings of its first make."""

    def __init__(self, path, slug, settings):
        self.path, self.slug, self.settings = Path(path), slug, settings

    def make(self, target, *arguments, timeout=900):
        return make(self.path, target, self.settings, *arguments, timeout=timeout)

    def setting(self, name):
        """The value in force: given to its make, else kept in its .env."""
        return self.settings.get(name) or settings_file(self.path).get(name)

    @property
    def build_id(self):
        return self.setting("BUILD_ID")

    @property
    def compose_project(self):
        return f"{self.slug}-{self.build_id}"

    def compose(self, *arguments, timeout=300):
        """A plain compose command in the checkout, as a user types it: it reads .env."""
        command = [*self.settings["COMPOSE"].split(), *arguments]
        return run(command, cwd=self.path, timeout=timeout, check=False)

    def report(self):
        """The JUnit totals and failed tests of the last make test's reports/unittests.xml."""
        return junit_totals(self.path / "reports" / "unittests.xml")


class Projects:
    """Bakes projects with a slug and BUILD_ID of their own; make-cleans each one at the end."""

    def __init__(self, cookies, provide_image):
        self.cookies, self.provide_image, self.handed_out = cookies, provide_image, []

    def __call__(self, generation="v2", build_id="unique", **answers):
        """A checkout baked with these answers, on its default images (provided: pulled or
        built); build_id=None lets the Makefile pick one."""
        answers = {"project_slug": f"todo{uuid.uuid4().hex[:8]}", **answers}
        python = answers.get("python_version", DEFAULT_ANSWERS["python_version"][0])
        self.provide_image(PYTHON_IMAGES[python])
        self.provide_image(DB_IMAGES[answers.get("database", DEFAULT_ANSWERS["database"][0])])
        settings = {"COMPOSE": compose_command(generation)}
        if build_id:
            settings["BUILD_ID"] = unique_build_id() if build_id == "unique" else build_id
        project = baked(self.cookies.bake(extra_context=answers))
        self.handed_out.append(Checkout(project, answers["project_slug"], settings))
        return self.handed_out[-1]

    def copy(self, checkout, destination, **settings):
        """Another checkout of the same project (the folder without .env or reports)."""
        shutil.copytree(
            checkout.path, destination, ignore=shutil.ignore_patterns(".env", "reports")
        )
        settings = {**checkout.settings, **settings}
        self.handed_out.append(Checkout(destination, checkout.slug, settings))
        return self.handed_out[-1]

    def clean(self):
        """make clean each checkout; then nothing of their applications may be left."""
        failures = []
        for checkout in self.handed_out:
            cleaned = checkout.make("clean")
            if cleaned.returncode != 0:
                failures.append(f"make clean in {checkout.path}: {explain(cleaned)}")
        for slug in {checkout.slug for checkout in self.handed_out}:
            if left := {kind: found for kind, found in application_objects(slug).items() if found}:
                failures.append(f"make clean left these of {slug}: {left}")
                remove_application(slug)
        self.handed_out.clear()
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)


def application_objects(application):
    """Every container, volume, network and image the baked project labels as its own."""
    label = f"--filter=label=application={application}"
    return {
        "containers": ids("ps", "--all", "--quiet", "--no-trunc", label),
        "volumes": ids("volume", "ls", "--quiet", label),
        "networks": ids("network", "ls", "--quiet", "--no-trunc", label),
        "images": ids("image", "ls", "--all", "--quiet", "--no-trunc", label),
    }


def remove_application(slug):
    """What make clean left of a baked project: removed, so the shared engine stays clean."""
    for kind, found in application_objects(slug).items():
        for object_id in found:
            command = {"containers": ["rm", "--force", "--volumes"], "images": ["rmi", "--force"]}
            docker(*command.get(kind, [kind[:-1], "rm"]), object_id, check=False)


def left_behind(application, since):
    """What of a baked project is on the engine: what it labels as its own (its dangling images
    too), and the anonymous volumes its containers mounted since then (the engine's events say
    which; the containers may be gone)."""

    def events(*filters):
        listed = docker(
            "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
            "--format", "{{json .Actor}}", *(f"--filter={value}" for value in filters),
        )  # fmt: skip
        return [json.loads(line) for line in listed.stdout.splitlines()]

    created = events("type=container", "event=create", f"label=application={application}")
    ours = {actor["ID"] for actor in created}
    mounted = {
        actor["ID"]
        for actor in events("type=volume", "event=mount")
        if actor["Attributes"].get("container") in ours
    }
    left = application_objects(application)
    left["volumes"] = sorted({*left["volumes"], *mounted & set(ids("volume", "ls", "--quiet"))})
    return {kind: found for kind, found in left.items() if found}


# --- HTTP: what a running release answers -----------------------------------------------------


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.read()


def answered(url, timeout, why=lambda: ""):
    """get(url) once something answers there; fails with why() after timeout seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return get(url, timeout=2)
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"nothing answered {url} within {timeout} s {why()}")
            time.sleep(0.2)


def send(url, todo=None, method="POST"):
    """POST a todo as JSON (or send another method without a body); returns the status."""
    data = json.dumps(todo).encode() if todo is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- cruft: a template repository with two releases, projects created from the first -----------

# What a template repository holds; the rest of this one (tests, docs, bench) is its tooling.
TEMPLATE_SOURCES = ("cookiecutter.json", "hooks", "local_extensions.py", TEMPLATE_PROJECT_DIR.name)
# Release 1.1.0 of the fixture repository: a line at the end of the generated README, and a test.
TEMPLATE_UPDATE_LINE = "A line that release 1.1.0 of the template added."
TEMPLATE_UPDATE_TEST = "def test_added_by_release_1_1_0():\n    assert True\n"
TEAM_README_LINE = "A line of the team's own."
TEAM_MIGRATION = '''from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("{app}", "0001_initial")]
    operations = [
        migrations.AddField(
            model_name="todo", name="due_on", field=models.DateField(null=True, blank=True)
        ),
    ]
'''


def git(folder, *arguments):
    """git as a fixed author, whatever the runner's own git configuration."""
    identity = ["-c", "user.name=Template tests", "-c", "user.email=tests@example.com"]
    return run(["git", *identity, "-c", "commit.gpgSign=false", *arguments], folder)


def commit_all(folder, message):
    git(folder, "add", "--all")
    git(folder, "commit", "--quiet", "--message", message)


def template_repository(folder):
    """A git repository of this template with two releases: v1.0.0, the template as it is, and
    v1.1.0, which adds TEMPLATE_UPDATE_LINE to the generated README and TEMPLATE_UPDATE_TEST to
    the app's tests."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_SOURCES:
        if (TEMPLATE_DIR / name).is_dir():
            ignored = shutil.ignore_patterns("__pycache__", "*.py[co]")
            shutil.copytree(TEMPLATE_DIR / name, folder / name, ignore=ignored)
        else:
            shutil.copy2(TEMPLATE_DIR / name, folder / name)
    git(folder, "init", "--quiet", "--initial-branch=main")
    release(folder, "1.0.0")
    project = folder / TEMPLATE_PROJECT_DIR.name
    with (project / "README.md").open("a") as readme:
        readme.write(f"\n{TEMPLATE_UPDATE_LINE}\n")
    tests = project / "src" / "{{cookiecutter.app_name}}" / "tests"
    (tests / "test_release_1_1_0.py").write_text(TEMPLATE_UPDATE_TEST)
    release(folder, "1.1.0")
    return folder


def release(folder, version):
    """Commit and tag a release, as the root README's "Releasing the template" does."""
    commit_all(folder, f"Release {version}")
    git(folder, "tag", "--annotate", f"v{version}", "--message", f"Release {version}")


def cruft_create(template, folder, checkout="v1.0.0", **answers):
    """`cruft create` of a release into folder, with the default answers but these; the project is
    committed as the first commit of a git repository of its own, as a team starts.
    Returns the project's folder and cruft's output."""
    folder.mkdir(parents=True, exist_ok=True)
    created = run(
        [tool("cruft"), "create", "--no-input", "--checkout", checkout, "--output-dir", str(folder),
         "--extra-context", json.dumps(answers), str(template)],
        folder,
    )  # fmt: skip
    (project,) = (cruft_file.parent for cruft_file in folder.glob("*/.cruft.json"))
    git(project, "init", "--quiet", "--initial-branch=main")
    commit_all(project, f"Created from the template's {checkout}")
    return project, created


def team_change(project, app="todo"):
    """A team's own work, committed: a field and its migration, and a line near the top of the
    README (the template's release 1.1.0 adds one at its end)."""
    models = project / "src" / app / "models.py"
    models.write_text(models.read_text() + "    due_on = models.DateField(null=True, blank=True)\n")
    migration = project / "src" / app / "migrations" / "0002_todo_due_on.py"
    migration.write_text(TEAM_MIGRATION.format(app=app))
    readme = project / "README.md"
    title, rest = readme.read_text().split("\n", 1)
    readme.write_text(f"{title}\n\n{TEAM_README_LINE}\n{rest}")
    commit_all(project, "The team's change")


def cruft_update(project, checkout="v1.1.0"):
    """`cruft update` to a release, applying it without a question, as the generated README says."""
    return run([tool("cruft"), "update", "--checkout", checkout, "--skip-apply-ask"], project)
