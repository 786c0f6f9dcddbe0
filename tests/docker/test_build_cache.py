"""BUILD_CACHE, as the generated pipelines set it: a build pushes its images' layers to a registry,
and the next pipeline's build, on an engine whose own cache is empty, reuses them. The second
engine is the docker:28-dind stand-in: a dockerd of its own (its own build cache and images) in a
container, with no bridge, so that none of its builds can reach PyPI: a step that was not in the
registry's cache would fail. It reaches the registry through the host's bridge address, where a
second registry process serves the same storage (only 127.0.0.0/8 may be used over plain HTTP
without configuring the host's engine)."""

import subprocess
import uuid
from contextlib import contextmanager

from tests.support import answered, docker, free_port, git, run, tool

DIND_IMAGE = "docker:28-dind"


@contextmanager
def registry_on(storage, address):
    """docker-registry serving the folder storage on address, until the block ends."""
    config = storage.parent / f"registry-{address.replace(':', '-')}.yml"
    config.write_text(
        f"version: 0.1\nlog: {{level: warn}}\nhttp: {{addr: {address}}}\n"
        f"storage: {{filesystem: {{rootdirectory: {storage}}}}}\n"
    )
    server = subprocess.Popen([tool("docker-registry"), "serve", str(config)])
    try:
        answered(f"http://{address}/v2/", 30)
        yield address
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_a_second_pipeline_builds_from_the_layers_the_first_pushed(
    new_project, provide_image, tmp_path
):
    checkout = new_project(ci="gitlab")
    storage, gateway = (
        tmp_path / "registry",
        docker(
            "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"
        ).stdout.strip(),
    )
    with (
        registry_on(storage, f"127.0.0.1:{free_port()}") as local,
        registry_on(storage, f"{gateway}:{free_port()}") as on_bridge,
    ):
        first = checkout.make("lint", f"BUILD_CACHE={local}/{checkout.slug}/build-cache")
        assert first.returncode == 0 and "Pushed the layers of dev" in first.stdout, first.stdout

        for command in ("init -q", "add -A", "commit -q -m Baked"):
            git(checkout.path, *command.split())
        run(["git", "clone", "-q", str(checkout.path), str(tmp_path / "clone")], tmp_path)
        engine = f"template-tests-dind-{uuid.uuid4().hex[:8]}"
        # --bridge=none only ever in a network namespace of its own: dockerd deletes docker0.
        docker(
            "run", "--detach", "--privileged", "--name", engine, provide_image(DIND_IMAGE),
            "--bridge=none", "--iptables=false", "--ip6tables=false",
            f"--insecure-registry={on_bridge}",
        )  # fmt: skip
        try:
            run(["sh", "-c", f"until docker exec {engine} docker info; do sleep 0.5; done"],
                tmp_path, timeout=60)  # fmt: skip
            saved = subprocess.Popen(
                ["docker", "save", checkout.setting("PYTHON_IMAGE")], stdout=subprocess.PIPE
            )
            run(["docker", "exec", "-i", engine, "docker", "load"], tmp_path, stdin=saved.stdout)
            assert saved.wait() == 0
            docker("cp", str(tmp_path / "clone"), f"{engine}:/builds")
            cache = f"{on_bridge}/{checkout.slug}/build-cache"
            second = run(
                ["docker", "exec", "--workdir", "/builds", engine, "make", "lint",
                 f"BUILD_CACHE={cache}", "BUILD_ID=second", "VERBOSE=1"],
                tmp_path, check=False, timeout=600,
            )  # fmt: skip
        finally:
            docker("rm", "--force", "--volumes", engine, check=False)

    output = second.stdout + second.stderr
    assert second.returncode == 0, output
    assert f"importing cache manifest from {cache}:dev" in output
    install = next(line for line in output.splitlines() if "RUN pip install" in line)
    assert f"{install.split()[0]} CACHED" in output, output  # e.g. "#10 CACHED"
    assert "Collecting" not in output and "Downloading" not in output  # pip never ran
