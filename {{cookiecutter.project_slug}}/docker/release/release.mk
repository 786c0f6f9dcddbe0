# --- The release half: make release, then make tag and make publish ---------------------------
# (written as it will appear in the Makefile, after make clean-all; until then the Makefile's
# last line includes it)

# The release image is $(IMAGE):$(BUILD_ID); make tag names it $(REPOSITORY):<tag> for each of
# TAGS, and make publish pushes those. REGISTRY, when set, goes in front of IMAGE.
REGISTRY ?=
REPOSITORY ?= $(if $(REGISTRY),$(REGISTRY)/)$(IMAGE)
# latest, the commit's short sha and every git tag on it.
TAGS ?= latest $(shell git rev-parse --short HEAD 2>/dev/null) $(shell git tag --points-at HEAD 2>/dev/null)
# The image's org.opencontainers.image.source label; CI sets the repository's web address.
SOURCE ?= $(shell git remote get-url origin 2>/dev/null)

RELEASE_IMAGE := $(IMAGE):$(BUILD_ID)
# A compose project of its own: make test and make run never touch it.
RELEASE_PROJECT := $(DEV_PROJECT)-release
RELEASE_COMPOSE := $(COMPOSE) -p $(RELEASE_PROJECT) -f docker/release/docker-compose.yml
RELEASE_DOWN := $(RELEASE_COMPOSE) down --volumes --remove-orphans --timeout 0
ACCEPTANCE_CONTAINER := $(RELEASE_PROJECT)-acceptance
# The image's labels: which commit, which version, built when, from where.
IMAGE_LABELS = REVISION="$$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
  VERSION="$$(git describe --tags --always --dirty 2>/dev/null || echo unknown)" \
  CREATED="$$(date -u +%Y-%m-%dT%H:%M:%SZ)" SOURCE="$(SOURCE)"

# Fresh for each make release, and only in the environment of its compose commands: no file
# holds them.
release: export RELEASE_SECRET_KEY := $(shell od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
release: export RELEASE_DB_PASSWORD := $(shell od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
release: export RELEASE_DB_ROOT_PASSWORD := $(shell od -An -N16 -tx1 /dev/urandom | tr -d ' \n')

.PHONY: release tag publish clean-release

release: base-images ## Build the release image, run it on a fresh database, run the acceptance tests against it
	${INFO} "Starting a fresh release database (it initialises while the images build)"
	@$(RELEASE_DOWN) 2>/dev/null
	$(RELEASE_COMPOSE) up --detach db
	${INFO} "Building the release image $(RELEASE_IMAGE) and the acceptance tests' image"
	$(IMAGE_LABELS) $(RELEASE_COMPOSE) build $(QUIET_BUILD) $(BUILD_FLAGS)
	${INFO} "Starting the release: the agent waits for the database, migrate runs, then the app"
	$(RELEASE_COMPOSE) up --detach app
	${INFO} "Restarting the app: a release must come back from docker restart"
	$(RELEASE_COMPOSE) restart app
	${INFO} "Running the acceptance tests against http://app:8000 (they wait until it answers)"
	@mkdir -p $(REPORTS_DIR) && rm -f $(REPORTS_DIR)/acceptance.xml
	# --no-deps: the app is up; its agent and migrate need not run again.
	$(RELEASE_COMPOSE) run --no-deps --name $(ACCEPTANCE_CONTAINER) acceptance $(ARGS) || status=$$?; \
	docker cp $(ACCEPTANCE_CONTAINER):/reports/acceptance.xml $(REPORTS_DIR)/; \
	docker rm $(ACCEPTANCE_CONTAINER) >/dev/null; \
	if [ $${status:-0} -ne 0 ]; then echo "=> Acceptance tests failed (exit status $$status)" >&2; exit $$status; fi
	${INFO} "Release $(RELEASE_IMAGE) passed: it serves http://$$($(RELEASE_COMPOSE) port app 8000)/todos until make clean"

tag: check ## Tag the tested release image: latest, the git sha and git tags (or TAGS=...)
	@docker image inspect $(RELEASE_IMAGE) >/dev/null 2>&1 || { echo "There is no release image $(RELEASE_IMAGE) to tag: run make release first (it builds and tests it)." >&2; exit 2; }
	${INFO} "Tagging $(RELEASE_IMAGE) as $(REPOSITORY): $(strip $(TAGS))"
	for tag in $(TAGS); do docker tag $(RELEASE_IMAGE) $(REPOSITORY):$$tag; done

publish: tag ## Push those tags to REGISTRY/IMAGE (log in first: docker login, or the CI token)
	${INFO} "Pushing $(REPOSITORY): $(strip $(TAGS))"
	for tag in $(TAGS); do docker push --quiet $(REPOSITORY):$$tag; done

# make clean runs this first: the release environment, and the images it built for this build
# (the tags of make tag stay; make clean-all removes them too).
clean: clean-release
clean-release: check
	${INFO} "Removing the release environment of build $(BUILD_ID) and its images"
	$(RELEASE_DOWN)
	for image in $(RELEASE_IMAGE) $(IMAGE)-acceptance:$(BUILD_ID); do \
	  if docker image inspect $$image >/dev/null 2>&1; then docker image rm $$image >/dev/null; fi; \
	done
