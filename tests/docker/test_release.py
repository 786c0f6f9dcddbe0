"""The release half of a fresh bake, with each Compose generation: make release builds the release
image, runs it against a fresh database and runs the acceptance tests over HTTP; make tag and make
publish push it to a real registry (Debian's docker-registry on loopback), from which it is pulled
back and serves; a bounded load test finds no failed request; make clean leaves nothing of it.

Needs, besides the engine: docker-registry and hey (apt-get install docker-registry hey).
"""

import json
import re
import time

import pytest

from tests.support import (
    Projects,
    answered,
    docker,
    explain,
    get,
    git,
    image_id,
    junit_totals,
    left_behind,
    project_containers,
    run,
    send,
    tool,
)

GIT_TAG = "v1.2.3"
TODOS = 100
REQUESTS = 640  # hey splits them evenly: a multiple of every concurrency below


@pytest.fixture(scope="module", params=["v2", "v1"])
def released(request, cookies_session, provide_image):
    """A fresh bake, committed and tagged in git, after its first make release; and the engine
    before its first make."""
    since = time.time()
    projects = Projects(cookies_session, provide_image)
    checkout = projects(generation=request.param)
    for command in ("init -q", "add -A", "commit -q -m Baked", f"tag {GIT_TAG}"):
        git(checkout.path, *command.split())
    yield checkout, checkout.make("release"), since
    projects.clean()


def release_image(checkout):
    return f"{checkout.slug}:{checkout.build_id}"


def app_container(checkout):
    project = f"{checkout.compose_project}-release"
    [container] = project_containers(project, "com.docker.compose.service=app")
    return json.loads(docker("inspect", container).stdout)[0]


def healthy_app(checkout, timeout=60):
    """The app container once its healthcheck passes (the engine checks it every few seconds)."""
    deadline = time.monotonic() + timeout
    while (app := app_container(checkout))["State"]["Health"]["Status"] != "healthy":
        assert time.monotonic() < deadline, f"the app was not healthy within {timeout} s"
        time.sleep(0.5)
    return app


def app_url(checkout):
    """The app's address now: a restart gives it another ephemeral host port."""
    ports = healthy_app(checkout)["NetworkSettings"]["Ports"]["8000/tcp"]
    return f"http://127.0.0.1:{ports[0]['HostPort']}"


def test_make_release_passes_and_serves_on_the_url_it_prints(released):
    checkout, completed, _ = released
    assert completed.returncode == 0, explain(completed)
    totals, failed = junit_totals(checkout.path / "reports/acceptance.xml")
    assert failed == [] and totals["tests"] >= 10 and totals["skipped"] == 0, totals

    printed = re.search(r"serves (http://127\.0\.0\.1:\d+)/todos", completed.stdout)
    assert printed, f"make release printed no URL:\n{completed.stdout[-2000:]}"
    base_url = printed.group(1)
    assert get(f"{base_url}/todos") == (200, b"[]")
    assert get(f"{base_url}/health")[1] == b"ok"


def test_the_release_runs_as_in_production(released):
    checkout = released[0]
    app = healthy_app(checkout)
    assert app["HostConfig"]["ReadonlyRootfs"] is True
    assert app["Config"]["User"] == "10001:10001"
    assert docker("exec", app["Id"], "id", "-u").stdout.strip() == "10001"
    ports = app["NetworkSettings"]["Ports"]["8000/tcp"]
    assert [binding["HostIp"] for binding in ports] == ["127.0.0.1"]


def test_the_release_image_holds_the_app_and_nothing_else(released):
    checkout = released[0]
    image = release_image(checkout)
    # As root, to see every folder; each line printed is something that should not be there.
    inside = docker(
        "run", "--rm", "--read-only", "--user", "root", "--entrypoint", "sh", image, "-c",
        "for compiler in gcc cc c++; do command -v $compiler; done;"
        " python -c 'import pytest' 2>/dev/null && echo pytest;"
        " find /app /opt /root /home /tmp \\( -path '*/.cache/pip' -o -name '*.whl' \\) -print;"
        " find /app \\( -name tests -o -name 'test_*.py' -o -name conftest.py"
        " -o -name 'requirements*' \\) -print",
    )  # fmt: skip
    assert inside.stdout.split() == []
    labels = json.loads(docker("image", "inspect", image).stdout)[0]["Config"]["Labels"]
    revision = run(["git", "rev-parse", "HEAD"], checkout.path).stdout.strip()
    assert labels["org.opencontainers.image.revision"] == revision
    assert labels["org.opencontainers.image.version"] == GIT_TAG
    assert labels["org.opencontainers.image.title"] == "Todo Backend"
    assert labels["org.opencontainers.image.authors"] == "Your Name <you@example.com>"
    assert re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", labels["org.opencontainers.image.created"]
    )


def test_the_release_image_adds_at_most_80_mb_to_its_base(released, record_figure):
    checkout = released[0]
    image, base = release_image(checkout), checkout.setting("PYTHON_IMAGE")
    shown = docker("image", "inspect", "--format", "{{.Size}}", image, base).stdout
    sizes = [int(size) / 1e6 for size in shown.split()]
    record_figure(f"release image {sizes[0]:.0f} MB, its base {base} {sizes[1]:.0f} MB")
    assert sizes[0] - sizes[1] <= 80


def test_no_secret_of_the_release_is_in_the_image_or_its_log(released):
    checkout = released[0]
    environment = dict(item.split("=", 1) for item in app_container(checkout)["Config"]["Env"])
    secrets = [environment["SECRET_KEY"], environment["MYSQL_PASSWORD"]]
    assert all(len(secret) >= 32 for secret in secrets)
    image = release_image(checkout)
    history = (
        docker("history", "--no-trunc", image).stdout + docker("image", "inspect", image).stdout
    )
    files = docker("run", "--rm", image, "grep", "-rIls", secrets[0], "/app", "/etc", check=False)
    assert [secret for secret in secrets if secret in history] == []
    assert files.stdout == ""
    make_output = released[1].stdout + released[1].stderr
    assert [secret for secret in secrets if secret in make_output] == []


def test_the_app_comes_back_after_docker_restart_with_its_data(released):
    checkout = released[0]
    base_url = app_url(checkout)
    send(f"{base_url}/todos", method="DELETE")
    assert send(f"{base_url}/todos", {"title": "survive"}) == 201
    container = app_container(checkout)["Id"]

    docker("restart", container)

    status, body = get(f"{app_url(checkout)}/todos")
    assert status == 200 and [todo["title"] for todo in json.loads(body)] == ["survive"]


@pytest.mark.parametrize("concurrency", [8, 32])
def test_no_request_fails_under_a_bounded_load(released, concurrency, record_figure):
    hey = tool("hey", "apt-get install hey")
    checkout = released[0]
    base_url = app_url(checkout)
    send(f"{base_url}/todos", method="DELETE")
    for number in range(TODOS):
        send(f"{base_url}/todos", {"title": f"todo {number}", "order": number})
    assert len(json.loads(get(f"{base_url}/todos")[1])) == TODOS

    # Each request allowed 10 s, all within 120 s.
    summary = run(
        [hey, "-n", str(REQUESTS), "-c", str(concurrency), "-t", "10", f"{base_url}/todos"],
        ".",
        timeout=120,
    ).stdout

    assert f"[200]\t{REQUESTS} responses" in summary, summary
    assert "Error distribution" not in summary, summary
    rate = re.search(r"Requests/sec:\s+([\d.]+)", summary).group(1)
    p50, p99 = (re.search(rf"{p}% in ([\d.]+) secs", summary).group(1) for p in (50, 99))
    processes = docker("top", app_container(checkout)["Id"]).stdout
    workers = processes.count("/opt/venv/bin/gunicorn") - 1  # the master's line, then each worker's
    record_figure(
        f"GET /todos ({TODOS} todos), {checkout.settings['COMPOSE']}, concurrency {concurrency}: "
        f"{rate} requests/s, p50 {float(p50) * 1000:.1f} ms, p99 {float(p99) * 1000:.1f} ms, "
        f"0 errors in {REQUESTS}, workers started: {workers}",
    )


def test_make_tag_names_the_tested_image_after_the_commit(released):
    checkout = released[0]
    sha = run(["git", "rev-parse", "--short", "HEAD"], checkout.path).stdout.strip()
    tested = image_id(release_image(checkout))

    for arguments, tags in [((), ["latest", sha, GIT_TAG]), (("TAGS=candidate",), ["candidate"])]:
        tagged = checkout.make("tag", *arguments)

        assert tagged.returncode == 0, explain(tagged)
        for tag in tags:
            assert image_id(f"{checkout.slug}:{tag}") == tested, tag
            # make clean keeps make tag's tags (make clean-all removes them): not needed here.
            docker("image", "rm", f"{checkout.slug}:{tag}")


def test_make_tag_and_make_publish_push_to_a_registry_that_serves_it_back(released, registry):
    checkout = released[0]
    sha = run(["git", "rev-parse", "--short", "HEAD"], checkout.path).stdout.strip()
    repository = f"{registry}/{checkout.slug}"
    tags = ["latest", sha, GIT_TAG]

    published = checkout.make("tag", "publish", f"REGISTRY={registry}")

    assert published.returncode == 0, explain(published)
    listed = json.loads(get(f"http://{registry}/v2/{checkout.slug}/tags/list")[1])
    assert sorted(listed["tags"]) == sorted(tags)

    for tag in tags:
        docker("image", "rm", f"{repository}:{tag}")
    docker("pull", "--quiet", f"{repository}:{sha}")
    app = app_container(checkout)
    network = next(iter(app["NetworkSettings"]["Networks"]))
    environment = [option for item in app["Config"]["Env"] for option in ("--env", item)]
    pulled = docker(
        "run", "--detach", "--read-only", "--tmpfs", "/tmp", "--network", network,
        "--publish", "127.0.0.1::8000", *environment, f"{repository}:{sha}",
    ).stdout.strip()  # fmt: skip
    try:
        port = docker("port", pulled, "8000").stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}/todos"
        assert answered(url, 60, lambda: docker("logs", pulled).stderr[-3000:])[0] == 200
    finally:
        docker("rm", "--force", pulled)
        docker("image", "rm", f"{repository}:{sha}")


def test_a_failing_acceptance_test_fails_make_release_and_is_reported(released):
    checkout = released[0]
    failing = checkout.path / "tests/acceptance/test_failing.py"
    failing.write_text("def test_a_release_that_fails():\n    assert False\n")
    try:
        completed = checkout.make("release")
    finally:
        failing.unlink()

    assert completed.returncode != 0
    assert "Acceptance tests failed" in completed.stderr
    totals, failed = junit_totals(checkout.path / "reports/acceptance.xml")
    assert failed == ["test_a_release_that_fails"] and totals["tests"] >= 10


def test_make_clean_leaves_nothing_of_the_release(released):
    checkout, _, since = released
    assert project_containers(f"{checkout.compose_project}-release")
    cleaned = checkout.make("clean")
    assert cleaned.returncode == 0, explain(cleaned)
    assert left_behind(checkout.slug, since) == {}
