# The spec's collection url, with no trailing slash.
COLLECTION = "/todos"
