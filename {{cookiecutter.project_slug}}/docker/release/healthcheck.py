"""The release image's HEALTHCHECK: healthy when the app answers GET /health.

It asks with a Host the app accepts (the first of ALLOWED_HOSTS), so the check passes through
the same host validation as every other request.
"""

import os
import sys
import urllib.request

host = os.environ.get("ALLOWED_HOSTS", "").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    "http://127.0.0.1:8000/health", headers={"Host": host if host not in ("", "*") else "localhost"}
)
try:
    with urllib.request.urlopen(request, timeout=4) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError as error:
    sys.exit(f"GET /health failed: {error}")
