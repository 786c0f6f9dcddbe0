#!/usr/bin/env bash
# Prints the tags make tag gives the release image IMAGE, one per line, or refuses in one sentence.
# They name the commit the image was built from, read from its labels: the short sha, the git tags
# on that commit, and latest when BRANCH is DEFAULT_BRANCH or the commit has the highest version
# tag, so that latest never moves back to an older release. TAGS, when set, replaces them; a sha
# among them must still be the image's own.
set -euo pipefail
image=$1
label() {
  docker image inspect --format "{% raw %}{{ index .Config.Labels \"org.opencontainers.image.$1\" }}{% endraw %}" "$image"
}
refuse() { echo "$*" >&2; exit 2; }
revision=$(label revision)
version=$(label version)

if [ -n "${TAGS:-}" ]; then
  for tag in $TAGS; do
    if [[ $tag =~ ^[0-9a-f]{7,40}$ && ( $revision != "$tag"* || $version == *-dirty ) ]]; then
      refuse "TAGS=\"$TAGS\": $tag looks like a commit, but $image was built from" \
        "${version:-no commit}: name it by a tag that is not a sha."
    fi
    echo "$tag"
  done
  exit 0
fi

[ -n "$revision" ] || refuse "$image records no commit (it was built outside git or before the" \
  "first commit): commit, then make release again, or name its tags, e.g. make tag TAGS=v0.1.0."
[[ $version != *-dirty ]] || refuse "$image was built from uncommitted changes ($version):" \
  "commit them, then make release again."
head=$(git rev-parse --verify --quiet HEAD) || true
[ "$revision" = "$head" ] || refuse "HEAD is ${head:0:12} but $image was built from" \
  "${revision:0:12}: make release again to tag this commit, or check out ${revision:0:12}."

git rev-parse --short "$revision"
git tag --points-at "$revision"
highest=$(git tag --list --sort=-version:refname 'v[0-9]*' '[0-9]*' | sed -n 1p)
if [[ -n ${BRANCH:-} && $BRANCH == "${DEFAULT_BRANCH:-}" ]] \
  || [[ -n $highest && $(git rev-parse "$highest^{commit}") == "$revision" ]]; then
  echo latest
fi
