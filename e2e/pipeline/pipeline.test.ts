import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { type Consumer, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startChild } from '../support/child';
import { endpoints } from '../support/endpoints';
import { fetchTrace, serviceOf } from '../support/jaeger';
import { portOpen } from '../support/port-open';
import { waitFor } from '../support/wait';

/**
 * The production layout (docs/scale.md) on the local services: an app exports OTLP to the
 * collector (`ctl` service `collector`, ops/jaeger/collector.yaml), which writes every span to
 * the Kafka topic `otlp_spans`; Jaeger's ingester (ops/jaeger/config.yaml, group
 * `jaeger-ingester`) reads the topic into the store behind the query API. What a user of the
 * pipeline relies on, checked from outside: the trace in Jaeger's API, and the records on the
 * topic as another consumer group (an `mqtrail audit --follow` worker) reads them.
 */

const COLLECTOR_OTLP_HTTP = process.env.MQTRAIL_E2E_COLLECTOR_OTLP_HTTP ?? 'http://127.0.0.1:4328';
const COLLECTOR_HEALTH = process.env.MQTRAIL_E2E_COLLECTOR_HEALTH ?? 'http://127.0.0.1:13134/status';
const SPAN_TOPIC = 'otlp_spans';
const SPAN_TOPIC_PARTITIONS = 6;
const INGESTER_GROUP = 'jaeger-ingester';
const MESSAGES = 4;

interface OtlpSpan {
  traceId: string;
  spanId: string;
  name: string;
  kind?: number;
  startTimeUnixNano?: string;
}
interface OtlpJson {
  resourceSpans: {
    resource?: { attributes?: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { scope?: { name?: string }; spans: OtlpSpan[] }[];
  }[];
}
interface SpanRecord {
  partition: number;
  offset: string;
  key: string | undefined;
  bytes: number;
  value: OtlpJson;
}

function spansOf(value: OtlpJson): OtlpSpan[] {
  return value.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans));
}

function serviceNamesOf(value: OtlpJson): string[] {
  return value.resourceSpans.map(
    (rs) => rs.resource?.attributes?.find((a) => a.key === 'service.name')?.value.stringValue ?? '',
  );
}

/**
 * The partition the collector's producer picks for a key: the kafka exporter (franz-go) uses
 * Sarama's hash partitioner, FNV-1a 32 of the key, not the Java client's (and kafkajs's) murmur2.
 */
function collectorPartition(key: string, partitions: number): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(key)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return Math.abs((hash | 0) % partitions);
}

function urlPortOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return portOpen(hostname, Number(port));
}

describe('spans through the collector, Kafka and the ingester', () => {
  const kafka = new Kafka({ clientId: 'e2e-pipeline', brokers: [endpoints.kafkaBroker], logLevel: logLevel.NOTHING });
  const appTopic = `pipeline-${randomUUID().slice(0, 8)}`;
  const records: SpanRecord[] = [];
  let reader: Consumer | undefined;
  let processed: { key: string; traceId: string; spanId: string }[] = [];

  beforeAll(async () => {
    const healthy = await fetch(COLLECTOR_HEALTH, { signal: AbortSignal.timeout(3_000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (!healthy || !(await urlPortOpen(COLLECTOR_OTLP_HTTP))) {
      throw new Error(
        `the span collector is not reachable (${COLLECTOR_HEALTH}, ${COLLECTOR_OTLP_HTTP}). ` +
          'Start it with `scripts/services/ctl up collector` (a plain `ctl up` starts it too).',
      );
    }

    // Read the span topic the way an audit worker does: a consumer group of its own, beside the
    // ingester's, from where the topic ends now (what other tests left there is not ours).
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(SPAN_TOPIC).finally(() => admin.disconnect());
    reader = kafka.consumer({ groupId: `e2e-pipeline-${randomUUID()}`, maxWaitTimeInMs: 200 });
    await reader.connect();
    await reader.subscribe({ topic: SPAN_TOPIC });
    const joined = new Promise<void>((resolve) => reader?.on(reader.events.GROUP_JOIN, () => resolve()));
    await reader.run({
      eachMessage: async ({ partition, message }) => {
        let value: OtlpJson;
        try {
          value = JSON.parse(message.value?.toString('utf8') ?? '') as OtlpJson;
        } catch {
          return; // not otlp_json, so not from the collector: checked below by what is there
        }
        records.push({
          partition,
          offset: message.offset,
          key: message.key?.toString('utf8'),
          bytes: message.value?.length ?? 0,
          value,
        });
      },
    });
    for (const { partition, high } of ends) reader.seek({ topic: SPAN_TOPIC, partition, offset: high });
    await joined;

    const app = startChild(path.join(__dirname, 'fixtures', 'chain.cjs'), {
      serviceName: 'pipeline-app',
      instrumentations: ['kafkajs'],
      env: {
        MQTRAIL_E2E_OTLP_HTTP: COLLECTOR_OTLP_HTTP,
        OTEL_BSP_SCHEDULE_DELAY: '200',
        PIPELINE_TOPIC: appTopic,
        PIPELINE_MESSAGES: String(MESSAGES),
      },
    });
    processed = (await app.result).processed as typeof processed;
  });

  afterAll(async () => {
    await reader?.disconnect();
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: [appTopic] }).catch(() => undefined);
    await admin.disconnect();
  });

  it('the app processed every message, each in a trace of its own', () => {
    expect(processed).toHaveLength(MESSAGES);
    expect(new Set(processed.map((p) => p.traceId)).size).toBe(MESSAGES);
  });

  it("arrives in Jaeger's query API through the ingester", async () => {
    for (const { traceId, spanId } of processed) {
      const trace = await fetchTrace(traceId, 2);
      const names = trace.spans.map((span) => span.operationName);
      expect(names).toContain(`send ${appTopic}`);
      expect(names).toContain(`process ${appTopic}`);
      const processSpan = trace.spans.find((span) => span.spanID === spanId);
      if (processSpan === undefined) throw new Error(`trace ${traceId} lacks the process span ${spanId}`);
      expect(serviceOf(trace, processSpan)).toBe('pipeline-app');
    }
    // The app sent to the collector only, so the store got them from Kafka: the ingester's own
    // group has committed offsets on the span topic.
    const admin = kafka.admin();
    await admin.connect();
    try {
      const committed = await waitFor(
        `committed offsets of group ${INGESTER_GROUP} on ${SPAN_TOPIC}`,
        async () => {
          const [topic] = await admin.fetchOffsets({ groupId: INGESTER_GROUP, topics: [SPAN_TOPIC] });
          const sum = (topic?.partitions ?? []).reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
          return sum > 0 ? sum : undefined;
        },
        { timeoutMs: 15_000 },
      );
      expect(committed).toBeGreaterThan(0);
    } finally {
      await admin.disconnect();
    }
  });

  it(`is on topic ${SPAN_TOPIC} as otlp_json, keyed by trace id, every trace in one partition`, async () => {
    const admin = kafka.admin();
    await admin.connect();
    const metadata = await admin.fetchTopicMetadata({ topics: [SPAN_TOPIC] }).finally(() => admin.disconnect());
    expect(metadata.topics[0]?.partitions).toHaveLength(SPAN_TOPIC_PARTITIONS);

    const traceIds = new Set(processed.map((p) => p.traceId));
    const ours = () => records.filter((r) => spansOf(r.value).some((span) => traceIds.has(span.traceId)));
    // Every trace's send and process span are on the topic (the consumer of the last message may
    // flush a moment after the app printed).
    await waitFor(
      `send and process spans of ${traceIds.size} traces on ${SPAN_TOPIC}`,
      async () => {
        const names = new Map<string, Set<string>>();
        for (const span of ours().flatMap((r) => spansOf(r.value))) {
          names.set(span.traceId, (names.get(span.traceId) ?? new Set()).add(span.name.split(' ')[0] ?? ''));
        }
        const complete = [...traceIds].every((id) => names.get(id)?.has('send') && names.get(id)?.has('process'));
        return complete ? true : undefined;
      },
      { timeoutMs: 20_000 },
    );

    const byTrace = new Map<string, SpanRecord[]>();
    for (const record of ours()) {
      const spans = spansOf(record.value);
      // otlp_json: hex ids, one trace per record, the record's key is that trace id.
      const idsInRecord = new Set(spans.map((span) => span.traceId));
      expect(idsInRecord.size, 'one trace per record').toBe(1);
      const [traceId] = idsInRecord;
      expect(traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(record.key).toBe(traceId);
      for (const span of spans) expect(span.spanId).toMatch(/^[0-9a-f]{16}$/);
      expect(serviceNamesOf(record.value)).toEqual(['pipeline-app']);
      byTrace.set(traceId as string, [...(byTrace.get(traceId as string) ?? []), record]);
    }
    for (const [traceId, traceRecords] of byTrace) {
      const partitions = new Set(traceRecords.map((r) => r.partition));
      expect([...partitions], `partitions of trace ${traceId}`).toEqual([
        collectorPartition(traceId, SPAN_TOPIC_PARTITIONS),
      ]);
    }
    // The fixture exports each trace's send spans before its process spans exist, so a trace
    // reaches the topic in more than one record, and the key still holds it in one partition.
    expect([...byTrace.values()].some((traceRecords) => traceRecords.length > 1)).toBe(true);

    const spans = ours().flatMap((r) => spansOf(r.value));
    const bytes = ours().reduce((n, r) => n + r.bytes, 0);
    console.log(
      `${SPAN_TOPIC}: ${ours().length} records, ${spans.length} spans, ${bytes} bytes of otlp_json ` +
        `(${Math.round(bytes / spans.length)} bytes per span, uncompressed)`,
    );
  });
});
