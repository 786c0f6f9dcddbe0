"""Run `make clean && make test` many times in a row on one baked project; every run must be green.

A race between the tests and the database shows up as an occasional red run, not a constant one,
so this repeats the whole cycle (fresh database each time) and reports each run's result and time.
Not part of CI: run it by hand and report the figures.

    .venv/bin/python bench/soak.py --runs 20 --compose "docker compose"
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

from cookiecutter.main import cookiecutter
from slow_db import late_db_image, remove_image

ROOT = Path(__file__).resolve().parents[1]
OFFLINE_PYTHON_IMAGE = "offline/python:3.11-bookworm"
OFFLINE_DB_IMAGE = "offline/mariadb:10.11-bookworm"


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--compose", default="docker compose", help='"docker compose" or docker-compose'
    )
    parser.add_argument("--database", default="mysql", choices=["mysql", "mariadb"])
    parser.add_argument(
        "--python-image", default=os.environ.get("TEMPLATE_PYTHON_IMAGE", OFFLINE_PYTHON_IMAGE)
    )
    parser.add_argument("--db-image", default=os.environ.get("TEMPLATE_DB_IMAGE", OFFLINE_DB_IMAGE))
    parser.add_argument(
        "--random-delay", type=int, default=0, metavar="SECONDS",
        help="start the database after a random 0..SECONDS delay each run, to vary the race",
    )  # fmt: skip
    return parser.parse_args()


def bake(database):
    output = ROOT / "build" / "soak"
    shutil.rmtree(output, ignore_errors=True)
    return Path(
        cookiecutter(
            str(ROOT), no_input=True, output_dir=str(output), extra_context={"database": database}
        )
    )


def make(project, target, env):
    return subprocess.run(
        ["make", target], check=False, cwd=project, env=env, capture_output=True, text=True
    )


def main():
    args = parse_args()
    project = bake(args.database)
    db_image = args.db_image
    if args.random_delay:
        db_image = late_db_image(args.db_image, args.random_delay, randomly=True)
    env = {
        **os.environ,
        "COMPOSE": args.compose,
        "PYTHON_IMAGE": args.python_image,
        "DB_IMAGE": db_image,
        "BUILD_ID": f"soak{uuid.uuid4().hex[:6]}",
    }
    print(f"=> {args.runs} x (make clean && make test) in {project}")
    print(f"   COMPOSE={args.compose} PYTHON_IMAGE={args.python_image} DB_IMAGE={args.db_image}")
    if args.random_delay:
        print(f"   the database starts after a random 0..{args.random_delay} s delay each run")
    durations, failures = [], []
    try:
        for run in range(1, args.runs + 1):
            make(project, "clean", env)
            started = time.monotonic()
            result = make(project, "test", env)
            elapsed = time.monotonic() - started
            durations.append(elapsed)
            verdict = "green" if result.returncode == 0 else f"RED (exit {result.returncode})"
            print(f"   run {run:2d}: {verdict:16s} {elapsed:6.1f} s", flush=True)
            if result.returncode != 0:
                failures.append(run)
                (project / f"soak-run-{run}.log").write_text(result.stdout + result.stderr)
    finally:
        make(project, "clean", env)
        if db_image != args.db_image:
            remove_image(db_image)
    passed = args.runs - len(failures)
    print(f"{passed} passed, {len(failures)} failed")
    print(
        f"make test: median {statistics.median(durations):.1f} s, "
        f"min {min(durations):.1f} s, max {max(durations):.1f} s"
    )
    if failures:
        print(f"logs of the red runs: {project}/soak-run-<n>.log", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
