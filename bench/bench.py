#!/usr/bin/env python3
"""Measure the generated project's Make workflow on this machine.

Bakes the default project into build/bench/ and times, on the real Docker engine:

1. cold `make test` (project images removed, BUILD_FLAGS=--no-cache), split into phases;
2. warm `make test` after `make clean`, same phases, median of --runs;
3. the floor: a bare database container's first authenticated SELECT 1, plus the tests' own
   time from the warm runs' JUnit reports;
4. `make build` after a one-line change to the app's views.py, and whether pip ran again;
5. the agent's overhead: from the database answering to the agent container exiting;
6. the sizes of the images.

Prints a table and writes the same figures to results/bench-<UTC timestamp>.json and
results/bench-latest.json. Everything it starts is removed on exit, Ctrl-C included.

    .venv/bin/python bench/bench.py [--runs N] [--quick] [--compose "docker compose"]
                                    [--python-image IMAGE] [--db-image IMAGE]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

import pymysql
import yaml
from cookiecutter.main import cookiecutter
from slow_db import late_db_image, remove_image

REPO = Path(__file__).resolve().parents[1]
WORK_DIR = REPO / "build" / "bench"
RESULTS_DIR = REPO / "results"
OFFLINE_PYTHON_IMAGE = "offline/python:3.11-bookworm"
OFFLINE_DB_IMAGE = "offline/mariadb:10.11-bookworm"
COMPOSE_FILE = "docker/dev/docker-compose.yml"
# Containers the benchmark starts itself (not through compose) carry this label.
BENCH_LABEL = "todobackend-template.bench"
# How often the host polls a database for its first SELECT 1.
POLL_INTERVAL = 0.02
DB_DEADLINE = 180.0

GOAL_WARM_OVER_FLOOR, AIM_WARM_OVER_FLOOR = 1.5, 1.25
GOAL_REBUILD_S = 10.0
GOAL_AGENT_OVERHEAD_S = 1.0

# make test starts the database and builds the images at once (a parallel sub-make whose output
# is printed per target when it ends). Then the agent probes the database while the test container
# starts and loads pytest and Django; the session starts on the agent's verdict. The build phase is
# everything until "=> Running tests", the agent phase lasts until the test session starts.
MAKE_PHASES = {
    "agent": r"^=> Running tests",
    "test": r"test session starts",
}
# Milestones along the critical path of a make test, in order, each with what happens in the
# segment that ends there. A milestone is a line of make's output (a regex) or a container event
# from the engine (action, compose service). One that a run lacks merges its segment into the next.
MILESTONES = [
    # make's own lines for the database's start and the build come out only when each ends.
    ("db started", ("start", "db"), "make, check-docker, compose up -d db (build alongside)"),
    ("=> Running tests", r"^=> Running tests", "compose build, every layer cached, ends"),
    (
        "agent started",
        ("start", "agent"),
        "compose run agent: container create/start (the test container starts alongside)",
    ),
    ("probe task", r"^TASK \[Wait for an authenticated", "ansible-playbook start-up"),
    ("probe ok", r"^ok: \[localhost\]$", "probe: waits for the database"),
    ("play recap", r"^PLAY RECAP", "debug task + recap"),
    ("agent exited", ("die", "agent"), "ansible exit"),
    ("pytest start", r"test session starts", "compose run exits; 'ready' to the loaded tests"),
    ("pytest done", r"^=+ .*\bin [\d.]+s\b", "pytest session (tests + coverage report)"),
    ("test exited", ("die", "test"), "test process exit"),
    ("=> Reports", r"^=> Reports in", "docker cp reports"),
]
PROBE_WAIT = re.compile(r"answered SELECT 1 .* after ([\d.]+) s")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


class BenchError(Exception):
    """A measurement could not be taken; the message says which and where its log is."""


# --- running commands -------------------------------------------------------------------------


@dataclass
class Stream:
    """One command's merged stdout+stderr, each line with the monotonic time it arrived."""

    command: list[str]
    start: float
    end: float = 0.0
    returncode: int | None = None
    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def duration(self):
        return self.end - self.start

    @property
    def text(self):
        return "\n".join(line for _, line in self.lines)

    def first(self, pattern, after=None):
        """Time of the first line matching pattern (at or after `after`), else None."""
        regex = re.compile(pattern)
        for when, line in self.lines:
            if (after is None or when >= after) and regex.search(line):
                return when
        return None


class Janitor:
    """Whatever the benchmark started, so that any exit (error, Ctrl-C, SIGTERM) removes it."""

    def __init__(self):
        self.processes = set()
        self.containers = set()
        self.images = []

    def stop_processes(self):
        # SIGINT first: compose run stops its container on it, as it would on a user's Ctrl-C.
        for process in list(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in list(self.processes):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def remove_containers(self):
        for name in list(self.containers):
            quiet(["docker", "rm", "--force", "--volumes", name])
        self.containers.clear()

    def remove_images(self):
        for tag in self.images:
            remove_image(tag)
        self.images.clear()


def clean_line(raw):
    text = ANSI.sub("", raw.decode("utf-8", errors="replace")).rstrip("\r\n")
    # A progress display rewrites its line with \r: keep what was shown last.
    return text.rsplit("\r", 1)[-1]


def run_streamed(command, *, cwd, env, log_path, janitor, timeout=900):
    """Run command, reading its merged output line by line as it arrives, and log it."""
    stream = Stream(command=list(command), start=time.monotonic())
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    janitor.processes.add(process)
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        for raw in iter(process.stdout.readline, b""):
            stream.lines.append((time.monotonic(), clean_line(raw)))
        stream.returncode = process.wait()
        stream.end = time.monotonic()
        janitor.processes.discard(process)
    finally:
        watchdog.cancel()
        write_log(stream, log_path)
    return stream


def write_log(stream, log_path):
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as out:
        out.write(f"$ {shlex.join(stream.command)}\n")
        for when, line in stream.lines:
            out.write(f"{when - stream.start:8.3f}  {line}\n")
        out.write(f"-> exit {stream.returncode} after {stream.end - stream.start:.3f} s\n")


def output(command, **kwargs):
    """stdout of a quick command that must succeed."""
    return subprocess.run(command, capture_output=True, text=True, check=True, **kwargs).stdout


def quiet(command, **kwargs):
    """Run a best-effort command (cleanup): its failure is not the benchmark's."""
    completed = subprocess.run(command, check=False, capture_output=True, text=True, **kwargs)
    return completed.returncode == 0


# --- the baked project ------------------------------------------------------------------------


@dataclass
class Settings:
    runs: int
    compose: str
    python_image: str
    db_image: str
    db_start_delay: float = 0


class Project:
    """The baked project, and the make/compose invocations against it."""

    def __init__(self, settings, janitor):
        self.settings = settings
        self.janitor = janitor
        self.path = None
        self.logs = WORK_DIR / "logs"
        self.build_id = f"bench{os.getpid()}"

    def bake(self):
        # Fresh each run: a previous bench's edits to views.py must not leak in.
        shutil.rmtree(WORK_DIR, ignore_errors=True)
        WORK_DIR.mkdir(parents=True)
        self.path = Path(cookiecutter(str(REPO), no_input=True, output_dir=str(WORK_DIR)))

    @property
    def slug(self):
        return self.path.name

    @property
    def image(self):
        # Images of their own: other engineers' runs of the template's tests use <slug>-dev.
        return f"{self.slug}-bench"

    @property
    def compose_project(self):
        return f"{self.slug}-dev-{self.build_id}"

    @property
    def env(self):
        overrides = {
            "COMPOSE": self.settings.compose,
            "BUILD_ID": self.build_id,
            "PYTHON_IMAGE": self.settings.python_image,
            "DB_IMAGE": self.settings.db_image,
            "IMAGE": self.image,
            "IMAGE_TAG": "latest",
            "REPORTS_DIR": "reports",
            "BUILD_FLAGS": "",
        }
        return {**os.environ, **overrides}

    def make(self, target, log_name, timeout=900, **extra_env):
        stream = run_streamed(
            ["make", target], cwd=self.path, env={**self.env, **extra_env},
            log_path=self.logs / f"{log_name}.log", janitor=self.janitor, timeout=timeout,
        )  # fmt: skip
        if stream.returncode != 0:
            tail = "\n".join(line for _, line in stream.lines[-25:])
            raise BenchError(
                f"make {target} failed (exit {stream.returncode}), log {self.logs / log_name}.log"
                f":\n{tail}"
            )
        return stream

    def compose(self, *arguments, override=None):
        files = ["-f", COMPOSE_FILE] + (["-f", str(override)] if override else [])
        return [*shlex.split(self.settings.compose), "-p", self.compose_project, *files, *arguments]

    def clean(self):
        """make clean, immune to a further Ctrl-C: it is what leaves the engine as it was."""
        subprocess.run(
            ["make", "clean"], cwd=self.path, env=self.env, capture_output=True, check=False,
            start_new_session=True, timeout=300,
        )  # fmt: skip

    def image_names(self):
        return [f"{self.image}-dev:latest", f"{self.image}-agent:latest"]

    def remove_images(self):
        for image in self.image_names():
            quiet(["docker", "image", "rm", "--force", image])


# --- the database as the compose file defines it ----------------------------------------------

VARIABLE = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?-)(?P<default>[^}]*))?\}|\$(?P<bare>\w+)")


def substitute(text, env):
    """Compose's interpolation: ${VAR}, ${VAR:-default}, ${VAR-default}, $VAR and $$."""

    def replace(match):
        if match.group(0) == "$$":
            return "$"
        value = env.get(match.group("name") or match.group("bare"))
        if match.group("op") == ":-" and not value:
            return match.group("default")
        if match.group("op") == "-" and value is None:
            return match.group("default")
        return value or ""

    return VARIABLE.sub(replace, str(text))


def as_list(value):
    if value is None:
        return []
    return shlex.split(value) if isinstance(value, str) else list(value)


@dataclass
class Database:
    image: str
    environment: dict
    tmpfs: list
    command: list

    @classmethod
    def from_compose(cls, project):
        """The db service of the baked compose file, interpolated with the benchmark's env."""
        compose = yaml.safe_load((project.path / COMPOSE_FILE).read_text())  # resolves <<: merges
        service = compose["services"]["db"]
        env = project.env
        environment = service.get("environment") or {}
        if isinstance(environment, list):
            environment = dict(item.split("=", 1) for item in environment)
        return cls(
            image=substitute(service["image"], env),
            environment={key: substitute(value, env) for key, value in environment.items()},
            tmpfs=[substitute(path, env) for path in as_list(service.get("tmpfs"))],
            command=[substitute(argument, env) for argument in as_list(service.get("command"))],
        )

    def credentials(self):
        env = self.environment
        return {
            "user": env.get("MYSQL_USER") or env.get("MARIADB_USER"),
            "password": env.get("MYSQL_PASSWORD") or env.get("MARIADB_PASSWORD"),
            "database": env.get("MYSQL_DATABASE") or env.get("MARIADB_DATABASE"),
        }

    def run_command(self, name, redact=False):
        """docker run of this database, its port published on loopback only.

        redact: mask the passwords, for a command that goes into the (committed) results.
        """
        command = ["docker", "run", "--detach", "--name", name, "--label", BENCH_LABEL]
        command += ["--publish", "127.0.0.1::3306"]
        for key, value in self.environment.items():
            shown = "***" if redact and "PASSWORD" in key else value
            command += ["--env", f"{key}={shown}"]
        for path in self.tmpfs:
            command += ["--tmpfs", path]
        return [*command, self.image, *self.command]


def published_port(container, deadline):
    """Host port of the container's 3306, published on 127.0.0.1 (never the container's IP)."""
    while True:
        listed = subprocess.run(
            ["docker", "port", container, "3306/tcp"], capture_output=True, text=True, check=False
        )
        for line in listed.stdout.split():
            host, _, port = line.rpartition(":")
            if host == "127.0.0.1" and port.isdigit():
                return int(port)
        if time.monotonic() > deadline:
            raise BenchError(f"{container}: no port published on 127.0.0.1 ({listed.stderr})")
        time.sleep(POLL_INTERVAL)


def wait_for_select1(port, credentials, deadline):
    """Monotonic time of the first authenticated SELECT 1 on 127.0.0.1:port."""
    last_error = None
    while time.monotonic() < deadline:
        try:
            connection = pymysql.connect(
                host="127.0.0.1", port=port, connect_timeout=2, read_timeout=2, **credentials
            )
            try:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT 1")
                    if cursor.fetchone() == (1,):
                        return time.monotonic()
            finally:
                connection.close()
        except (pymysql.MySQLError, OSError) as error:
            last_error = error
        time.sleep(POLL_INTERVAL)
    raise BenchError(f"127.0.0.1:{port} never answered SELECT 1 (last error: {last_error})")


# --- the engine's own clock: container start and die times ------------------------------------


class EngineEvents:
    """`docker events` of one compose project, each with its time on our monotonic clock."""

    def __init__(self, compose_project, janitor):
        self.janitor = janitor
        self.events = []  # (monotonic time, action, compose service, container id)
        self.changed = threading.Condition()
        self.offset = time.time() - time.monotonic()
        # --since now: events that happen before the client is connected are replayed.
        self.process = subprocess.Popen(
            ["docker", "events", "--since", f"{time.time():.6f}", "--format", "{{json .}}",
             "--filter", "type=container",
             "--filter", f"label=com.docker.compose.project={compose_project}"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        janitor.processes.add(self.process)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for raw in self.process.stdout:
            event = json.loads(raw)
            when = event["timeNano"] / 1e9 - self.offset
            service = event["Actor"]["Attributes"].get("com.docker.compose.service")
            with self.changed:
                self.events.append((when, event["Action"], service, event["id"]))
                self.changed.notify_all()

    def first(self, action, service):
        with self.changed:
            return next((e for e in self.events if e[1:3] == (action, service)), None)

    def wait_for(self, action, service, deadline):
        with self.changed:
            self.changed.wait_for(
                lambda: self.first(action, service), timeout=max(0, deadline - time.monotonic())
            )
        return self.first(action, service)

    def stop(self):
        self.process.terminate()
        self.process.wait()
        self.janitor.processes.discard(self.process)


# --- the measurements -------------------------------------------------------------------------


def summary(values):
    values = [value for value in values if value is not None]
    return {
        "median": round(statistics.median(values), 3) if values else None,
        "samples": [round(value, 3) for value in values],
    }


def make_test_phases(stream):
    """build / agent / test from the times at which make's `=> ` lines appeared."""
    marks = {phase: stream.first(pattern) for phase, pattern in MAKE_PHASES.items()}
    if None in marks.values():
        raise BenchError(f"make test printed no '=> ' line for some phase: {marks}")
    return {
        "total": stream.duration,
        # make's start, check-docker, and the build with the database starting alongside.
        "build": marks["agent"] - stream.start,
        "agent": marks["test"] - marks["agent"],
        "test": stream.end - marks["test"],
    }


def timeline(stream, events):
    """Segments between the milestones of a make test, keyed 'from -> to'."""
    segments, previous, when, line_time, skipped = {}, "start", stream.start, stream.start, []
    for label, source, what in MILESTONES:
        if isinstance(source, str):
            found = stream.first(source, after=line_time)
            line_time = found or line_time
        else:
            event = events.first(*source)
            found = event[0] if event else None
        if found is None:
            skipped.append(what)
            continue
        segments[f"{previous} -> {label}"] = (found - when, " + ".join([*skipped, what]))
        previous, when, skipped = label, found, []
    segments[f"{previous} -> exit"] = (stream.end - when, " + ".join([*skipped, "make exit"]))
    return segments


def db_start_to_healthy(events):
    """Seconds from the db container's start to its first healthy healthcheck."""
    started, healthy = events.first("start", "db"), events.first("health_status: healthy", "db")
    return healthy[0] - started[0] if started and healthy else None


def tests_loaded_alongside(events):
    """Seconds from the agent container's start to the test container's: about 0 when they overlap."""
    agent, tests = events.first("start", "agent"), events.first("start", "test")
    return tests[0] - agent[0] if agent and tests else None


def junit_time(report):
    """The tests' own time: the <testsuite time=...> attributes of the JUnit report."""
    root = ElementTree.parse(report).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    return sum(float(suite.get("time", 0)) for suite in suites)


def probe_wait(stream):
    match = PROBE_WAIT.search(stream.text)
    return float(match.group(1)) if match else None


def make_test(project, log_name, **extra_env):
    """make test, with the engine's container events of its compose project alongside."""
    events = EngineEvents(project.compose_project, project.janitor)
    try:
        stream = project.make("test", log_name, timeout=1800, **extra_env)
        events.wait_for("die", "test", time.monotonic() + 5)  # the event may trail the output
    finally:
        events.stop()
    return stream, events


def measure_cold(project):
    project.make("clean", "cold-clean")
    project.remove_images()
    stream, events = make_test(project, "cold-make-test", BUILD_FLAGS="--no-cache")
    phases = {key: round(value, 3) for key, value in make_test_phases(stream).items()}
    timings = timeline(stream, events).items()
    phases["timeline"] = [
        {"segment": key, "what": what, "seconds": round(value, 3)} for key, (value, what) in timings
    ]
    return phases


def measure_warm(project, runs):
    samples, segments = [], {}
    for index in range(1, runs + 1):
        project.make("clean", f"warm-{index}-clean")
        stream, events = make_test(project, f"warm-{index}-make-test")
        sample = make_test_phases(stream)
        sample["junit_s"] = junit_time(project.path / "reports" / "unittests.xml")
        sample["probe_wait_s"] = probe_wait(stream)
        sample["db_start_to_healthy_s"] = db_start_to_healthy(events)
        sample["test_start_after_agent_start_s"] = tests_loaded_alongside(events)
        samples.append(sample)
        for key, (seconds, what) in timeline(stream, events).items():
            segments.setdefault(key, {"what": what, "samples": []})["samples"].append(seconds)
    result = {key: summary(sample[key] for sample in samples) for key in samples[0]}
    result["timeline"] = [
        {"segment": key, "what": value["what"], **summary(value["samples"])}
        for key, value in segments.items()
    ]
    return result


def measure_floor_once(database, name):
    """Seconds from `docker run -d` to the first authenticated SELECT 1 as the app user."""
    deadline = time.monotonic() + DB_DEADLINE
    start = time.monotonic()
    subprocess.run(database.run_command(name), capture_output=True, text=True, check=True)
    port = published_port(name, deadline)
    ready = wait_for_select1(port, database.credentials(), deadline)
    return ready - start


def measure_floor(project, runs, junit_s):
    # The last warm run's db is still up, its healthcheck running every second: stop it first.
    project.make("clean", "floor-clean")
    database = Database.from_compose(project)
    samples = []
    for index in range(1, runs + 1):
        name = f"{project.compose_project}-floor-{index}"
        project.janitor.containers.add(name)
        try:
            samples.append(measure_floor_once(database, name))
        finally:
            quiet(["docker", "rm", "--force", "--volumes", name])
            project.janitor.containers.discard(name)
    db_ready = summary(samples)
    return {
        "db_ready_s": db_ready,
        "junit_s": junit_s,
        "total_s": round(db_ready["median"] + junit_s["median"], 3),
        "docker_run": shlex.join(database.run_command("<name>", redact=True)),
    }


def dependencies_cached(build_output):
    """True when every pip install step of the build came from the cache and pip never ran."""
    if re.search(r"\bCollecting \S|Successfully installed", build_output):
        return False
    buildkit_steps = re.findall(
        r"^#(\d+) \[[^\]]+\] RUN .*\bpip install", build_output, re.MULTILINE
    )
    if buildkit_steps:
        return all(
            re.search(rf"^#{step} CACHED$", build_output, re.MULTILINE) for step in buildkit_steps
        )
    legacy_steps = re.findall(
        r"^Step \d+/\d+ : RUN .*\bpip install.*\n(.*)", build_output, re.MULTILINE
    )
    return bool(legacy_steps) and all("Using cache" in line for line in legacy_steps)


def measure_rebuild(project, runs):
    views = next(project.path.glob("src/*/views.py"))
    samples, cached = [], []
    for index in range(1, runs + 1):
        with views.open("a") as source:
            source.write(f"# bench: one-line change {index}\n")
        stream = project.make("build", f"rebuild-{index}")
        samples.append(stream.duration)
        cached.append(dependencies_cached(stream.text))
    return {**summary(samples), "dependencies_cached": all(cached), "cached_per_run": cached}


PORT_OVERRIDE = """\
# Written by bench/bench.py for the agent-overhead measurement only: the db's port on loopback,
# so that the host can see when it first answers. make test never uses this file.
services:
  db:
    ports:
      - "127.0.0.1::3306"
"""


def poll_db_in_background(events, credentials, deadline):
    """Thread: once compose has started the db, time its first SELECT 1 from the host."""
    result = {}

    def work():
        try:
            started = events.wait_for("start", "db", deadline)
            if started is None:
                raise BenchError("compose never started the db container")
            port = published_port(started[3], deadline)
            result["ready"] = wait_for_select1(port, credentials, deadline)
        except Exception as error:  # noqa: BLE001 - reported by the caller
            result["error"] = error

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread, result


def measure_agent_once(project, credentials, override, index):
    project.make("clean", f"agent-{index}-clean")  # a fresh database, as in make test
    events = EngineEvents(project.compose_project, project.janitor)
    try:
        poller, polled = poll_db_in_background(events, credentials, time.monotonic() + DB_DEADLINE)
        stream = run_streamed(
            project.compose("run", "--rm", "agent", override=override), cwd=project.path,
            env=project.env, log_path=project.logs / f"agent-{index}-run.log",
            janitor=project.janitor,
        )  # fmt: skip
        poller.join(timeout=DB_DEADLINE)
        died = events.wait_for("die", "agent", time.monotonic() + 10)
    finally:
        events.stop()
    if stream.returncode != 0 or "ready" not in polled or died is None:
        raise BenchError(
            f"agent run {index}: exit {stream.returncode}, poller {polled.get('error')}, "
            f"die event {died}; log {project.logs}/agent-{index}-run.log"
        )
    return agent_sample(stream, events, polled["ready"], died[0])


def agent_sample(stream, events, ready, died):
    """The agent run's figures, from its output lines, the engine's events and the poller."""
    db_started = events.first("start", "db")[0]
    agent_started = events.first("start", "agent")
    probe_task = stream.first(r"^TASK \[Wait for an authenticated")
    probe_ok = stream.first(r"^ok: \[localhost\]$", after=probe_task)
    waited = probe_wait(stream)
    # The probe reports its wait to 0.1 s: its first attempt is probe_ok - waited, +-0.05 s.
    first_probe = probe_ok - waited if probe_ok is not None and waited is not None else None
    return {
        "overhead_s": died - ready,
        "overhead_to_run_exit_s": stream.end - ready,
        "startup_s": first_probe - stream.start if first_probe is not None else None,
        "run_to_db_start_s": db_started - stream.start,
        "db_start_to_ready_s": ready - db_started,
        "run_to_agent_start_s": agent_started[0] - stream.start if agent_started else None,
        "agent_start_to_probe_task_s": (
            probe_task - agent_started[0] if agent_started and probe_task else None
        ),
        "probe_wait_s": waited,
        "db_ready_to_probe_ok_s": probe_ok - ready if probe_ok is not None else None,
        "agent_die_to_run_exit_s": stream.end - died,
        "run_total_s": stream.duration,
    }


def measure_agent(project, runs):
    override = WORK_DIR / "agent-port.override.yml"
    override.write_text(PORT_OVERRIDE)
    credentials = Database.from_compose(project).credentials()
    samples = [measure_agent_once(project, credentials, override, i) for i in range(1, runs + 1)]
    project.make("clean", "agent-clean")
    return {key: summary(sample[key] for sample in samples) for key in samples[0]}


def image_sizes(project):
    images = [*project.image_names(), project.settings.db_image]
    return {
        image: int(output(["docker", "image", "inspect", "-f", "{{.Size}}", image]))
        for image in images
    }


# --- the machine ------------------------------------------------------------------------------


def first_line(command):
    try:
        return output(command, timeout=30).strip().splitlines()[0]
    except (OSError, subprocess.CalledProcessError, subprocess.TimeoutExpired, IndexError):
        return None


def memory_gib():
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20, 1)
    return None


def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or None


def machine(settings):
    def image_id(image):
        return first_line(["docker", "image", "inspect", "-f", "{{.Id}}", image])

    running = output(["docker", "ps", "--quiet"]).split()
    return {
        "cores": len(os.sched_getaffinity(0)),
        "cpu": cpu_model(),
        "memory_gib": memory_gib(),
        "kernel": platform.release(),
        "engine": first_line(["docker", "version", "-f", "{{.Server.Version}}"]),
        "storage_driver": first_line(["docker", "info", "-f", "{{.Driver}}"]),
        "compose": settings.compose,
        "compose_version": first_line([*shlex.split(settings.compose), "version", "--short"]),
        "buildx": first_line(["docker", "buildx", "version"]),
        "python_image": settings.python_image,
        "python_image_id": image_id(settings.python_image),
        "db_image": settings.db_image,
        "db_image_id": image_id(settings.db_image),
        # Noise indicators: the engine and the CPUs may be shared with other work.
        "other_containers_running_at_start": len(running),
        "load_average_at_start": [round(load, 2) for load in os.getloadavg()],
    }


def ensure_base_images(settings):
    """Build the offline images when they are the defaults and missing; others must exist."""
    missing = [
        image
        for image in (settings.python_image, settings.db_image)
        if not quiet(["docker", "image", "inspect", image])
    ]
    offline = {OFFLINE_PYTHON_IMAGE, OFFLINE_DB_IMAGE}
    if missing and set(missing) <= offline:
        print("=> Building the offline base images (offline-images/build.sh)", flush=True)
        subprocess.run(["bash", str(REPO / "offline-images/build.sh")], check=True)
    elif missing:
        raise BenchError(f"image(s) not on the engine: {', '.join(missing)}")


# --- the report -------------------------------------------------------------------------------


def verdicts(results):
    warm = results["warm"]["total"]["median"]
    floor = results["floor"]["total_s"]
    return [
        {
            "name": "warm make test / floor",
            "value": round(warm / floor, 2),
            "goal": f"<= {GOAL_WARM_OVER_FLOOR} (aim {AIM_WARM_OVER_FLOOR})",
            "pass": warm / floor <= GOAL_WARM_OVER_FLOOR,
        },
        {
            "name": "make build after a one-line change (s)",
            "value": results["rebuild"]["median"],
            "goal": f"<= {GOAL_REBUILD_S:g} s, no dependency reinstalled",
            "pass": results["rebuild"]["median"] <= GOAL_REBUILD_S
            and results["rebuild"]["dependencies_cached"],
        },
        {
            "name": "agent overhead, median (s)",
            "value": results["agent"]["overhead_s"]["median"],
            "goal": f"<= {GOAL_AGENT_OVERHEAD_S:g} s",
            "pass": results["agent"]["overhead_s"]["median"] <= GOAL_AGENT_OVERHEAD_S,
        },
    ]


def seconds(value):
    return "-" if value is None else f"{value:.2f}"


def samples_text(entry):
    return " ".join(seconds(value) for value in entry["samples"])


def print_report(results):
    m, runs = results["machine"], results["settings"]["runs"]
    print(f"\nMachine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, "
          f"Docker Engine {m['engine']} ({m['storage_driver']}), {m['buildx']}")  # fmt: skip
    print(f"Compose: {m['compose']} {m['compose_version']}; Python image {m['python_image']}; "
          f"DB image {m['db_image']}; runs: {runs}")  # fmt: skip
    print(f"Noise: {m['other_containers_running_at_start']} other containers running at start, "
          f"{m['other_containers_running_at_end']} at end; "
          f"load at start {m['load_average_at_start']}")  # fmt: skip
    print_phase_table(results)
    print_other_figures(results)
    print_timeline(results)
    print("\nGoals")
    for verdict in results["goals"]:
        mark = "PASS" if verdict["pass"] else "FAIL"
        print(f"  {mark}  {verdict['name']:<40} {verdict['value']:>6.2f}   goal {verdict['goal']}")
    print(f"\nBenchmark took {results['duration_s']:.0f} s; logs in {WORK_DIR / 'logs'}")


def print_phase_table(results):
    cold, warm, floor = results["cold"], results["warm"], results["floor"]
    floor_of = {"build": 0.0, "agent": floor["db_ready_s"]["median"],
                "test": floor["junit_s"]["median"], "total": floor["total_s"]}  # fmt: skip
    print(f"\n{'seconds':<8}{'cold':>9}{'warm':>9}{'floor':>9}{'warm-floor':>12}  warm samples")
    for phase in ("build", "agent", "test", "total"):
        median = warm[phase]["median"]
        print(f"{phase:<8}{seconds(cold[phase]):>9}{seconds(median):>9}"
              f"{seconds(floor_of[phase]):>9}{median - floor_of[phase]:>+12.2f}  "
              f"{samples_text(warm[phase])}")  # fmt: skip
    print("floor: agent = docker run -d -> first SELECT 1 as the app user; "
          "test = tests' own time (JUnit)")  # fmt: skip


def print_other_figures(results):
    agent, rebuild, floor = results["agent"], results["rebuild"], results["floor"]
    rows = [
        ("db ready, bare docker run (floor)", floor["db_ready_s"]),
        ("tests' own time (JUnit, warm runs)", floor["junit_s"]),
        ("make build after one-line change", rebuild),
        ("agent overhead: db answers -> agent exits", agent["overhead_s"]),
        ("  ... -> compose run returns", agent["overhead_to_run_exit_s"]),
        ("agent start-up: run -> first probe (+-0.05)", agent["startup_s"]),
        ("  run -> agent container started", agent["run_to_agent_start_s"]),
        ("  agent started -> probe task (ansible)", agent["agent_start_to_probe_task_s"]),
        ("db in compose: run -> db started", agent["run_to_db_start_s"]),
        ("db in compose: db started -> answers", agent["db_start_to_ready_s"]),
        ("db answers -> probe ok line", agent["db_ready_to_probe_ok_s"]),
        ("probe's own wait (agent runs)", agent["probe_wait_s"]),
        ("probe's own wait (warm make test)", results["warm"]["probe_wait_s"]),
        ("warm: db started -> healthy", results["warm"]["db_start_to_healthy_s"]),
        (
            "warm: test container start - agent start",
            results["warm"]["test_start_after_agent_start_s"],
        ),
    ]
    print(f"\n{'other figures (s)':<46}{'median':>8}  samples")
    for label, entry in rows:
        print(f"{label:<46}{seconds(entry['median']):>8}  {samples_text(entry)}")
    print(f"dependencies reinstalled by the rebuild: {not rebuild['dependencies_cached']}")
    sizes = ", ".join(f"{image} {size / 1e6:.0f} MB" for image, size in results["images"].items())
    print(f"image sizes: {sizes}")


def print_timeline(results):
    print(f"\nwarm make test, where the time goes (median of {results['settings']['runs']})")
    for segment in results["warm"]["timeline"]:
        print(f"  {seconds(segment['median']):>6}  {segment['segment']:<34} {segment['what']}")


def write_results(results):
    RESULTS_DIR.mkdir(exist_ok=True)
    text = json.dumps(results, indent=2) + "\n"
    path = RESULTS_DIR / f"bench-{results['timestamp']}.json"
    path.write_text(text)
    (RESULTS_DIR / "bench-latest.json").write_text(text)
    return path


# --- main -------------------------------------------------------------------------------------


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="samples per measurement (5)")
    parser.add_argument("--quick", action="store_true", help="one sample each, a smoke test")
    parser.add_argument("--compose", default="docker compose",
                        help='"docker compose" (default) or docker-compose')  # fmt: skip
    parser.add_argument("--python-image", default=OFFLINE_PYTHON_IMAGE)
    parser.add_argument("--db-image", default=OFFLINE_DB_IMAGE)
    parser.add_argument(
        "--db-start-delay", type=float, default=0, metavar="SECONDS",
        help="start the database SECONDS late (a wrapper image), like a slowly initialising one",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    runs = 1 if args.quick else args.runs
    return Settings(runs, args.compose, args.python_image, args.db_image, args.db_start_delay)


def measure_all(project, settings):
    results = {"settings": vars(settings).copy()}
    results["machine"] = machine(settings)
    steps = [
        ("cold", "cold make test (--no-cache)", lambda: measure_cold(project)),
        ("warm", "warm make test", lambda: measure_warm(project, settings.runs)),
        ("floor", "the floor", lambda: measure_floor(project, settings.runs,
                                                     results["warm"]["junit_s"])),
        ("rebuild", "make build after a one-line change",
         lambda: measure_rebuild(project, settings.runs)),
        ("agent", "the agent's overhead", lambda: measure_agent(project, settings.runs)),
        ("images", "image sizes", lambda: image_sizes(project)),
    ]  # fmt: skip
    for key, title, measure in steps:
        print(f"=> Measuring {title}", flush=True)
        results[key] = measure()
    results["goals"] = verdicts(results)
    # Our own project is down by now (the agent step ends with make clean): these are others'.
    results["machine"]["other_containers_running_at_end"] = len(
        output(["docker", "ps", "--quiet"]).split()
    )
    return results


def interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv=None):
    settings = parse_args(argv)
    signal.signal(signal.SIGTERM, interrupt)
    started = time.monotonic()
    timestamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    janitor = Janitor()
    project = Project(settings, janitor)
    status = 0
    try:
        ensure_base_images(settings)
        if settings.db_start_delay:
            late = late_db_image(settings.db_image, settings.db_start_delay)
            janitor.images.append(late)
            print(f"=> The database starts {settings.db_start_delay:g} s late ({late})", flush=True)
            settings.db_image = late
        project.bake()
        print(f"=> Baked {project.path}; compose project {project.compose_project}", flush=True)
        results = measure_all(project, settings)
    except KeyboardInterrupt:
        print("\nInterrupted.", file=sys.stderr)
        status = 130
    except (BenchError, subprocess.CalledProcessError) as error:
        print(f"\nBenchmark failed: {error}", file=sys.stderr)
        status = 1
    finally:
        cleanup(project, janitor)
    if status:
        return status
    results["timestamp"] = timestamp
    results["duration_s"] = round(time.monotonic() - started, 1)
    path = write_results(results)
    print_report(results)
    print(f"Results: {path.relative_to(REPO)} (and results/bench-latest.json)")
    return 0


def cleanup(project, janitor):
    """Leave the engine as it was: our processes, containers, compose project and images."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip it
    try:
        print("=> Cleaning up (make clean, bench containers and images)", flush=True)
        janitor.stop_processes()
        janitor.remove_containers()
        if project.path is not None:
            project.clean()
            project.remove_images()
        janitor.remove_images()
    finally:
        signal.signal(signal.SIGINT, previous)


if __name__ == "__main__":
    sys.exit(main())
