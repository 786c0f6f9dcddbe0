"""A database image that starts late: the real image behind a wrapper that sleeps first.

The offline MariaDB is ready in under a second; the official images take many seconds to
initialise. Measuring, or soaking, with a late database shows what the workflow does when the
database, not the workflow, is the slow part.
"""

import json
import subprocess
import uuid


def image_config(image, key):
    shown = subprocess.run(
        ["docker", "image", "inspect", "--format", f"{{{{json .Config.{key}}}}}", image],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(shown.stdout) or []


def wrapper_image(base, name, entrypoint, cmd):
    """Build `base` with another entrypoint and command; return its (unique) tag."""
    dockerfile = (
        f"FROM {base}\n"
        f"ENTRYPOINT {json.dumps(entrypoint)}\n"
        f"CMD {json.dumps(cmd)}\n"
        "LABEL template-tools=wrapper\n"
    )
    tag = f"template-tools/{name}:{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", tag, "-"],
        input=dockerfile, text=True, capture_output=True, check=True, timeout=300,
    )  # fmt: skip
    return tag


def late_db_image(base, seconds, randomly=False):
    """`base` started `seconds` late (a random 0..seconds if asked), then exactly as before."""
    delay = f'"$(shuf -i 0-{seconds} -n 1)"' if randomly else str(seconds)
    late = ["/bin/sh", "-c", f'sleep {delay}; exec "$0" "$@"', *image_config(base, "Entrypoint")]
    return wrapper_image(base, "late-db", late, image_config(base, "Cmd"))


def never_ready_db_image(base):
    """A database container that starts and never listens (and stops at once when asked)."""
    forever = ["/bin/sh", "-c", "trap 'exit 0' TERM INT; while :; do sleep 0.2; done"]
    return wrapper_image(base, "never-ready-db", forever, [])


def remove_image(tag):
    subprocess.run(["docker", "rmi", "--force", tag], check=False, capture_output=True)
