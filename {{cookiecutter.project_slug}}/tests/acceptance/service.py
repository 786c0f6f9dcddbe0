"""Where the release under test answers: BASE_URL (the release environment sets http://app:8000)."""

import os

BASE_URL = os.environ.get("BASE_URL", "http://localhost:8000").rstrip("/")
COLLECTION = f"{BASE_URL}/todos"
