#!/usr/bin/env python3
"""Measure the generated project's make workflow on the local Docker engine.

Bakes the default project once per database and times, with warm base images and build cache:
`make clean`, `make test` after it, `make test` twice more in a row, the floor (a fresh server's
start to its first authenticated SELECT 1, plus the tests' own time), `make build` with nothing
changed and after a one-line change, and the image sizes. Prints one table and writes the same
figures to results/bench-latest.json. What each figure means: bench/README.md.
"""

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from xml.etree import ElementTree

from cookiecutter.main import cookiecutter

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results" / "bench-latest.json"
GOAL = 1.3
COMPOSE = {"v2": "docker compose", "v1": "docker-compose"}
SERVICES = ["test", "agent", "db"]
IMAGE_ROLES = ["dev", "agent", "db", "release", "python base", "db base"]
# The default app's views: where the one-line change goes.
SOURCE = Path("src/todo/views.py")
MAKE_TESTS = ["make test after make clean", "make test, again (1st)", "make test, again (2nd)"]
FIGURES = ["make clean", *MAKE_TESTS, "make build, nothing changed"]
FIGURES += ["make build after a one-line change", "make release after a one-line change"]
FIGURES += ["make release, again", "server start to SELECT 1", "tests' own time"]

# Runs in the agent's image beside the floor's database: polls every 20 ms until the app's user
# can run SELECT 1, then prints the times of its first attempt and of its success, and the attempts.
PROBE = """
import os, time, pymysql
env, first, attempts = os.environ, time.time(), 0
while True:
    attempts += 1
    try:
        pymysql.connect(host=env["MYSQL_HOST"], port=int(env["MYSQL_PORT"]), user=env["MYSQL_USER"],
                        password=env["MYSQL_PASSWORD"], database=env["MYSQL_DATABASE"],
                        connect_timeout=1).query("SELECT 1")
        break
    except pymysql.err.OperationalError:
        if time.time() - first > 60:
            raise
        time.sleep(0.02)
print(first, time.time(), attempts)
"""


class BenchError(Exception):
    pass


def run(command, **kwargs):
    done = subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)
    if done.returncode:
        raise BenchError(f"{' '.join(command[:3])} failed (exit {done.returncode}): {done.stderr}")
    return done


def inspect(images, key):
    return [image[key] for image in json.loads(run(["docker", "image", "inspect", *images]).stdout)]


class Project:
    """A baked project, the settings every make of it gets, and the images its builds made."""

    def __init__(self, database, run_dir, build_id, compose):
        out, answers = run_dir / database, {"database": database}
        self.dir = Path(
            cookiecutter(str(ROOT), no_input=True, output_dir=str(out), extra_context=answers)
        )
        self.log = out / "make.log"
        # The images are the project's defaults, or PYTHON_IMAGE and DB_IMAGE from the environment.
        self.settings = {"BUILD_ID": build_id, "COMPOSE": COMPOSE[compose]}
        # make gets the settings on its command line, compose in its environment; both run as if
        # from a shell, even under the template's own `make bench`.
        env = {name: value for name, value in os.environ.items() if not name.startswith("MAKE")}
        self.env = env | self.settings
        self.built = set()
        query = ["make", "-s", "--eval", "images: ; @echo $(PYTHON_IMAGE) $(DB_IMAGE)", "images"]
        self.python_image, self.db_image = run(query, cwd=self.dir, env=self.env).stdout.split()

    def make(self, *args):
        """Run make with this project's settings, output to the log; return its seconds."""
        command = ["make", *args, *(f"{key}={value}" for key, value in self.settings.items())]
        with self.log.open("a") as log:
            print(f"\n$ make {' '.join(args)}", file=log, flush=True)
            start = time.perf_counter()
            done = subprocess.run(
                command, cwd=self.dir, env=self.env, stdout=log, stderr=log, check=False
            )
            seconds = time.perf_counter() - start
        if done.returncode:
            tail = "".join(self.log.read_text().splitlines(keepends=True)[-30:])
            raise BenchError(
                f"make {args[0]} failed (exit {done.returncode}), end of {self.log}:\n{tail}"
            )
        return seconds

    def config(self):
        """The compose model. The first make wrote .env, which gives plain compose commands the
        project name, the file and the credentials (the Makefile's own promise)."""
        shown = run(["docker", "compose", "config", "--format", "json"], cwd=self.dir, env=self.env)
        return json.loads(shown.stdout)

    def tests_seconds(self):
        report = ElementTree.parse(self.dir / "reports" / "unittests.xml")
        return float(next(report.getroot().iter("testsuite")).get("time"))

    def remember(self, images):
        """Note the IDs of this build's images: a rebuild leaves the old ones dangling."""
        self.built.update(inspect(images, "Id"))

    def clean(self, label):
        self.make("clean", label)
        for image in self.built:  # compose v1 puts no project label on what it builds
            subprocess.run(["docker", "image", "rm", image], capture_output=True, check=False)


def history(image):
    lines = run(["docker", "image", "history", "--no-trunc", "--format", "json", image]).stdout
    return [json.loads(line) for line in lines.splitlines()]


def layers_rebuilt(before):
    """The steps that made a layer in the last build, from {image: its history before}: a step
    taken from the cache keeps its creation time, one that ran gets a new one."""
    return [
        new["CreatedBy"]
        for image, steps in before.items()
        for old, new in zip(steps, history(image), strict=True)
        if new["Size"] != "0B" and new["CreatedAt"] != old["CreatedAt"]
    ]


def env(service):
    return [f"--env={key}={value}" for key, value in service.get("environment", {}).items()]


def server_ready_seconds(config, name):
    """One floor sample: from `docker run` of the db service's image, on a network of its own
    and under the service's name, to the first SELECT 1 the agent's image gets as the app's user."""
    db, agent = config["services"]["db"], config["services"]["agent"]
    run(["docker", "network", "create", name])
    try:
        start = time.time()
        docker_run = ["docker", "run", f"--network={name}"]
        run(
            [*docker_run, "--detach", f"--name={name}", "--network-alias=db", *env(db), db["image"]]
        )
        prober = [*docker_run, "--rm", *env(agent), "--entrypoint=python", agent["image"]]
        first, ready, attempts = map(float, run([*prober, "-c", PROBE], timeout=120).stdout.split())
        if attempts < 2:  # the server was ready before the probe's first attempt: no sample
            raise BenchError(f"the floor's probe started too late, {first - start:.2f} s in")
        return ready - start
    finally:
        subprocess.run(["docker", "rm", "--force", name], capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)


def measure(project, config, clean_label, runs):
    """Sample every figure `runs` times, interleaved so that the machine's noise spreads evenly."""
    images = [config["services"][service]["image"] for service in SERVICES]
    # The release image is $(IMAGE):$(BUILD_ID), beside the dev image $(IMAGE)-dev:$(BUILD_ID).
    release = images[0].replace("-dev:", ":")
    samples = {figure: [] for figure in FIGURES}
    rebuilt = []
    for sample in range(1, runs + 1):
        print(f"  {project.db_image}: run {sample} of {runs}", flush=True)
        samples["make clean"].append(project.make("clean", clean_label))
        for figure in MAKE_TESTS:
            samples[figure].append(project.make("test"))
            samples["tests' own time"].append(project.tests_seconds())
        project.remember(images)
        ready = server_ready_seconds(config, f"{config['name']}-floor")
        samples["server start to SELECT 1"].append(ready)
        samples["make build, nothing changed"].append(project.make("build"))
        before = {image: history(image) for image in images}
        with (project.dir / SOURCE).open("a") as source:
            source.write(f"# bench: a one-line change, run {sample}\n")
        samples["make build after a one-line change"].append(project.make("build"))
        rebuilt.append(layers_rebuilt(before))
        samples["make release after a one-line change"].append(project.make("release"))
        samples["make release, again"].append(project.make("release"))
        project.remember([*images, release])
    medians = {figure: round(statistics.median(values), 2) for figure, values in samples.items()}
    floor = medians["server start to SELECT 1"] + medians["tests' own time"]
    images += [release, project.python_image, project.db_image]
    return {
        "median_seconds": medians,
        "floor_seconds": round(floor, 2),
        "ratio_to_floor": {figure: round(medians[figure] / floor, 2) for figure in MAKE_TESTS},
        # What the workflow adds, in seconds: unlike the ratio, it does not shrink as tests slow.
        "overhead_seconds": {figure: round(medians[figure] - floor, 2) for figure in MAKE_TESTS},
        "dependencies_reinstalled": any(
            "pip install" in layer for change in rebuilt for layer in change
        ),
        "layers_rebuilt_by_each_change": rebuilt,
        "images": dict(zip(IMAGE_ROLES, images, strict=True)),
        "image_mb": dict(
            zip(IMAGE_ROLES, [round(b / 1e6) for b in inspect(images, "Size")], strict=True)
        ),
        "samples_seconds": {
            figure: [round(s, 3) for s in values] for figure, values in samples.items()
        },
    }


def bench_database(database, run_dir, build_id, compose, runs):
    project = Project(database, run_dir, f"{build_id}-{database}", compose)
    project.make("build")  # writes .env, which compose config reads
    config = project.config()
    # make clean prunes the dangling images of every checkout of the project; the bench, which
    # shares the engine with others, narrows that to its own compose project.
    clean_label = f"LABEL=com.docker.compose.project={config['name']}"
    try:
        print(f"  {project.db_image}: warming up (make test, untimed)", flush=True)
        project.make("test")
        project.remember(config["services"][service]["image"] for service in SERVICES)
        return measure(project, config, clean_label, runs)
    finally:
        project.clean(clean_label)
        shutil.rmtree(project.dir)  # the log stays beside it


def machine(compose):
    version = run([*COMPOSE[compose].split(), "version", "--short"]).stdout.strip()
    return {
        "engine": run(["docker", "version", "--format", "{{.Server.Version}}"]).stdout.strip(),
        "compose": f"{COMPOSE[compose]} {version}",
        "cpus": os.cpu_count(),
        "kernel": platform.release(),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
        "containers_running_at_start": len(run(["docker", "ps", "--quiet"]).stdout.split()),
    }


def table(results, settings):
    names = [*FIGURES, "floor: the two above", *(f"{figure} / floor" for figure in MAKE_TESTS)]
    names += [f"{figure} - floor" for figure in MAKE_TESTS]
    names += ["dependencies reinstalled", *(f"image size, {role} (MB)" for role in IMAGE_ROLES)]
    columns = []
    for result in results.values():
        seconds = [*map(result["median_seconds"].get, FIGURES), result["floor_seconds"]]
        ratios = [
            f"{r:.2f} {'ok' if r <= GOAL else 'over'}" for r in result["ratio_to_floor"].values()
        ]
        reinstalled = "yes" if result["dependencies_reinstalled"] else "no"
        overheads = [f"{s:.2f}" for s in result["overhead_seconds"].values()]
        columns.append(
            [*(f"{s:.2f}" for s in seconds), *ratios, *overheads, reinstalled]
            + list(result["image_mb"].values())
        )
    machine = settings["machine"]
    lines = [
        f"Medians of {settings['runs']} runs (s): {machine['compose']}, engine {machine['engine']}"
    ]
    lines += [
        f"  {db}: {result['images']['db base']}, {result['images']['python base']}"
        for db, result in results.items()
    ]
    lines.append(f"{'':38}" + "".join(f"{db:>14}" for db in results))
    for name, *values in zip(names, *columns, strict=True):
        lines.append(f"{name:38}" + "".join(f"{value:>14}" for value in values))
    return "\n".join([*lines, f"Goal: make test / floor <= {GOAL}."])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="samples of each figure (default 3)")
    parser.add_argument("--database", choices=["mysql", "mariadb", "both"], default="both")
    parser.add_argument("--compose", choices=list(COMPOSE), default="v2", help="make's Compose")
    args = parser.parse_args(argv)
    # SIGTERM unwinds like Ctrl-C, through every clean-up.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    build_id = f"bench{uuid.uuid4().hex[:8]}"
    run_dir = ROOT / "build" / "bench" / build_id
    settings = {"runs": args.runs, "compose": args.compose, "build_id": build_id}
    settings["machine"] = machine(args.compose)
    results = {}
    try:
        for database in ["mysql", "mariadb"] if args.database == "both" else [args.database]:
            results[database] = bench_database(database, run_dir, build_id, args.compose, args.runs)
    except BenchError as error:
        sys.exit(f"bench: {error}")
    settings["machine"]["load_average_at_end"] = [round(load, 2) for load in os.getloadavg()]
    print("\n" + table(results, settings))
    RESULTS.write_text(json.dumps({"settings": settings, **results}, indent=2) + "\n")
    print(f"Written to {RESULTS.relative_to(ROOT)}; the output of every make in {run_dir}.")


if __name__ == "__main__":
    main()
