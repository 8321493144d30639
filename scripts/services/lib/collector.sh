# shellcheck shell=bash disable=SC2034  # *_PORTS, *_TIMEOUT, *_GRACE, *_NEEDS are read indirectly by ctl
# The collector tier of the production layout: the same Jaeger v2 binary as
# service `jaeger`, run with ops/jaeger/collector.yaml (OTLP in -> `kafka`
# exporter -> topic otlp_spans, otlp_json, keyed by trace id). The `jaeger`
# service is the ingester (its kafka receiver, group jaeger-ingester) and the
# query API, so spans sent here end up in the same store as spans sent to
# Jaeger's own OTLP ports. See ops/jaeger/collector.yaml and docs/scale.md.

COLLECTOR_PORTS=(4327 4328 13134 8889)
COLLECTOR_STOP_GRACE=15
# It waits for Kafka, which may be starting at the same time.
COLLECTOR_START_TIMEOUT=150
# Started (if not running) whenever the collector is: `ctl up collector` also brings Kafka up.
COLLECTOR_NEEDS=(kafka)
COLLECTOR_CONFIG="$REPO/ops/jaeger/collector.yaml"

collector_describe() {
  printf 'OTLP grpc 127.0.0.1:4327 http :4328 -> Kafka topic %s (%s partitions, otlp_json, key = trace id), health :13134\n' \
    "$KAFKA_SPAN_TOPIC" "$KAFKA_SPAN_TOPIC_PARTITIONS"
}
collector_version() { jaeger_version; }

# The binary is the one service `jaeger` builds; jaeger_prepare's lock makes whichever of the
# two prepare steps comes second wait for the build rather than run it again.
collector_prepare() {
  jaeger_prepare
  "$(jaeger_bin)" validate --config "$COLLECTOR_CONFIG" >/dev/null 2>&1 ||
    die "collector: $COLLECTOR_CONFIG is invalid (run: $(jaeger_bin) validate --config $COLLECTOR_CONFIG)"
}
collector_cached() { jaeger_cached; }
collector_cached_what() { printf 'waiting for the Jaeger binary (the same build as service jaeger) in %s\n' "$(jaeger_bin)"; }

# Runs inside the new session (ctl _run collector).
collector_run() {
  exec "$(jaeger_bin)" --config "$COLLECTOR_CONFIG"
}

# Healthy = serving OTLP and able to deliver: the collector itself is up and Kafka is too.
collector_healthy() {
  curl -fsS -m 3 -o /dev/null http://127.0.0.1:13134/status &&
    port_open 4328 && port_open 4327 && kafka_healthy
}

# The topic must exist with its partitions before the first span arrives (the exporter does
# not create it). Kafka's own post-start check creates it on every fresh Kafka; this covers a
# Kafka that was started before the topic was part of the layout.
collector_verify() {
  [[ -f $(kafka_span_topic_marker) ]] || kafka_ensure_span_topic
}
