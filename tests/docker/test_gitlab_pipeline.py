"""The generated GitLab pipeline, run by gitlab-ci-local on this engine: its job image docker:28
and its privileged docker:28-dind service are offline-images stand-ins, so the job builds, tests,
releases and publishes on an engine of its own that starts empty, as on a GitLab runner. What
GitLab's servers would provide stands in too: the project's container registry is a local one
(the base images in it, as a mirror), reached through the address of a network of the test's
own, since the service's dockerd takes 172.17.0.1 for its own bridge. The stand-in serves no TLS
(DOCKER_TLS_CERTDIR empty, DOCKER_HOST tcp://docker:2375), and gitlab-ci-local's helper images
are the docker:28 stand-in and a wait-for-it made here."""

import json
import random
import re

from tests.docker.conftest import on_engine
from tests.docker.test_build_cache import registry_on
from tests.support import (
    DB_IMAGES,
    PYTHON_IMAGES,
    command_works,
    docker,
    free_port,
    get,
    git,
    run,
    tool,
)

JOB = "lint-test-release"
# gitlab-ci-local waits for a service's ports with this image; a bash loop stands in for it.
WAIT_FOR_IT = "sumina46/wait-for-it:latest"
WAIT_FOR_IT_DOCKERFILE = """FROM docker:28
LABEL offline-images.stand-in="wait-for-it HOST:PORT -t SECONDS, made by the template's tests"
ENTRYPOINT ["bash", "-c", "for i in $(seq $(( ${3:-15} * 5 ))); do \\
  (exec 3<>/dev/tcp/${1%:*}/${1##*:}) 2>/dev/null && exit 0; sleep 0.2; done; exit 1", "wait"]
"""


def test_gitlab_ci_local_runs_the_pipeline_of_the_default_branch(
    new_project, provide_image, tmp_path
):
    program = tool(
        "gitlab-ci-local", "npm install -g gitlab-ci-local@4.64.0 (.ci/install-docker.sh)"
    )
    tool("rsync", "apt-get install rsync")
    provide_image("docker:28")
    provide_image("docker:28-dind")
    if not on_engine(WAIT_FOR_IT):
        run(["docker", "build", "--quiet", "--tag", WAIT_FOR_IT, "-"], tmp_path,
            input=WAIT_FOR_IT_DOCKERFILE)  # fmt: skip
    checkout = new_project(ci="gitlab", build_id=None)
    slug = checkout.slug
    for command in ("init -q -b main", "add -A", "commit -q -m Baked"):
        git(checkout.path, *command.split())
    git(checkout.path, "remote", "add", "origin", f"https://gitlab.example.com/team/{slug}.git")

    network = f"template-tests-{slug}"
    for _ in range(5):  # a subnet no other network of the engine has
        subnet = f"10.{random.randint(200, 250)}.{random.randint(0, 255)}"
        if command_works("docker", "network", "create", "--subnet", f"{subnet}.0/24", network):
            break
    storage = tmp_path / "registry"
    try:
        with (
            registry_on(storage, f"127.0.0.1:{free_port()}") as local,
            registry_on(storage, f"{subnet}.1:{free_port()}") as registry,
        ):
            variables = {
                "DOCKER_TLS_CERTDIR": "",
                "DOCKER_HOST": "tcp://docker:2375",
                "DOCKERD_EXTRA_ARGS": f"--insecure-registry={registry}",
                "CI_REGISTRY": registry,
                "CI_REGISTRY_IMAGE": f"{registry}/team/{slug}",
                "CI_REGISTRY_USER": "ci",
                "CI_REGISTRY_PASSWORD": "s3cret",
            }
            # The project's default base images, from the registry as from a mirror.
            defaults = {"PYTHON_IMAGE": PYTHON_IMAGES["3.13"], "DB_IMAGE": DB_IMAGES["mysql"]}
            for setting, image in defaults.items():
                docker("tag", image, f"{local}/library/{image}")
                docker("push", "--quiet", f"{local}/library/{image}")
                docker("image", "rm", f"{local}/library/{image}")
                variables[setting] = f"{registry}/library/{image}"
            completed = run(
                [program, "--privileged", "--pull-policy", "if-not-present",
                 "--helper-image", "docker:28",
                 "--ignore-predefined-vars", "CI_REGISTRY,CI_REGISTRY_IMAGE",
                 *[f"--variable={name}={value}" for name, value in variables.items()], JOB],
                checkout.path, check=False, timeout=1800,
            )  # fmt: skip
            tags = {
                name: json.loads(get(f"http://{local}/v2/team/{slug}/{name}/tags/list")[1])["tags"]
                for name in (slug, "build-cache")
            }
    finally:
        docker("network", "rm", network, check=False)

    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output
    # The job passed, and GitLab's coverage: regex found make test's total.
    assert re.search(rf"PASS\s+{JOB} \d+% coverage", output), output
    sha = git(checkout.path, "rev-parse", "--short", "HEAD").stdout.strip()
    assert sorted(tags[slug]) == sorted([sha, "latest"])  # published
    assert sorted(tags["build-cache"]) == ["acceptance", "agent", "dev", "release"]  # for the next
    reports = checkout.path / ".gitlab-ci-local/artifacts" / JOB / "reports"
    assert {"unittests.xml", "acceptance.xml", "coverage.xml"} <= {
        p.name for p in reports.iterdir()
    }
