# shellcheck shell=bash disable=SC2034  # *_PORTS, *_TIMEOUT, *_GRACE are read indirectly by ctl
# Prometheus from Debian's prometheus package, run as our own process with
# ops/prometheus/prometheus.yml and a fresh TSDB under .services/prometheus.

PROMETHEUS_PORTS=(9090)
PROMETHEUS_STOP_GRACE=15
PROMETHEUS_START_TIMEOUT=60
PROMETHEUS_CONFIG="$REPO/ops/prometheus/prometheus.yml"

prometheus_describe() { printf 'http://127.0.0.1:9090 (scrape/eval every 2s)\n'; }

prometheus_installed() { have prometheus && have promtool; }
prometheus_apt_package() { printf 'prometheus\n'; }

prometheus_version() {
  printf 'Prometheus %s\n' "$(prometheus --version 2>&1 | sed -n '1s/^prometheus, version \([^ ]*\).*/\1/p')"
}

prometheus_prepare() {
  prometheus_installed ||
    die "prometheus not found: install Debian's prometheus (apt-get install prometheus)"
  # Fail here, with promtool's explanation, rather than as a dead process.
  promtool check config "$PROMETHEUS_CONFIG" >/dev/null ||
    die "prometheus: $PROMETHEUS_CONFIG is invalid (promtool check config $PROMETHEUS_CONFIG)"
}

# Runs inside the new session (ctl _run prometheus).
prometheus_run() {
  local d; d=$(svc_dir prometheus)
  rm -rf "$d/data"
  exec prometheus \
    --config.file="$PROMETHEUS_CONFIG" \
    --web.listen-address=127.0.0.1:9090 \
    --web.enable-lifecycle \
    --storage.tsdb.path="$d/data" \
    --storage.tsdb.retention.time=1d
}

prometheus_healthy() {
  curl -fsS -m 3 -o /dev/null http://127.0.0.1:9090/-/ready
}

prometheus_verify() { :; }
