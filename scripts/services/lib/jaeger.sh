# shellcheck shell=bash disable=SC2034  # *_PORTS, *_TIMEOUT, *_GRACE are read indirectly by ctl
# Jaeger v2 built from source with the Go toolchain (module
# github.com/jaegertracing/jaeger at v1.76.0 = the v2.13.0 release) through
# the wrapper module in scripts/services/jaeger, configured by
# ops/jaeger/config.yaml (in-memory storage, OTLP in, query API out).

JAEGER_MODULE_VERSION=v1.76.0
JAEGER_RELEASE=v2.13.0
JAEGER_PORTS=(4317 4318 16686 16685 13133 8888)
JAEGER_STOP_GRACE=15
JAEGER_START_TIMEOUT=60

jaeger_bin() { printf '%s\n' "$CACHE_DIR/jaeger-$JAEGER_MODULE_VERSION/jaeger"; }

jaeger_describe() { printf 'OTLP grpc 127.0.0.1:4317 http :4318, UI/API :16686, health :13133, ingester of Kafka topic %s (group jaeger-ingester)\n' "$KAFKA_SPAN_TOPIC"; }
jaeger_version() { printf 'Jaeger %s (module %s)\n' "$JAEGER_RELEASE" "$JAEGER_MODULE_VERSION"; }

# Builds the binary once into the cache (several minutes on 2 cores the first
# time; Go's build cache makes later rebuilds quick). -mod=readonly: the
# committed go.mod/go.sum of the wrapper must be complete.
# Service `collector` runs the same binary; a lock in the cache makes the second of two
# prepare steps (or clones) wait for the first one's build instead of building it again.
jaeger_prepare() {
  local bin; bin=$(jaeger_bin)
  [[ -x $bin ]] && return 0
  mkdir -p "$(dirname "$bin")"
  exec 7>"$(dirname "$bin").build.lock"
  flock 7
  [[ -x $bin ]] && { exec 7>&-; return 0; }
  have go || die "jaeger: binary not in $bin and go not found: install Go 1.24+ (https://go.dev/dl or apt-get install golang)"
  local pkg=github.com/jaegertracing/jaeger
  (
    cd "$SERVICES_DIR/jaeger"
    # Same version stamping as upstream's Makefile, so `jaeger version` and
    # the UI show the release.
    GOFLAGS=-mod=readonly go build -trimpath \
      -ldflags "-X $pkg/internal/version.latestVersion=$JAEGER_RELEASE -X $pkg/internal/version.date=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
      -o "$bin.tmp.$$" "$pkg/cmd/jaeger"
  ) || { rm -f "$bin.tmp.$$"; die "jaeger: go build failed"; }
  mv -f "$bin.tmp.$$" "$bin"
  exec 7>&-
}

# Runs inside the new session (ctl _run jaeger).
jaeger_run() {
  exec "$(jaeger_bin)" --config "$REPO/ops/jaeger/config.yaml"
}

jaeger_healthy() {
  curl -fsS -m 3 -o /dev/null http://127.0.0.1:13133/status &&
    curl -fsS -m 3 -o /dev/null http://127.0.0.1:16686/api/services &&
    port_open 4318 && port_open 4317
}

jaeger_verify() { :; }

jaeger_cached() { [[ -x $(jaeger_bin) ]]; }
jaeger_cached_what() { printf 'building Jaeger %s from source with %s into %s\n' "$JAEGER_RELEASE" "$(go version 2>/dev/null | cut -d" " -f3)" "$(jaeger_bin)"; }
