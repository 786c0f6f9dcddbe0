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


def late_db_image(base, seconds, randomly=False):
    """Build and return a tag for `base` started `seconds` late (a random 0..seconds if asked)."""
    delay = f'"$(shuf -i 0-{seconds} -n 1)"' if randomly else str(seconds)
    wrapper = ["/bin/sh", "-c", f'sleep {delay}; exec "$0" "$@"', *image_config(base, "Entrypoint")]
    dockerfile = (
        f"FROM {base}\n"
        f"ENTRYPOINT {json.dumps(wrapper)}\n"
        f"CMD {json.dumps(image_config(base, 'Cmd'))}\n"
        "LABEL template-bench=late-db\n"
    )
    tag = f"template-bench/late-db:{uuid.uuid4().hex[:8]}"
    subprocess.run(
        ["docker", "build", "--quiet", "--tag", tag, "-"],
        input=dockerfile, text=True, capture_output=True, check=True,
    )  # fmt: skip
    return tag


def remove_image(tag):
    subprocess.run(["docker", "rmi", "--force", tag], check=False, capture_output=True)
