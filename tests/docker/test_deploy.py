"""make deploy and make undeploy on a real single-node swarm: one bake, released, tagged and
published as v1 and v2 to a real registry; v1 deployed, then rolled to v2 under a bounded load,
an image that answers 500 rolled back, a failing migration stopped, the stack removed with its
database's data kept, and a database outside the stack. Every rollout is timed, with the requests
served meanwhile (the Docker layer's figures).

The swarm: initialised here on 127.0.0.1 and left at the end, or, when one is active, used and
left alone. Needs, besides the engine: docker-registry and hey (apt-get install docker-registry
hey); the rollout to v2 goes through the 20.10 CLI (/usr/bin/docker, Debian's docker.io).
"""

import json
import re
import signal
import subprocess
import time

import pytest

from tests.support import (
    DB_IMAGES,
    PROXY_IMAGE,
    docker,
    explain,
    free_port,
    get,
    git,
    make,
    run,
    said,
    send,
    tool,
    unavailable,
)

CLI_20_10 = "/usr/bin/docker"
# hey's bounded load: this many workers, each at most this many requests a second.
WORKERS, RATE = 4, 25


def swarm_state():
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()


@pytest.fixture(scope="module")
def published(new_module_project, registry, swarm, provide_image, tmp_path_factory):
    """A bake released, tagged and published as v1, then, after a commit, as v2; two images
    derived from v2 and published too: one whose app answers 500 to every request, one with a
    migration that fails. At the end: the stacks undeployed, every tag of it removed."""
    provide_image(PROXY_IMAGE)
    checkout = new_module_project()
    settings = {"REGISTRY": registry, "DEPLOY_PORT": str(free_port())}
    repository = f"{registry}/{checkout.slug}"
    for version in ("v1", "v2"):
        if version == "v1":
            for command in ("init -q", "add -A", "commit -q -m Baked"):
                git(checkout.path, *command.split())
        else:
            with (checkout.path / "src/manage.py").open("a") as source:
                source.write("# v2\n")
            git(checkout.path, "commit", "-q", "-a", "-m", "v2")
        git(checkout.path, "tag", version)
        for target in ("release", "tag", "publish"):
            completed = checkout.make(target, f"REGISTRY={registry}")
            assert completed.returncode == 0, explain(completed)
    images = {version: f"{repository}:{version}" for version in ("v1", "v2")}
    folder = tmp_path_factory.mktemp("derived")
    for tag, files in derived_images(checkout.slug).items():
        (folder / tag).mkdir()
        lines = [f"FROM {images['v2']}"]
        for path, text in files.items():
            (folder / tag / path.rpartition("/")[2]).write_text(text)
            lines.append(f"COPY {path.rpartition('/')[2]} {path}")
        if tag == "answers-500":
            lines.append("ENV DJANGO_SETTINGS_MODULE=failing_settings")
        (folder / tag / "Dockerfile").write_text("\n".join(lines) + "\n")
        images[tag] = f"{repository}:{tag}"
        run(["docker", "build", "--quiet", "--tag", images[tag], str(folder / tag)], ".")
        docker("push", "--quiet", images[tag])
    yield checkout, settings, images
    for stack in (checkout.slug, f"{checkout.slug}ext"):
        checkout.make("undeploy", f"STACK={stack}", "VOLUMES=yes")
    listed = docker("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", repository).stdout
    for image in listed.split():
        docker("image", "rm", "--force", image, check=False)


def derived_images(slug, app="todo"):
    """The files each derived image adds to v2."""
    failing = (
        "from django.http import HttpResponseServerError\n\n\n"
        "class Fail:\n"
        "    def __init__(self, get_response):\n        pass\n\n"
        "    def __call__(self, request):\n"
        '        return HttpResponseServerError("failing on purpose")\n'
    )
    settings = (
        f"from {slug}.settings.release import *  # noqa: F403\n\n"
        'MIDDLEWARE = ["failing.Fail", *MIDDLEWARE]  # noqa: F405\n'
    )
    migration = (
        "from django.db import migrations\n\n\n"
        "def fail(apps, schema_editor):\n"
        '    raise RuntimeError("this migration fails on purpose")\n\n\n'
        "class Migration(migrations.Migration):\n"
        f'    dependencies = [("{app}", "0001_initial")]\n'
        "    operations = [migrations.RunPython(fail)]\n"
    )
    return {
        "answers-500": {"/app/failing.py": failing, "/app/failing_settings.py": settings},
        "failing-migration": {f"/app/{app}/migrations/0099_fail.py": migration},
    }


@pytest.fixture(scope="module")
def swarm(docker_engine):
    """A single-node swarm: initialised here and left at the end, or the active one, left alone."""
    state = swarm_state()
    if state == "active":
        yield
        return
    if state != "inactive":
        unavailable(f"this engine's swarm is {state}: neither active nor inactive")
    docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    try:
        yield
    finally:
        docker("swarm", "leave", "--force")


def deploy(checkout, settings, *arguments, env=None):
    """make deploy with these settings; the completed make and the seconds it took."""
    started = time.monotonic()
    arguments = [f"{name}={value}" for name, value in settings.items()] + list(arguments)
    completed = make(checkout.path, "deploy", {**checkout.settings, **(env or {})}, *arguments)
    return completed, time.monotonic() - started


def under_load(url, action):
    """action() while hey sends a bounded load to url; hey's summary and action's result."""
    hey = subprocess.Popen(
        [tool("hey", "apt-get install hey"), "-z", "600s", "-c", str(WORKERS), "-q", str(RATE),
         "-t", "10", url],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        time.sleep(1)
        result = action()
    finally:
        hey.send_signal(signal.SIGINT)
        summary = hey.communicate(timeout=60)[0]
    return summary, result


def served(summary):
    """The number of requests hey saw answered 200; fails if any failed or answered otherwise."""
    codes = dict(re.findall(r"\[(\d+)\]\s+(\d+) responses", summary))
    assert "Error distribution" not in summary and list(codes) == ["200"], summary
    return int(codes["200"])


def service(name, template="{{json .}}"):
    shown = docker("service", "inspect", "--format", template, name).stdout
    return json.loads(shown) if template == "{{json .}}" else shown.strip()


def serving(stack):
    """The image the app's spec names, without the digest stack deploy pinned."""
    return service(f"{stack}_app", "{{.Spec.TaskTemplate.ContainerSpec.Image}}").partition("@")[0]


def stack_objects(stack):
    """What of a stack the swarm holds: services, networks, configs, secrets, volumes."""
    label = f"--filter=label=com.docker.stack.namespace={stack}"
    secrets = docker("secret", "ls", "--format", "{{.Name}}").stdout.split()
    return {
        "services": sorted(docker("service", "ls", "--format", "{{.Name}}", label).stdout.split()),
        "networks": docker("network", "ls", "--quiet", label).stdout.split(),
        "configs": docker("config", "ls", "--quiet", label).stdout.split(),
        "secrets": sorted(name for name in secrets if name.startswith(f"{stack}_")),
        "volumes": docker("volume", "ls", "--quiet", label).stdout.split(),
    }


def todos(url):
    status, body = get(f"{url}/todos")
    assert status == 200
    return [todo["title"] for todo in json.loads(body)]


def test_make_deploy_refuses_without_a_swarm(new_project, provide_image):
    if swarm_state() != "inactive":
        pytest.skip("a swarm is active on this engine: this test does not leave it")
    provide_image(PROXY_IMAGE)
    checkout = new_project()

    completed, _ = deploy(checkout, {}, "TAG=v1")

    assert completed.returncode == 2, explain(completed)
    [sentence] = said(completed)
    assert "not a manager of an active swarm" in sentence and "docker swarm init" in sentence


def test_make_deploy_refuses_bad_settings_in_one_sentence(published):
    checkout, settings, _ = published
    for arguments, start in [
        ((), 'TAG="" names no image'),
        (("TAG=v9",), f'TAG="v9" names no image {settings["REGISTRY"]}/{checkout.slug}:v9'),
        (("TAG=v1", "REPLICAS=0"), 'REPLICAS="0" is not valid'),
        (("TAG=v1", "DEPLOY_PORT=http"), 'DEPLOY_PORT="http" is not a port'),
    ]:
        completed, _ = deploy(checkout, settings, *arguments)
        assert completed.returncode == 2, explain(completed)
        [sentence] = said(completed)
        assert sentence.startswith(start), sentence
    assert stack_objects(checkout.slug)["services"] == []


def test_the_first_deploy_serves_v1_from_secrets_nobody_sees(published, record_figure):
    checkout, settings, images = published
    stack = checkout.slug

    completed, seconds = deploy(checkout, settings, "TAG=v1")

    assert completed.returncode == 0, explain(completed)
    url = f"http://localhost:{settings['DEPLOY_PORT']}"
    assert completed.stdout.splitlines()[-1] == f"=> {stack} serves {images['v1']} on {url}/todos"
    record_figure(f"make deploy, first (database created, migrated, 2 tasks): {seconds:.1f} s")
    assert serving(stack) == images["v1"]
    assert send(f"{url}/todos", {"title": "made by v1"}) == 201
    assert todos(url) == ["made by v1"]

    # The secrets: fresh, in files under /run/secrets, in no inspect output nor in the checkout.
    app = docker("ps", "--quiet", f"--filter=label=com.docker.swarm.service.name={stack}_app")
    container = app.stdout.split()[0]
    values = [
        docker("exec", container, "cat", f"/run/secrets/{name}").stdout
        for name in ("secret_key", "mysql_password")
    ]
    assert all(re.fullmatch(r"[0-9a-f]{64}", value) for value in values), values
    shown = [service(f"{stack}_{name}", "{{json .}}") for name in ("app", "db", "proxy")]
    containers = docker("ps", "--quiet", f"--filter=label=com.docker.stack.namespace={stack}")
    shown.append(docker("inspect", *containers.stdout.split()).stdout)
    shown.append(docker("secret", "inspect", *stack_objects(stack)["secrets"]).stdout)
    found = run(["grep", "-rlF", "-e", values[0], "-e", values[1], "."], checkout.path, check=False)
    assert [value for value in values if value in json.dumps(shown)] == []
    assert found.stdout == ""


def test_the_stack_needs_no_ipvs_and_rolls_out_one_ready_task_at_a_time(published):
    checkout, settings, _ = published
    app, db, proxy = (service(f"{checkout.slug}_{name}") for name in ("app", "db", "proxy"))
    assert {spec["Spec"]["EndpointSpec"]["Mode"] for spec in (app, db, proxy)} == {"dnsrr"}
    [port] = proxy["Spec"]["EndpointSpec"]["Ports"]
    assert (port["PublishMode"], port["PublishedPort"]) == ("host", int(settings["DEPLOY_PORT"]))
    update = app["Spec"]["UpdateConfig"]
    assert (update["Parallelism"], update["Order"], update["FailureAction"]) == (
        1, "start-first", "rollback",
    )  # fmt: skip
    health = app["Spec"]["TaskTemplate"]["ContainerSpec"]["Healthcheck"]
    needed = health["StartPeriod"] + health["Retries"] * health["Interval"]
    assert update["Monitor"] > needed and health["Interval"] < 30e9  # the image's own: 30 s
    assert app["Spec"]["RollbackConfig"]["Order"] == "start-first"
    assert app["Spec"]["TaskTemplate"]["RestartPolicy"]["Condition"] == "any"
    assert app["Spec"]["TaskTemplate"]["Resources"]["Limits"]["MemoryBytes"] > 0
    assert app["Spec"]["Mode"]["Replicated"]["Replicas"] == 2
    assert db["Spec"]["TaskTemplate"]["Placement"]["Constraints"] == [
        f"node.labels.{checkout.slug}.db == true"
    ]
    [mount] = db["Spec"]["TaskTemplate"]["ContainerSpec"]["Mounts"]
    assert (mount["Type"], mount["Source"]) == ("volume", f"{checkout.slug}_db")


def test_rolling_to_v2_with_the_20_10_cli_drops_no_request(published, tmp_path, record_figure):
    checkout, settings, images = published
    (tmp_path / "docker").symlink_to(CLI_20_10)
    path = f"{tmp_path}:{run(['printenv', 'PATH'], '.').stdout.strip()}"
    version = run(["docker", "version", "--format", "{{.Client.Version}}"], ".", {"PATH": path})
    if not version.stdout.startswith("20.10."):
        unavailable(f"{CLI_20_10} is not the 20.10 CLI (apt-get install docker.io on Debian 12)")
    url = f"http://127.0.0.1:{settings['DEPLOY_PORT']}/todos"

    summary, (completed, seconds) = under_load(
        url, lambda: deploy(checkout, settings, "TAG=v2", env={"PATH": path})
    )

    assert completed.returncode == 0, explain(completed)
    requests = served(summary)
    record_figure(
        f"rollout v1 -> v2 (20.10 CLI, 2 tasks): {seconds:.1f} s, {requests} requests served "
        f"under load ({WORKERS} workers x {RATE}/s), 0 failed"
    )
    assert serving(checkout.slug) == images["v2"]
    tasks = docker("service", "ps", "--filter=desired-state=running", "--format",
                   "{{.Image}} {{.CurrentState}}", f"{checkout.slug}_app").stdout  # fmt: skip
    assert [line.split()[:2] for line in tasks.splitlines()] == [[images["v2"], "Running"]] * 2


def test_an_image_that_answers_500_is_rolled_back_and_no_request_fails(published, record_figure):
    checkout, settings, images = published
    url = f"http://127.0.0.1:{settings['DEPLOY_PORT']}/todos"

    summary, (completed, seconds) = under_load(
        url, lambda: deploy(checkout, settings, "TAG=answers-500")
    )

    assert completed.returncode != 0, explain(completed)
    sentence = said(completed)[-1]
    assert re.search(rf"rollout of {re.escape(images['answers-500'])} failed", sentence), sentence
    assert f"{images['v2']} is still serving" in sentence, sentence
    requests = served(summary)
    record_figure(
        f"rollout to an image answering 500, rolled back to v2: {seconds:.1f} s, {requests} "
        "requests served meanwhile, 0 failed"
    )
    assert serving(checkout.slug) == images["v2"]


def test_a_failing_migration_stops_the_deploy_with_its_output(published, record_figure):
    checkout, settings, images = published
    app = f"{checkout.slug}_app"
    tasks = docker("service", "ps", "--quiet", "--filter=desired-state=running", app).stdout

    completed, seconds = deploy(checkout, settings, "TAG=failing-migration")

    assert completed.returncode != 0, explain(completed)
    assert "RuntimeError: this migration fails on purpose" in completed.stderr
    sentence = said(completed)[-1]
    assert sentence == (
        f"The migrations failed with {images['failing-migration']} (its output is above): the "
        f"app was not updated, {images['v2']} is still serving."
    )
    record_figure(f"make deploy with a failing migration, stopped: {seconds:.1f} s")
    assert docker("service", "ps", "--quiet", "--filter=desired-state=running", app).stdout == tasks
    assert serving(checkout.slug) == images["v2"]
    # The migration job is gone.
    assert stack_objects(checkout.slug)["services"] == [f"{app}", f"{checkout.slug}_db",
                                                        f"{checkout.slug}_proxy"]  # fmt: skip
    url = f"http://127.0.0.1:{settings['DEPLOY_PORT']}"
    assert todos(url) == ["made by v1"]


def test_make_undeploy_keeps_only_the_database_and_its_passwords(published):
    checkout, settings, _ = published
    stack = checkout.slug

    removed = checkout.make("undeploy")

    assert removed.returncode == 0, explain(removed)
    assert "make undeploy VOLUMES=yes removes them" in removed.stdout
    assert stack_objects(stack) == {
        "services": [], "networks": [], "configs": [],
        "secrets": [f"{stack}_mysql_password", f"{stack}_mysql_root_password"],
        "volumes": [f"{stack}_db"],
    }  # fmt: skip
    with pytest.raises(OSError):
        get(f"http://127.0.0.1:{settings['DEPLOY_PORT']}/todos", timeout=2)

    # Deployed again, it opens the same data; then VOLUMES=yes removes it all.
    completed, _ = deploy(checkout, settings, "TAG=v2", "REPLICAS=1")
    assert completed.returncode == 0, explain(completed)
    assert todos(f"http://127.0.0.1:{settings['DEPLOY_PORT']}") == ["made by v1"]
    removed = checkout.make("undeploy", "VOLUMES=yes")
    assert removed.returncode == 0, explain(removed)
    assert stack_objects(stack) == {kind: [] for kind in stack_objects(stack)}
    nodes = docker("node", "ls", "--quiet", f"--filter=node.label={stack}.db").stdout
    assert nodes.strip() == ""


@pytest.fixture
def external_database(provide_image):
    """A MySQL server outside the swarm, on the host's network, as a database elsewhere would be:
    its address as the swarm's tasks reach the host, its port, and its container."""
    password, port = "external-db-pw", free_port()
    gateway = docker("network", "inspect", "docker_gwbridge", "--format",
                     "{{ (index .IPAM.Config 0).Gateway }}").stdout.strip()  # fmt: skip
    container = docker(
        "run", "--detach", "--network=host", "--env=MYSQL_ROOT_PASSWORD=" + password,
        "--env=MYSQL_DATABASE=shop", "--env=MYSQL_USER=shop", "--env=MYSQL_PASSWORD=" + password,
        provide_image(DB_IMAGES["mysql"]), f"--port={port}", "--mysqlx=OFF",
    ).stdout.strip()  # fmt: skip
    try:
        query = ["mysql", "--protocol=tcp", "-h", gateway, "-P", str(port), "-ushop", "shop"]
        deadline = time.monotonic() + 120
        while docker("exec", "--env=MYSQL_PWD=" + password, container, *query, "-e", "SELECT 1",
                     check=False).returncode:  # fmt: skip
            assert time.monotonic() < deadline, docker("logs", container).stderr[-3000:]
            time.sleep(0.5)
        yield {"host": gateway, "port": port, "password": password, "query": query,
               "container": container}  # fmt: skip
    finally:
        docker("rm", "--force", "--volumes", container)


def test_a_database_outside_the_stack(published, external_database):
    checkout, _, images = published
    stack, database = f"{checkout.slug}ext", external_database
    settings = {"REGISTRY": published[1]["REGISTRY"], "DEPLOY_PORT": str(free_port()),
                "STACK": stack, "MYSQL_HOST": database["host"], "MYSQL_PORT": database["port"],
                "MYSQL_DATABASE": "shop", "MYSQL_USER": "shop", "REPLICAS": "1"}  # fmt: skip

    refused, _ = deploy(checkout, settings, "TAG=v2")
    assert refused.returncode == 2, explain(refused)
    [sentence] = said(refused)
    assert f"there is no secret {stack}_mysql_password" in sentence, sentence

    docker_secret = ["docker", "secret", "create", f"{stack}_mysql_password", "-"]
    run(docker_secret, ".", input=database["password"])
    completed, _ = deploy(checkout, settings, "TAG=v2")

    assert completed.returncode == 0, explain(completed)
    assert stack_objects(stack)["services"] == [f"{stack}_app", f"{stack}_proxy"]
    assert serving(stack) == images["v2"]
    url = f"http://127.0.0.1:{settings['DEPLOY_PORT']}"
    assert send(f"{url}/todos", {"title": "kept elsewhere"}) == 201
    titles = docker("exec", "--env=MYSQL_PWD=" + database["password"], database["container"],
                    *database["query"], "-NB", "-e", "SELECT title FROM todo_todo").stdout  # fmt: skip
    assert titles.split("\n")[0] == "kept elsewhere"
    removed = checkout.make("undeploy", f"STACK={stack}", "VOLUMES=yes")
    assert removed.returncode == 0, explain(removed)
    assert stack_objects(stack) == {kind: [] for kind in stack_objects(stack)}
