#!/usr/bin/env bash
{% raw -%}
# make deploy and make undeploy: the release on Docker Swarm as the stack $STACK, made of
# docker/deploy/stack.yml (proxy, app) and db.yml (the database, unless MYSQL_HOST names one).
#   deploy.sh deploy IMAGE  the secrets (created with fresh values when absent), the stack with the
#                           app still on the image it serves, the migrations run by IMAGE as a
#                           one-off job, then the app rolled to IMAGE; waits for the rollout and
#                           prints the URL, or says which image failed and which one still serves.
#   deploy.sh undeploy      removes the stack and its secret key; the database's volume and the
#                           password secrets that open it stay unless VOLUMES=yes.
# The Makefile checks and exports the settings: STACK, DEPLOY_PORT, REPLICAS, REGISTRY,
# PROXY_IMAGE, DB_IMAGE, MYSQL_HOST, MYSQL_PORT, MYSQL_DATABASE, MYSQL_USER, ALLOWED_HOSTS,
# SECURE_SSL_REDIRECT, VOLUMES.
set -euo pipefail
cd "$(dirname "$0")/../docker/deploy"

# Seconds the database's first start, the migrations or a rollout may take before deploy.sh
# stops waiting.
TIMEOUT=300
APP=${STACK}_app
# No MYSQL_HOST: the stack's own database, the service db.
export MYSQL_HOST=${MYSQL_HOST:-db}
# Stack-created objects carry this label; so does the migration job, so that undeploy finds it.
NAMESPACE=com.docker.stack.namespace=$STACK

step() { if [ -t 1 ]; then printf '\033[1;33m=> %s\033[0m\n' "$*"; else echo "=> $*"; fi; }
refuse() { echo "$*" >&2; exit 2; }
fail() { echo "$*" >&2; exit 1; }
# The image a service's spec names, without the digest stack deploy may have pinned; empty when
# the service does not exist.
service_image() {
	local image
	image=$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$1" \
		2>/dev/null) || return 0
	echo "${image%@*}"
}
# How many of a service's tasks run IMAGE (any image: no IMAGE); running means healthy, for an
# image with a check.
running() {
	docker service ps --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' "$1" \
		2>/dev/null | grep -c "^${2:-[^ ]*} Running" || true
}
# A secret with a fresh random value, unless it exists; the value goes from od to the swarm
# through a pipe, never into a file or a variable.
secret() {
	docker secret inspect "$1" >/dev/null 2>&1 && return
	od -An -N32 -tx1 /dev/urandom | tr -d ' \n' | docker secret create "$1" - >/dev/null
	echo "=> Created the secret $1 (a fresh random value, kept only by the swarm)"
}
stack_deploy() {
	local files=(--compose-file stack.yml) options=(--prune) output
	[ "$MYSQL_HOST" != db ] || files+=(--compose-file db.yml)
	# Images in a registry are pinned by digest, so every node runs the same one; a local image
	# exists only here.
	if [ -n "$REGISTRY" ]; then
		options+=(--with-registry-auth)
	else
		options+=(--resolve-image never)
	fi
	# The 20.10 CLI has no --detach and never waits; later ones wait unless told not to: either
	# way this script polls the services itself.
	if docker stack deploy --help 2>/dev/null | grep -q -- --detach; then options+=(--detach=true); fi
	# Quiet unless it fails: it warns about every image no registry holds, as on one node.
	if ! output=$(docker stack deploy "${files[@]}" "${options[@]}" "$STACK" 2>&1); then
		fail "$output"
	fi
}
# The IDs of a service's tasks that failed or were rejected.
failed_tasks() {
	docker service ps --filter desired-state=shutdown --format '{{.ID}} {{.CurrentState}}' "$1" \
		| sed -n 's/^\([^ ]*\) \(Failed\|Rejected\).*/\1/p' | sort
}
# wait_running SERVICE WHAT: until a task of SERVICE runs; fails when three more of its tasks
# have failed meanwhile.
wait_running() {
	local deadline=$((SECONDS + TIMEOUT)) failed_before failed
	failed_before=$(failed_tasks "$1")
	until [ "$(running "$1")" -ge 1 ]; do
		failed=$(failed_tasks "$1" | comm -13 <(echo "$failed_before") - | grep -c . || true)
		if [ "$failed" -ge 3 ] || [ $SECONDS -ge $deadline ]; then
			docker service logs --raw --tail 20 "$1" 2>&1 | sed 's/^/   /' >&2
			fail "$2 did not start (the end of its log is above): docker service ps --no-trunc" \
				"$1 says why."
		fi
		sleep 1
	done
}

# The migrations, run once by IMAGE with the app's settings and secrets on the stack's network.
migrate() {
	local image=$1 job=${STACK}_migrate environment state='' deadline=$((SECONDS + TIMEOUT))
	local pull=--no-resolve-image
	[ -z "$REGISTRY" ] || pull=--with-registry-auth
	mapfile -t environment < <(docker service inspect \
		--format '{{ join .Spec.TaskTemplate.ContainerSpec.Env "\n" }}' "$APP")
	docker service rm "$job" >/dev/null 2>&1 || true
	docker service create --detach --quiet --name "$job" --mode replicated-job \
		--restart-condition none --label "$NAMESPACE" --container-label "$NAMESPACE" \
		--network "${STACK}_default" --no-healthcheck --read-only --mount type=tmpfs,target=/tmp \
		--secret "source=${STACK}_secret_key,target=secret_key" \
		--secret "source=${STACK}_mysql_password,target=mysql_password" \
		"${environment[@]/#/--env=}" "$pull" "$image" python manage.py migrate --no-input >/dev/null
	until [[ $state == @(Complete|Failed|Rejected|Shutdown|Orphaned)* ]]; do
		if [ $SECONDS -ge $deadline ]; then
			state="Unfinished after $TIMEOUT s"
			break
		fi
		sleep 1
		state=$(docker service ps --format '{{.CurrentState}}' "$job" | head -n 1)
	done
	if [[ $state != Complete* ]]; then
		{
			docker service logs --raw "$job" 2>&1 | tail -n 40
			docker service ps --no-trunc --format '{{.Error}}' "$job" | grep . || true
		} | sed 's/^/   /' >&2
	else
		docker service logs --raw "$job" 2>&1 | sed 's/^/   /'
	fi
	# Engine 20.10 keeps a job's finished container after the job is removed; later ones do not.
	docker ps --all --quiet --filter "label=com.docker.swarm.service.name=$job" \
		| xargs -r docker rm --force >/dev/null
	docker service rm "$job" >/dev/null
	[[ $state == Complete* ]]
}

# rollout IMAGE COUNT: until COUNT tasks run IMAGE after a rolling update (or none was needed);
# fails when the update was rolled back or paused.
rollout() {
	local image=$1 count=$2 state serving deadline=$((SECONDS + TIMEOUT))
	while :; do
		state=$(docker service inspect --format '{{.UpdateStatus.State}}' "$APP" 2>/dev/null) || state=
		serving=$(service_image "$APP")
		case $state in
		updating | rollback_started) ;;
		*)
			# A rolled-back service's spec is the previous one again.
			if [ "$serving" != "${image%@*}" ]; then
				fail "The rollout of $image failed (docker service ps --no-trunc $APP says why) and" \
					"was rolled back: $serving is still serving."
			fi
			if [[ $state == paused || $state == rollback_paused ]]; then
				fail "The rollout of $image is paused ($state) with $serving partly deployed:" \
					"docker service ps --no-trunc $APP says why."
			fi
			# A new service, or the same image, has no rolling update; any other waits for one.
			[ "$(running "$APP" "$image")" -lt "$count" ] || return 0
			;;
		esac
		[ $SECONDS -lt $deadline ] || fail "The rollout of $image has not completed within" \
			"$TIMEOUT s: docker service ps --no-trunc $APP says why."
		sleep 1
	done
}

deploy() {
	local image=$1 serving='' tasks=0 node
	if [ -n "$(service_image "$APP")" ]; then
		tasks=$(docker service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "$APP")
		[ "$tasks" = 0 ] || serving=$(service_image "$APP")
	fi
	step "Secrets of stack $STACK: those missing are created"
	secret "${STACK}_secret_key"
	if [ "$MYSQL_HOST" = db ]; then
		secret "${STACK}_mysql_password"
		secret "${STACK}_mysql_root_password"
		# The database's volume lives on one node: the one labelled, else this one from now on.
		if [ -z "$(docker node ls --quiet --filter "node.label=$STACK.db=true")" ]; then
			node=$(docker info --format '{{.Swarm.NodeID}}')
			docker node update --label-add "$STACK.db=true" "$node" >/dev/null
			echo "=> The database of $STACK runs on this node ($node, labelled $STACK.db=true)"
		fi
	else
		docker secret inspect "${STACK}_mysql_password" >/dev/null 2>&1 || refuse \
			"MYSQL_HOST=\"$MYSQL_HOST\" names a database outside the stack, but there is no secret" \
			"${STACK}_mysql_password with its password: create it (read -rs password; printf %s" \
			"\"\$password\" | docker secret create ${STACK}_mysql_password -), then make deploy again."
	fi
	export PROXY_CONFIG_ID
	PROXY_CONFIG_ID=$(cksum <nginx.conf | cut -d ' ' -f 1)

	# First the proxy, the database and the network, with the app as it is: at the image it serves
	# (no app task yet on a first deploy), so that the migrations run before the app changes.
	step "Updating the stack $STACK: the app stays on ${serving:-no task yet}"
	APP_IMAGE=${serving:-$image} APP_REPLICAS=$tasks stack_deploy
	if [ "$MYSQL_HOST" = db ]; then
		wait_running "${STACK}_db" "The database ($DB_IMAGE)"
	fi

	step "Running the migrations with $image"
	migrate "$image" || fail "The migrations failed with $image (its output is above): the app" \
		"was not updated, ${serving:-nothing} is still serving."

	step "Rolling the app out to $image: $REPLICAS tasks, one at a time, each once it is ready"
	APP_IMAGE=$image APP_REPLICAS=$REPLICAS stack_deploy
	rollout "$image" "$REPLICAS"
	wait_running "${STACK}_proxy" "The proxy ($PROXY_IMAGE)"
	# The proxy configs of earlier deploys; the one in use refuses to go.
	docker config ls --quiet --filter "label=$NAMESPACE" | xargs -r docker config rm >/dev/null 2>&1 \
		|| true
	step "$STACK serves $image on http://localhost:$DEPLOY_PORT/todos"
}

undeploy() {
	local deadline=$((SECONDS + TIMEOUT)) data
	step "Removing the stack $STACK: its services, networks, configs and secret key"
	docker stack rm "$STACK" >/dev/null
	# Its networks go once its containers have stopped; the 20.10 CLI does not wait for that.
	while [ -n "$(docker ps --all --quiet --filter "label=$NAMESPACE")" ]; do
		[ $SECONDS -lt $deadline ] || fail "The containers of $STACK have not stopped within" \
			"$TIMEOUT s: docker ps --filter label=$NAMESPACE shows them."
		sleep 1
	done
	docker network ls --quiet --filter "label=$NAMESPACE" | xargs -r docker network rm >/dev/null
	docker secret rm "${STACK}_secret_key" >/dev/null 2>&1 || true
	data="the volume ${STACK}_db and the secrets ${STACK}_mysql_password and"
	data+=" ${STACK}_mysql_root_password"
	if [ "${VOLUMES:-}" = yes ]; then
		docker volume rm --force "${STACK}_db" >/dev/null
		docker secret rm "${STACK}_mysql_password" "${STACK}_mysql_root_password" >/dev/null 2>&1 || true
		for node in $(docker node ls --quiet --filter "node.label=$STACK.db=true"); do
			docker node update --label-rm "$STACK.db" "$node" >/dev/null
		done
		step "Removed $STACK and its database: $data"
	else
		step "Removed $STACK but not its database's data: $data that open it stay;" \
			"make undeploy VOLUMES=yes removes them (and the data is lost)."
	fi
}

case $1 in
deploy) deploy "$2" ;;
undeploy) undeploy ;;
esac
{%- endraw %}
