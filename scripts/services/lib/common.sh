# shellcheck shell=bash
# Helpers shared by scripts/services/ctl and the per-service files in lib/.
# Sourced, never executed. Expects REPO, SERVICES_DIR, STATE_DIR, CACHE_DIR, CTL.

say()  { printf '%s\n' "$*"; }
warn() { printf '%s\n' "$*" >&2; }
die()  { printf 'error: %s\n' "$*" >&2; exit 1; }

svc_dir()  { printf '%s\n' "$STATE_DIR/$1"; }
pid_file() { printf '%s\n' "$STATE_DIR/$1/pid"; }
log_file() { printf '%s\n' "$STATE_DIR/$1/log"; }

# Every process we start carries this variable in its environment (children
# inherit it), so `down` can find all of a service's processes, even ones
# that left its session (e.g. a daemonised helper), and never touches
# processes of another clone or of the system services.
svc_tag() { printf '%s\n' "$STATE_DIR/$1"; }

# Pids of all live processes tagged for service $1 (one grep over /proc).
tagged_pids() {
  local needle f pid
  needle="MQTRAIL_SERVICE_TAG=$(svc_tag "$1")"
  # -z: environ is NUL-separated; -x -F: whole entry, literal; -l: file names.
  grep -lzxF -- "$needle" /proc/[0-9]*/environ 2>/dev/null | while read -r f; do
    pid=${f#/proc/}; pid=${pid%/environ}
    printf '%s\n' "$pid"
  done
  return 0
}

is_tagged() {
  grep -qzxF -- "MQTRAIL_SERVICE_TAG=$(svc_tag "$1")" "/proc/$2/environ" 2>/dev/null
}

# Prints the pid of service $1 if the process in its pid file is alive and
# really ours (tagged); fails otherwise. Guards against stale pid files and
# recycled pids.
svc_pid() {
  local f pid
  f=$(pid_file "$1")
  [[ -s $f ]] || return 1
  pid=$(<"$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  is_tagged "$1" "$pid" || return 1
  printf '%s\n' "$pid"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() {
  timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null
}

# "name (pid N, user U)" of the process listening on TCP port $1, if ss can
# tell (it needs root to see other users' processes).
port_holder() {
  local line name pid user
  line=$(ss -Hltnp "sport = :$1" 2>/dev/null | head -n1) || true
  [[ $line =~ users:\(\(\"([^\"]+)\",pid=([0-9]+) ]] || { printf 'unknown process\n'; return; }
  name=${BASH_REMATCH[1]} pid=${BASH_REMATCH[2]}
  user=$(ps -o user= -p "$pid" 2>/dev/null | tr -d ' ') || true
  printf '%s (pid %s, user %s)\n' "$name" "$pid" "${user:-?}"
}

# Fails with a clear message if any of the ports is already taken. Only
# called for services that are not running under our control.
ensure_ports_free() {
  local svc=$1 port holder hint; shift
  for port in "$@"; do
    port_open "$port" || continue
    holder=$(port_holder "$port")
    hint=""
    case $holder in
      *"user rabbitmq)"*|beam*|epmd*)
        hint=" - looks like the system rabbitmq-server service; stop it (service rabbitmq-server stop) or the other node" ;;
      *"user prometheus)"*|prometheus*)
        hint=" - looks like the system prometheus service; stop it (service prometheus stop)" ;;
    esac
    warn "$svc: port 127.0.0.1:$port is already in use by $holder$hint"
    return 1
  done
}

# Starts `ctl _run SERVICE` in a new session (setsid) so it has its own
# process group, survives the calling shell and ignores its Ctrl-C. Output
# goes to .services/SERVICE/log (the previous one is kept as log.1).
spawn() {
  local svc=$1 dir log i
  dir=$(svc_dir "$svc"); log=$(log_file "$svc")
  mkdir -p "$dir"
  rm -f "$(pid_file "$svc")"
  [[ -f $log ]] && mv -f "$log" "$log.1"
  MQTRAIL_SERVICE_TAG=$(svc_tag "$svc") \
    setsid "$CTL" _run "$svc" >"$log" 2>&1 </dev/null 8>&- &
  # _run writes its own pid (setsid may fork, so $! is not reliable).
  for ((i = 0; i < 50; i++)); do
    [[ -s $(pid_file "$svc") ]] && return 0
    sleep 0.1
  done
  warn "$svc: launcher did not start (see $log)"
  return 1
}

# Stops service $1: TERM to its main process (most shut down cleanly then),
# then TERM and finally KILL to whatever tagged process is left.
stop_service() {
  local svc=$1 grace=$2 pid pids i
  if pid=$(svc_pid "$svc"); then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  fi
  for sig in TERM KILL; do
    pids=$(tagged_pids "$svc")
    [[ -z $pids ]] && break
    # shellcheck disable=SC2086
    kill -"$sig" $pids 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do
      pids=$(tagged_pids "$svc")
      [[ -z $pids ]] && break
      sleep 0.1
    done
  done
  rm -f "$(pid_file "$svc")"
  pids=$(tagged_pids "$svc")
  if [[ -n $pids ]]; then
    warn "$svc: processes still alive after KILL: $pids"
    return 1
  fi
}

# Last lines of a service's log, indented, for failure reports.
show_log_tail() {
  local log; log=$(log_file "$1")
  [[ -f $log ]] || return 0
  warn "---- last lines of $log ----"
  tail -n "${2:-30}" "$log" | sed 's/^/  | /' >&2
  warn "----"
}

have() { command -v "$1" >/dev/null 2>&1; }

# Installs Debian packages without letting their maintainer scripts start
# the packaged system services (they would take our ports and run as
# another user). policy-rc.d exiting 101 tells invoke-rc.d "not allowed";
# an existing policy-rc.d is put back afterwards.
apt_install() {
  local policy=/usr/sbin/policy-rc.d backup="" rc=0 aptlog="$STATE_DIR/apt.log"
  if [[ $(id -u) != 0 ]] || ! have apt-get; then
    return 1
  fi
  mkdir -p "$STATE_DIR"
  if [[ -e $policy ]]; then
    backup=$(mktemp /usr/sbin/policy-rc.d.mqtrail.XXXXXX)
    cp -p "$policy" "$backup"
  fi
  printf '#!/bin/sh\n# temporary, from mqtrail scripts/services/ctl\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  # shellcheck disable=SC2064
  trap "apt_restore_policy '$backup'" EXIT
  export DEBIAN_FRONTEND=noninteractive
  {
    apt-get install -y --no-install-recommends "$@" ||
      { apt-get update && apt-get install -y --no-install-recommends "$@"; }
  } >"$aptlog" 2>&1 || rc=$?
  apt_restore_policy "$backup"
  trap - EXIT
  if ((rc != 0)); then
    warn "apt-get install $* failed (exit $rc); last lines of $aptlog:"
    tail -n 20 "$aptlog" | sed 's/^/  | /' >&2
  fi
  return "$rc"
}

apt_restore_policy() {
  if [[ -n $1 ]]; then
    mv -f "$1" /usr/sbin/policy-rc.d
  else
    rm -f /usr/sbin/policy-rc.d
  fi
}

# Seconds since the epoch, for timings printed by `up`.
now() { date +%s; }
