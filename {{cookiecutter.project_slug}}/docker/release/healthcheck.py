"""The release image's HEALTHCHECK: healthy when the app answers GET /ready, that is when its
database answers and every migration is applied; docker inspect shows the reason when not.

It asks with a Host the app accepts (the first of ALLOWED_HOSTS), so the check passes through
the same host validation as every other request.
"""

import os
import sys
import urllib.error
import urllib.request

host = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    "http://127.0.0.1:8000/ready", headers={"Host": host if host not in ("", "*") else "localhost"}
)
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else f"GET /ready answered {response.status}")
except urllib.error.HTTPError as error:
    sys.exit(f"GET /ready answered {error.code}: {error.read(1000).decode(errors='replace')}")
except OSError as error:
    sys.exit(f"GET /ready failed: {error}")
