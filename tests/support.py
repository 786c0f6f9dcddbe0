"""What the template's tests share: where things are, how to bake, how to run a baked project.

The one place that names the stand-in images, the Compose generations and a run's compose
project; the conftest files hold fixtures only.
"""

import json
import os
import shutil
import subprocess
import sys
import time
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
    image.partition(":")[0]: image for image in OFFLINE_IMAGES if not image.startswith("python:")
}
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


def tool(name):
    """A program requirements-dev.txt installs: beside this Python, else on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    found = shutil.which(name, path=path)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -r requirements-dev.txt", pytrace=False)
    return found


def unique_build_id():
    return f"t{uuid.uuid4().hex[:8]}"


def make(project, target, env=None, *arguments, timeout=900):
    """Run the baked project's own make as a user would; its output is kept in make.log."""
    completed = subprocess.run(
        ["make", target, *arguments],
        cwd=project,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    with (project / "make.log").open("a") as log:
        log.write(f"$ make {target} {' '.join(arguments)} -> {completed.returncode}\n")
        log.write(completed.stdout + completed.stderr)
    return completed


def docker(*arguments, check=True):
    return subprocess.run(["docker", *arguments], capture_output=True, text=True, check=check)


def ids(*listing):
    """The IDs a `docker ... --quiet` listing prints."""
    return sorted(docker(*listing).stdout.split())


def project_containers(compose_project_name, *labels):
    """IDs of a compose project's containers, stopped ones included, with these labels too."""
    filters = [f"label=com.docker.compose.project={compose_project_name}", *labels]
    listing = ["ps", "--all", "--quiet"]
    for value in filters:
        listing += ["--filter", value if value.startswith("label=") else f"label={value}"]
    return ids(*listing)


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


# --- The Docker layer: baked checkouts, the engine's state, wrapper images ---------------------

# The generated Makefile's settings. A test runner's own (Jenkins sets BUILD_ID, for one) must not
# leak into a baked project's make: the Docker layer's conftest removes them from its environment.
PROJECT_SETTINGS = (
    "PROJECT_NAME", "BUILD_ID", "COMPOSE", "PYTHON_IMAGE", "DB_IMAGE", "IMAGE", "PROBE_TIMEOUT",
    "PORT", "REPORTS_DIR", "ARGS", "BUILD_FLAGS", "VERBOSE", "MYSQL_PASSWORD",
    "MYSQL_ROOT_PASSWORD", "SECRET_KEY", "COMPOSE_FILE", "COMPOSE_PROJECT_NAME",
)  # fmt: skip
# What a make running these tests (the template's `make test`) tells its sub-makes: a baked
# project's make is the user's own, not a sub-make of ours (it would print `make[1]: ...`).
MAKE_ENVIRONMENT = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES")


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


def require_image(image):
    if not command_works("docker", "image", "inspect", image):
        unavailable(f"image {image} is not on the engine (build or pull it)")


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
        self.path = Path(path)
        self.slug = slug
        self.settings = settings

    def __repr__(self):
        return f"Checkout({self.path}, {self.settings})"

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

    def copy(self, destination, **settings):
        """Another checkout of the same project (the folder as it is, without .env or reports)."""
        shutil.copytree(self.path, destination, ignore=shutil.ignore_patterns(".env", "reports"))
        return Checkout(destination, self.slug, {**self.settings, **settings})

    def report(self):
        """The JUnit totals and failed tests of the last make test's reports/unittests.xml."""
        return junit_totals(self.path / "reports" / "unittests.xml")


class Projects:
    """Bakes projects with a slug and BUILD_ID of their own; make-cleans each one at the end."""

    def __init__(self, cookies, provide_image):
        self.cookies = cookies
        self.provide_image = provide_image
        self.handed_out = []

    def __call__(self, generation="v2", build_id="unique", **answers):
        """A checkout baked with these answers; build_id=None lets the Makefile pick one."""
        answers = {"project_slug": f"todo{uuid.uuid4().hex[:8]}", **answers}
        # The project runs on its default images (a choice's default is its first); provide_image
        # builds their stand-ins where no registry has them.
        python = answers.get("python_version", DEFAULT_ANSWERS["python_version"][0])
        self.provide_image(PYTHON_IMAGES[python])
        self.provide_image(DB_IMAGES[answers.get("database", DEFAULT_ANSWERS["database"][0])])
        settings = {"COMPOSE": compose_command(generation)}
        if build_id:
            settings["BUILD_ID"] = unique_build_id() if build_id == "unique" else build_id
        checkout = Checkout(
            baked(self.cookies.bake(extra_context=answers)), answers["project_slug"], settings
        )
        self.handed_out.append(checkout)
        return checkout

    def copy(self, checkout, destination, **settings):
        """Another checkout of the same project, make-cleaned at the end too."""
        other = checkout.copy(destination, **settings)
        self.handed_out.append(other)
        return other

    def clean(self):
        """make clean each checkout; then nothing of their applications may be left."""
        failures = []
        for checkout in self.handed_out:
            cleaned = checkout.make("clean")
            if cleaned.returncode != 0:
                failures.append(f"make clean in {checkout.path}: {explain(cleaned)}")
        for slug in {checkout.slug for checkout in self.handed_out}:
            left = {kind: found for kind, found in application_objects(slug).items() if found}
            if left:
                failures.append(f"make clean left these of {slug}: {left}")
                remove_application(slug)
        self.handed_out.clear()
        if failures:
            pytest.fail("\n".join(failures), pytrace=False)


def remove_application(slug):
    """What make clean left of a baked project: removed, so the shared engine stays clean."""
    objects = application_objects(slug)
    for container in objects["containers"]:
        docker("rm", "--force", "--volumes", container, check=False)
    for kind in ("network", "volume"):
        for name in application_objects(slug)[f"{kind}s"]:
            docker(kind, "rm", name, check=False)
    for image in objects["images"]:
        docker("image", "rm", "--force", image, check=False)


def application_objects(application):
    """Every container, volume, network and image the baked project labels as its own."""
    label = f"label=application={application}"
    return {
        "containers": ids("ps", "--all", "--quiet", "--no-trunc", "--filter", label),
        "volumes": ids("volume", "ls", "--quiet", "--filter", label),
        "networks": ids("network", "ls", "--quiet", "--no-trunc", "--filter", label),
        "images": ids("image", "ls", "--all", "--quiet", "--no-trunc", "--filter", label),
    }


def inspect(kind, object_ids):
    if not object_ids:
        return []
    shown = docker(kind, "inspect", *object_ids, check=False)
    return json.loads(shown.stdout or "[]")  # an object removed meanwhile is left out


def owner_of(labels, name):
    """Whose an object is: the application or compose project its labels name, else its name."""
    labels = labels or {}
    return labels.get("application") or labels.get("com.docker.compose.project") or name


def engine_inventory():
    """Every container, volume, network and image on the engine, with what it is and whose:
    {kind: {id: (owner, description)}}.

    The owner is given by owner_of(), or by the tag of an image; an anonymous volume or an
    untagged image has the owner of the container using it, else None.
    """
    inventory = {"taken_at": time.time()}
    inventory.update({kind: {} for kind in ENGINE_KINDS})
    users = {}  # volume name or image ID -> the owner of a container using it
    for container in inspect("container", ids("ps", "--all", "--quiet", "--no-trunc")):
        owner = owner_of(container["Config"]["Labels"], container["Name"].lstrip("/"))
        inventory["containers"][container["Id"]] = (owner, f"container {container['Name']}")
        users[container["Image"]] = owner
        for mount in container["Mounts"]:
            users[mount.get("Name")] = owner
    for network in inspect("network", ids("network", "ls", "--quiet", "--no-trunc")):
        owner = owner_of(network["Labels"], network["Name"])
        inventory["networks"][network["Id"]] = (owner, f"network {network['Name']}")
    for volume in inspect("volume", ids("volume", "ls", "--quiet")):
        name = volume["Name"]
        owner = owner_of(volume["Labels"], None if anonymous(name) else name) or users.get(name)
        inventory["volumes"][name] = (owner, f"volume {name} {volume['Labels'] or ''}")
    for image in inspect("image", ids("image", "ls", "--all", "--quiet", "--no-trunc")):
        tags = image.get("RepoTags") or []
        owner = owner_of(image["Config"].get("Labels"), tags[0] if tags else None)
        owner = owner or users.get(image["Id"])
        inventory["images"][image["Id"]] = (owner, f"image {image['Id'][7:19]} {tags}")
    return inventory


ENGINE_KINDS = ("containers", "volumes", "networks", "images")


def anonymous(volume_name):
    return len(volume_name) == 64 and all(c in "0123456789abcdef" for c in volume_name)


def volume_users(since):
    """The owner of the container that mounted each volume since then, from the engine's events
    (the container may be gone: its create event kept its labels)."""

    def events(kind, action):
        listed = docker(
            "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
            "--filter", f"type={kind}", "--filter", f"event={action}", "--format", "{{json .}}",
        )  # fmt: skip
        return [json.loads(line) for line in listed.stdout.splitlines() if line.strip()]

    created = {
        event["Actor"]["ID"]: owner_of(event["Actor"]["Attributes"], None)
        for event in events("container", "create")
    }
    return {
        event["Actor"]["ID"]: created.get(event["Actor"]["Attributes"].get("container"))
        for event in events("volume", "mount")
    }


def engine_changes(before, after, application):
    """What appeared or vanished between two engine_inventory()s, but for what others did meanwhile.

    Objects owned by another application, compose project, name or tag are others' business on a
    shared engine; those of this application and the anonymous volumes and untagged images of
    nobody's are compared (on an engine of its own, as in CI, every change a make could make).
    """

    def compared(owner):
        return owner is None or owner == application or owner.startswith(f"{application}-")

    changes = []
    mounted_by = None
    for kind in ENGINE_KINDS:
        for object_id in sorted(before[kind].keys() ^ after[kind].keys()):
            owner, description = before[kind].get(object_id) or after[kind][object_id]
            if owner is None and kind == "volumes":
                mounted_by = mounted_by or volume_users(before["taken_at"])
                owner = mounted_by.get(object_id)
            if compared(owner):
                verb = "appeared" if object_id in after[kind] else "vanished"
                changes.append(f"{description} (owner {owner}) {verb}")
    return changes


# The ordinary user in the docker group that the Docker layer acts as (created and removed by it).
DOCKER_GROUP_USER = "template-tester"

# A late database is this many seconds late: well past the few a server takes to start, well
# inside the agent's default PROBE_TIMEOUT.
LATE_DB_SECONDS = 30


# Images that wrap a database image with another entrypoint; the build of the project's db image
# still runs the wrapped image's own initialisation, only its containers start differently.
def wrapper_image(base, role, entrypoint, cmd):
    """`base` with another entrypoint and command, under a tag of its own; returns the tag."""
    dockerfile = (
        f"FROM {base}\n"
        f"ENTRYPOINT {json.dumps(entrypoint)}\n"
        f"CMD {json.dumps(cmd)}\n"
        "LABEL template-tests=wrapper\n"
    )
    tag = f"template-tests/{role}:{uuid.uuid4().hex[:8]}"
    built = subprocess.run(
        ["docker", "build", "--quiet", "--tag", tag, "-"],
        input=dockerfile, text=True, capture_output=True, timeout=300,
    )  # fmt: skip
    if built.returncode != 0:
        pytest.fail(explain(built, f"docker build of {tag} FROM {base}"))
    return tag


def image_config(image, key):
    shown = docker("image", "inspect", "--format", f"{{{{json .Config.{key}}}}}", image)
    return json.loads(shown.stdout) or []


def late_image(base, seconds):
    """A database that starts `seconds` late, then exactly as `base` does."""
    late = ["/bin/sh", "-c", f'sleep {seconds}; exec "$0" "$@"', *image_config(base, "Entrypoint")]
    return wrapper_image(base, "late-db", late, image_config(base, "Cmd"))


def never_ready_image(base):
    """A database container that runs and never listens (and stops at once when asked)."""
    forever = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 0.2; done"]
    return wrapper_image(base, "never-ready-db", forever, [])


def remove_image(tag):
    docker("image", "rm", "--force", tag, check=False)
