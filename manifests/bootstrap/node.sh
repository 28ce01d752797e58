#!/usr/bin/env bash
# swarmkeeper node bootstrap: the EC2 user data of every node-pool instance.
#
# swarmkeeper renders each pool's launch template as this shebang line, one
# assignment per variable below, then the rest of this file. cloud-init runs
# it as root on Debian 12 or Amazon Linux 2023. Idempotent: running it again
# (by hand, on reboot) is safe. User data is limited to 16384 bytes.
#
# Required:
#   SWARMKEEPER_CLUSTER     cluster name, e.g. cloud
#   SWARMKEEPER_ROLE        manager | worker
#   SWARMKEEPER_REGION      e.g. eu-west-1
#   SWARMKEEPER_SSM_PREFIX  e.g. /swarmkeeper/cloud
# Optional:
#   SWARMKEEPER_DOCKER_INSTALL  auto (install Docker if missing, default) | skip
#   SWARMKEEPER_JOIN_TIMEOUT    seconds to wait for SSM and a join (600)
#   SWARMKEEPER_LOG_GROUP       CloudWatch Logs group: the engine's default log
#                               driver becomes awslogs, one stream per container
#   AWS_ENDPOINT_URL            passed to every aws call (and to awslogs, and
#                               to the controller)
# The in-cluster controller (cluster.controller; managers only), started by
# the manager that runs `swarm init`, from SWARMKEEPER_CONTROLLER_STACK (the
# text of manifests/swarmkeeper.stack.yml):
#   SWARMKEEPER_CONTROLLER_IMAGE     the image (an ECR image: login first)
#   SWARMKEEPER_CONTROLLER_GIT       the repository it follows
#   SWARMKEEPER_CONTROLLER_BRANCH    its branch
#   SWARMKEEPER_CONTROLLER_PATH      the directory holding swarmkeeper.yaml
#   SWARMKEEPER_CONTROLLER_REPLICAS  replicas, on distinct managers
#   SWARMKEEPER_CONTROLLER_STACK     the stack file
#
# SSM parameters under the prefix (the contract with swarmkeeper):
#   join-token/worker, join-token/manager  SecureString
#   manager-addresses  String  "ip:2377,ip:2377" of reachable managers
#   init-claim         String  instance id of the one manager that may
#                      `swarm init`; put without --overwrite, so one wins
#   swarm-id           String  the cluster's swarm, written by that manager
#                      right after `swarm init` (before the tokens and the
#                      address), without --overwrite: a second swarm is an error
# Engine labels, which swarmkeeper maps nodes to instances by: see
# configure_engine.
#
# Join tokens are secrets: never `set -x` here; log() redacts every line.

set -euo pipefail

# Overridable only so that tests can run this outside an instance.
LOG_FILE="${SWARMKEEPER_LOG_FILE:-/var/log/swarmkeeper-bootstrap.log}"
DAEMON_JSON="${SWARMKEEPER_DAEMON_JSON:-/etc/docker/daemon.json}"
readonly IMDS=http://169.254.169.254/latest
readonly JOIN_ATTEMPT_TIMEOUT=60
SECRETS=()  # values log() must never write
WORK=""     # private scratch directory, removed on exit

log() {
  local line secret
  line="$(date -u +%Y-%m-%dT%H:%M:%SZ) swarmkeeper-bootstrap: $*"
  for secret in "${SECRETS[@]}"; do
    line="${line//"$secret"/<redacted>}"
  done
  # Any swarm token, even one this script never read (docker may echo one).
  line="$(sed -E 's/SWMTKN-[A-Za-z0-9-]+/SWMTKN-<redacted>/g' <<<"$line")"
  printf '%s\n' "$line" >&2
  printf '%s\n' "$line" >>"$LOG_FILE" 2>/dev/null || true
}

die() { log "ERROR: $*"; exit 1; }

on_exit() {
  if [[ -n $WORK ]]; then rm -rf "$WORK"; fi
  if (($1 != 0)); then log "bootstrap failed (exit $1); log: $LOG_FILE"; fi
}

# check VAR REGEX HINT: adds to the caller's problems unless VAR is unset or matches.
check() {
  if [[ -n ${!1:-} && ! ${!1} =~ $2 ]]; then problems+=("$1='${!1}' $3"); fi
}

# Reports all problems at once: a broken template is fixed in one round trip.
validate_config() {
  local problems=() name p
  for name in SWARMKEEPER_CLUSTER SWARMKEEPER_ROLE SWARMKEEPER_REGION SWARMKEEPER_SSM_PREFIX; do
    if [[ -z ${!name:-} ]]; then problems+=("$name is not set"); fi
  done
  SWARMKEEPER_DOCKER_INSTALL="${SWARMKEEPER_DOCKER_INSTALL:-auto}"
  SWARMKEEPER_JOIN_TIMEOUT="${SWARMKEEPER_JOIN_TIMEOUT:-600}"
  check SWARMKEEPER_CLUSTER '^[a-z][a-z0-9-]{0,30}$' 'must match [a-z][a-z0-9-]{0,30}'
  check SWARMKEEPER_ROLE '^(manager|worker)$' 'must be manager or worker'
  check SWARMKEEPER_REGION '^[a-z]{2}(-[a-z]+)+-[0-9]+$' 'is not an AWS region'
  check SWARMKEEPER_SSM_PREFIX '^(/[A-Za-z0-9_.-]+)+$' 'must look like /a/b'
  check SWARMKEEPER_DOCKER_INSTALL '^(auto|skip)$' 'must be auto or skip'
  check SWARMKEEPER_JOIN_TIMEOUT '^[1-9][0-9]*$' 'must be seconds > 0'
  check SWARMKEEPER_LOG_GROUP '^[A-Za-z0-9_./#-]{1,512}$' 'is not a CloudWatch Logs group name'
  check SWARMKEEPER_CONTROLLER_REPLICAS '^[1-7]$' 'must be 1 to 7'
  if [[ -n ${SWARMKEEPER_CONTROLLER_IMAGE:-} ]]; then
    for name in SWARMKEEPER_CONTROLLER_GIT SWARMKEEPER_CONTROLLER_STACK; do
      if [[ -z ${!name:-} ]]; then problems+=("$name is not set (SWARMKEEPER_CONTROLLER_IMAGE is)"); fi
    done
  fi
  if ((${#problems[@]} > 0)); then
    for p in "${problems[@]}"; do log "ERROR: $p"; done
    die "invalid configuration: see the variables at the top of this script"
  fi
  CLUSTER=$SWARMKEEPER_CLUSTER ROLE=$SWARMKEEPER_ROLE
  REGION=$SWARMKEEPER_REGION PREFIX=$SWARMKEEPER_SSM_PREFIX
}

# backoff_sleep ROUND CAP [DEADLINE]: jitter keeps a pool booting together from
# polling in lockstep; never sleeps past DEADLINE (in $SECONDS).
backoff_sleep() {
  local round=$1 cap=$2 deadline=${3:-} delay
  delay=$((1 << (round < 6 ? round : 6)))
  if ((delay > cap)); then delay=$cap; fi
  delay=$((delay + RANDOM % 3))
  if [[ -n $deadline ]] && ((delay > deadline - SECONDS)); then delay=$((deadline - SECONDS)); fi
  if ((delay > 0)); then sleep "$delay"; fi
}

# pkg_install PACKAGE...: mirrors can be briefly unreachable at boot, so retry.
pkg_install() {
  local attempt
  export DEBIAN_FRONTEND=noninteractive
  log "installing $*"
  for attempt in 1 2 3 4 5; do
    if command -v apt-get >/dev/null; then
      # The lock timeout waits out unattended-upgrades instead of failing.
      if apt-get -q -o DPkg::Lock::Timeout=300 update >&2 &&
        apt-get -q -y -o DPkg::Lock::Timeout=300 install "$@" >&2; then return 0; fi
    elif dnf -q -y install "$@" >&2; then
      return 0
    fi
    log "installing $* failed (attempt $attempt/5)"
    backoff_sleep "$attempt" 30
  done
  die "could not install $*"
}

# The package names differ between Debian (apt) and Amazon Linux 2023 (dnf).
install_prerequisites() {
  local pkgs=() apt=0
  if command -v apt-get >/dev/null; then apt=1; fi
  if ! command -v docker >/dev/null; then
    [[ $SWARMKEEPER_DOCKER_INSTALL == auto ]] || die "docker is missing and SWARMKEEPER_DOCKER_INSTALL=skip"
    if ((apt)); then pkgs+=(docker.io); else pkgs+=(docker); fi
  fi
  if ! command -v aws >/dev/null; then
    if ((apt)); then pkgs+=(awscli); else pkgs+=(awscli-2); fi
  fi
  # Only when missing: AL2023's curl-minimal conflicts with the full curl package.
  if ! command -v curl >/dev/null; then pkgs+=(curl); fi
  if ! command -v python3 >/dev/null; then pkgs+=(python3); fi
  if ((${#pkgs[@]} > 0)); then pkg_install "${pkgs[@]}"; fi
}

# docker_service ACTION...: systemctl ACTION docker, then wait until it answers.
docker_service() {
  if command -v systemctl >/dev/null; then
    systemctl "$@" docker.service >&2 || die "systemctl $* docker failed"
  elif [[ $1 == restart ]]; then
    die "no systemctl: restart dockerd by hand so that it reads $DAEMON_JSON"
  fi
  for _ in $(seq 1 30); do
    if docker info >/dev/null 2>&1; then return 0; fi
    sleep 2
  done
  die "dockerd is not answering after 60s (see: journalctl -u docker)"
}

# imds_get PATH: one metadata value through IMDSv2 (a session token first),
# retried: the metadata service can lag just after boot.
imds_get() {
  local path=$1 attempt token value
  for attempt in $(seq 1 10); do
    if token=$(curl -fsS --connect-timeout 2 --max-time 5 -X PUT \
      -H 'X-aws-ec2-metadata-token-ttl-seconds: 300' "$IMDS/api/token") &&
      value=$(curl -fsS --connect-timeout 2 --max-time 5 \
        -H "X-aws-ec2-metadata-token: $token" "$IMDS/meta-data/$path") &&
      [[ -n $value ]]; then
      printf '%s' "$value"
      return 0
    fi
    log "metadata $path not available yet (attempt $attempt/10)"
    backoff_sleep "$attempt" 10
  done
  die "could not read metadata $path through IMDSv2"
}

read_instance_metadata() {
  INSTANCE_ID=$(imds_get instance-id)
  LOCAL_IP=$(imds_get local-ipv4)
  AZ=$(imds_get placement/availability-zone)
  [[ $INSTANCE_ID =~ ^i-[0-9a-f]+$ ]] || die "bad instance id from IMDS: $INSTANCE_ID"
  [[ $LOCAL_IP =~ ^[0-9]+(\.[0-9]+){3}$ ]] || die "bad local-ipv4 from IMDS: $LOCAL_IP"
  log "instance $INSTANCE_ID, address $LOCAL_IP, zone $AZ"
}

# merge_daemon_config FILE LOG_GROUP LABEL...: set swarmkeeper's labels (and,
# with a LOG_GROUP, the awslogs log driver) in a dockerd config, keeping every
# other key and label. Prints "changed" or "unchanged" (compares parsed JSON:
# reformatting is no change). An empty LOG_GROUP leaves the log driver alone.
merge_daemon_config() {
  python3 - "$REGION" "${AWS_ENDPOINT_URL:-}" "$@" <<'PY'
import json, os, sys

region, endpoint, path, group, ours = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
config, existed = {}, os.path.exists(path)
if existed:
    text = open(path).read()
    if text.strip():
        try:
            config = json.loads(text)
        except ValueError as e:
            sys.exit(f"{path} is not valid JSON ({e}); fix or remove it")
    if not isinstance(config, dict):
        sys.exit(f"{path} must hold a JSON object")
labels = config.get("labels", [])
if not isinstance(labels, list) or not all(isinstance(l, str) for l in labels):
    sys.exit(f'{path}: "labels" must be a list of strings')
before = json.dumps(config, sort_keys=True) if existed and "labels" in config else None
config["labels"] = [l for l in labels if not l.startswith("swarmkeeper.")] + ours
if group:
    # One stream per container, named after it: a task's container is
    # <service>.<slot>.<task id>. Only awslogs' own options: another
    # driver's (json-file's max-size) would stop dockerd from starting.
    opts = {"awslogs-group": group, "awslogs-region": region, "tag": "{{.Name}}"}
    if endpoint:
        opts["awslogs-endpoint"] = endpoint
    config["log-driver"] = "awslogs"
    config["log-opts"] = opts
if json.dumps(config, sort_keys=True) == before:
    print("unchanged")
    sys.exit(0)
with open(path + ".tmp", "w") as f:
    f.write(json.dumps(config, indent=2) + "\n")
os.replace(path + ".tmp", path)  # atomic: dockerd never reads half a file
print("changed")
PY
}

# swarmkeeper maps swarm nodes to instances by swarmkeeper.instance-id; with
# SWARMKEEPER_LOG_GROUP every container's log goes to CloudWatch Logs (a
# service's own `logging:` still wins: the engine's default is only a
# default). Restart docker only on a change: a restart on reboot would bounce
# every task.
configure_engine() {
  local result
  mkdir -p "$(dirname "$DAEMON_JSON")"
  if ! result=$(merge_daemon_config "$DAEMON_JSON" "${SWARMKEEPER_LOG_GROUP:-}" \
    "swarmkeeper.instance-id=$INSTANCE_ID" \
    "swarmkeeper.cluster=$CLUSTER" \
    "swarmkeeper.pool=${ROLE}s" \
    "swarmkeeper.az=$AZ" 2>&1); then
    die "cannot configure the engine: $result"
  fi
  if [[ $result == changed ]]; then
    log "engine labels${SWARMKEEPER_LOG_GROUP:+ and awslogs to $SWARMKEEPER_LOG_GROUP} written to $DAEMON_JSON; restarting docker"
    docker_service restart
  else
    log "engine configuration already set"
  fi
}

swarm_state() {
  docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown
}

# A failed or timed-out join can leave the engine "pending" or "error", which
# refuses the next join: start over clean.
reset_partial_join() {
  case $(swarm_state) in
    pending | error)
      log "leaving an unfinished join"
      docker swarm leave --force >/dev/null 2>&1 || true
      ;;
  esac
}

# aws_ssm ARGS...: with the region, the endpoint (Debian 12's aws CLI predates
# AWS_ENDPOINT_URL) and an outer time limit.
aws_ssm() {
  local endpoint=()
  if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then endpoint=(--endpoint-url "$AWS_ENDPOINT_URL"); fi
  timeout 60 aws ssm "$@" --region "$REGION" "${endpoint[@]}"
}

# ssm_get NAME: print PREFIX/NAME. Returns 1 if it does not exist (swarmkeeper
# may publish it after this instance boots), 2 on any other error.
ssm_get() {
  local name="$PREFIX/$1" value
  if value=$(aws_ssm get-parameter --name "$name" --with-decryption \
    --query Parameter.Value --output text 2>"$WORK/get.err"); then
    printf '%s' "$value"
    return 0
  fi
  if grep -q ParameterNotFound "$WORK/get.err"; then return 1; fi
  log "reading $name failed: $(tr '\n' ' ' <"$WORK/get.err")"
  return 2
}

# ssm_put NAME TYPE VALUE [ARGS...]: the value goes through a private file
# (file://), never argv, which other processes can read.
ssm_put() {
  local name="$PREFIX/$1" type=$2
  printf '%s' "$3" >"$WORK/value"
  shift 3
  if aws_ssm put-parameter --name "$name" --type "$type" --value "file://$WORK/value" "$@" \
    >/dev/null 2>"$WORK/put.err"; then
    return 0
  fi
  if ! grep -q ParameterAlreadyExists "$WORK/put.err"; then
    log "writing $name failed: $(tr '\n' ' ' <"$WORK/put.err")"
  fi
  return 1
}

ssm_put_retry() {
  local attempt
  for attempt in 1 2 3 4 5; do
    if ssm_put "$@"; then return 0; fi
    backoff_sleep "$attempt" 30
  done
  die "could not write $PREFIX/$1"
}

# claim_init: elect the one manager that may `swarm init` by a conditional write
# (no --overwrite). Returns 0 if this instance holds the claim (maybe from an
# earlier run that died), 1 if another instance does, 2 if unknown.
claim_init() {
  local holder
  if ssm_put init-claim String "$INSTANCE_ID"; then
    log "won the init claim"
    return 0
  fi
  if ! grep -q ParameterAlreadyExists "$WORK/put.err"; then return 2; fi
  holder=$(ssm_get init-claim) || return 2
  if [[ $holder == "$INSTANCE_ID" ]]; then
    log "this instance already holds the init claim"
    return 0
  fi
  log "the init claim is held by $holder; waiting for its address"
  return 1
}

# Tokens before the address: a joiner reads the address first, so it can never
# pair a fresh address with a stale token from an earlier swarm.
publish_join_info() {
  local role token
  for role in worker manager; do
    token=$(docker swarm join-token -q "$role") || die "docker swarm join-token $role failed"
    SECRETS+=("$token")
    ssm_put_retry "join-token/$role" SecureString "$token" --overwrite
  done
  ssm_put_retry manager-addresses String "$LOCAL_IP:2377" --overwrite
  log "published the join tokens and manager address $LOCAL_IP:2377"
}

# record_swarm_id: the cluster's swarm is an identity. Written without
# --overwrite, so a second swarm for the cluster (two inits) is caught here
# instead of nodes joining either; the same id (a rerun) is fine.
record_swarm_id() {
  local id holder attempt
  id=$(docker info --format '{{.Swarm.Cluster.ID}}') || id=""
  [[ -n $id ]] || die "cannot read the new swarm's id (docker info)"
  for attempt in 1 2 3 4 5; do
    if ssm_put swarm-id String "$id"; then
      log "recorded swarm $id in $PREFIX/swarm-id"
      return 0
    fi
    if grep -q ParameterAlreadyExists "$WORK/put.err"; then
      holder=$(ssm_get swarm-id) || holder=""
      if [[ $holder == "$id" ]]; then
        log "$PREFIX/swarm-id already records this swarm ($id)"
        return 0
      fi
      if [[ -n $holder ]]; then
        die "two swarms for one cluster: $PREFIX/swarm-id records swarm $holder, this manager initialised $id; nothing was published. Find out why two managers ran swarm init ($PREFIX/init-claim), then docker swarm leave --force here"
      fi
    fi
    backoff_sleep "$attempt" 30
  done
  die "could not write $PREFIX/swarm-id"
}

init_swarm() {
  local out
  log "initialising a new swarm, advertising $LOCAL_IP"
  # The output holds the worker token: log it only through log().
  out=$(docker swarm init --advertise-addr "$LOCAL_IP" 2>&1) || die "docker swarm init failed: $out"
  record_swarm_id
  publish_join_info
  start_controller
}

# ecr_login IMAGE: an image in ECR is pulled after a login (the instance
# profile's ecr:GetAuthorizationToken); the password goes through a pipe,
# never argv. Other registries: nothing to do.
ecr_login() {
  local registry=${1%%/*} region endpoint=()
  [[ $registry =~ ^[0-9]{12}\.dkr\.ecr(-fips)?\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$ ]] || return 0
  region=${BASH_REMATCH[2]}
  if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then endpoint=(--endpoint-url "$AWS_ENDPOINT_URL"); fi
  if timeout 60 aws ecr get-login-password --region "$region" "${endpoint[@]}" 2>"$WORK/login.err" |
    docker login --username AWS --password-stdin "$registry" >/dev/null 2>>"$WORK/login.err"; then
    log "logged in to $registry"
    return 0
  fi
  log "cannot log in to $registry: $(tr '\n' ' ' <"$WORK/login.err") (the managers' instance profile needs ecr:GetAuthorizationToken)"
  return 1
}

# start_controller: swarmkeeper itself, as the stack `swarmkeeper`, right
# after `swarm init` (cluster.controller). The same stack file as the
# manual path; AWS_ENDPOINT_URL, when set, reaches the controller through
# a second file merged over it. A failure is logged and the node stays in
# the swarm: the swarm is up, and `swarmkeeper reconcile` or a rerun of
# this script starts the controller later.
start_controller() {
  local stack files attempt out
  [[ -n ${SWARMKEEPER_CONTROLLER_IMAGE:-} ]] || return 0
  stack="$WORK/swarmkeeper.stack.yml"
  printf '%s\n' "$SWARMKEEPER_CONTROLLER_STACK" >"$stack"
  files=(-c "$stack")
  if [[ -n ${AWS_ENDPOINT_URL:-} ]]; then
    printf 'version: "3.8"\nservices:\n  controller:\n    environment:\n      AWS_ENDPOINT_URL: "%s"\n' \
      "$AWS_ENDPOINT_URL" >"$WORK/endpoint.yml"
    files+=(-c "$WORK/endpoint.yml")
  fi
  for attempt in 1 2 3 4 5; do
    if ecr_login "$SWARMKEEPER_CONTROLLER_IMAGE" &&
      out=$(SWARMKEEPER_IMAGE=$SWARMKEEPER_CONTROLLER_IMAGE \
        SWARMKEEPER_GIT=$SWARMKEEPER_CONTROLLER_GIT \
        SWARMKEEPER_GIT_BRANCH=${SWARMKEEPER_CONTROLLER_BRANCH:-main} \
        SWARMKEEPER_GIT_PATH=${SWARMKEEPER_CONTROLLER_PATH:-.} \
        SWARMKEEPER_REPLICAS=${SWARMKEEPER_CONTROLLER_REPLICAS:-1} \
        timeout 120 docker stack deploy --with-registry-auth "${files[@]}" swarmkeeper 2>&1); then
      log "started the controller ($SWARMKEEPER_CONTROLLER_IMAGE) following $SWARMKEEPER_CONTROLLER_GIT@${SWARMKEEPER_CONTROLLER_BRANCH:-main}"
      return 0
    fi
    log "starting the controller failed (attempt $attempt/5): ${out:-see above}"
    backoff_sleep "$attempt" 30
  done
  log "ERROR: the controller was not started; the swarm is up. Rerun this script, or deploy manifests/swarmkeeper.stack.yml by hand"
}

# parse_addresses VALUE: one host:port a line; malformed entries are dropped, so
# a placeholder (SSM has no empty strings) means "none".
parse_addresses() {
  local entry entries
  IFS=, read -ra entries <<<"$1"
  for entry in "${entries[@]}"; do
    entry="${entry//[[:space:]]/}"
    if [[ $entry =~ ^[^:]+:[0-9]+$ ]]; then printf '%s\n' "$entry"; fi
  done
}

# try_managers TOKEN ADDR...: join through the first manager that answers.
try_managers() {
  local token=$1 addr out rc
  shift
  for addr in "$@"; do
    reset_partial_join
    log "joining as a $ROLE via $addr"
    rc=0
    out=$(timeout "$JOIN_ATTEMPT_TIMEOUT" docker swarm join --token "$token" \
      --advertise-addr "$LOCAL_IP" "$addr" 2>&1) || rc=$?
    # docker gives up waiting after a while but the join may still finish.
    for _ in $(seq 1 15); do
      [[ $(swarm_state) == pending ]] || break
      sleep 2
    done
    if [[ $(swarm_state) == active ]]; then return 0; fi
    log "join via $addr failed (exit $rc): $out"
  done
  return 1
}

# Every round re-reads addresses and token, so a node never insists on a dead
# manager's address: swarmkeeper republishes the live ones.
join_swarm() {
  local deadline=$((SECONDS + SWARMKEEPER_JOIN_TIMEOUT)) round=0 claim="" rc value token addrs
  while :; do
    round=$((round + 1))
    rc=0
    value=$(ssm_get manager-addresses) || rc=$?
    addrs=()
    if ((rc == 0)); then mapfile -t addrs < <(parse_addresses "$value"); fi
    # Only a sure "no managers" may lead to init; a failed read (rc 2) is not one.
    if [[ $ROLE == manager && $claim != lost && ${#addrs[@]} -eq 0 ]] && ((rc != 2)); then
      # A recorded swarm (adopted, or initialised by a manager since gone)
      # is joined, never replaced by a second one: wait for its addresses.
      rc=0
      ssm_get swarm-id >/dev/null || rc=$?
      if ((rc == 0)); then
        log "the cluster's swarm is recorded in $PREFIX/swarm-id: joining it, not initialising one"
        claim=lost
      elif ((rc == 1)); then
        rc=0
        claim_init || rc=$?
        if ((rc == 0)); then init_swarm; return 0; fi
        if ((rc == 1)); then claim=lost; fi
      fi
    fi
    if ((${#addrs[@]} == 0)); then
      log "no manager addresses published yet"
    elif token=$(ssm_get "join-token/$ROLE"); then
      SECRETS+=("$token")
      if try_managers "$token" "${addrs[@]}"; then return 0; fi
    else
      log "join-token/$ROLE not available yet"
    fi
    if ((SECONDS >= deadline)); then
      die "could not join the swarm in ${SWARMKEEPER_JOIN_TIMEOUT}s: check $PREFIX/manager-addresses, join-token/$ROLE, TCP 2377 from $LOCAL_IP"
    fi
    backoff_sleep "$round" 30 "$deadline"
  done
}

main() {
  ((EUID == 0)) || die "must run as root"
  validate_config
  WORK=$(mktemp -d)
  trap 'on_exit $?' EXIT
  log "bootstrapping a $ROLE of cluster $CLUSTER in $REGION"
  install_prerequisites
  docker_service enable --now
  read_instance_metadata
  configure_engine
  case $(swarm_state) in
    active)
      log "already in the swarm as node $(docker info --format "{{.Swarm.NodeID}}"); nothing to do"
      # A rerun on the manager that initialised the swarm finishes a boot
      # cut short before the controller started.
      if [[ $ROLE == manager && -n ${SWARMKEEPER_CONTROLLER_IMAGE:-} ]] &&
        ! docker service inspect swarmkeeper_controller >/dev/null 2>&1 &&
        [[ $(ssm_get init-claim 2>/dev/null) == "$INSTANCE_ID" ]]; then
        start_controller
      fi
      exit 0
      ;;
    locked) die "the swarm is locked (autolock): run docker swarm unlock, then rerun" ;;
  esac
  reset_partial_join
  join_swarm
  log "done: node $(docker info --format "{{.Swarm.NodeID}}") is in the swarm as a $ROLE"
}

# Sourced (by tests): define the functions only.
(return 0 2>/dev/null) || main "$@"
