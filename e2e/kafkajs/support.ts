import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { type Child, type ChildOptions, startChild } from '../support/child';
import { endpoints } from '../support/endpoints';
import { fetchTrace, type JaegerSpan, type JaegerTrace } from '../support/jaeger';
import { waitFor } from '../support/wait';

/** A name no earlier run used: topics, groups and services are never shared between tests. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

const admin = () => new Kafka({ clientId: 'e2e-admin', brokers: [endpoints.kafkaBroker], logLevel: logLevel.NOTHING });

/** Creates the topics and waits for their leaders, so consumers never race topic auto-creation. */
export async function createTopics(topics: string[], numPartitions = 1): Promise<void> {
  const client = admin().admin();
  await client.connect();
  try {
    await client.createTopics({ topics: topics.map((topic) => ({ topic, numPartitions })), waitForLeaders: true });
  } finally {
    await client.disconnect();
  }
}

export async function deleteTopics(topics: string[]): Promise<void> {
  const client = admin().admin();
  await client.connect();
  await client.deleteTopics({ topics }).catch(() => {});
  await client.disconnect();
}

/** Every variable a fixture reads; blanked unless the test sets it, so the test runner's own environment never leaks in. */
const FIXTURE_VARIABLES = [
  'TOPIC',
  'TOPICS',
  'GROUP',
  'MESSAGES',
  'SEND_API',
  'CONSUME_API',
  'RELAY_TOPIC',
  'REPLAY',
  'PAUSE_AFTER',
  'MAX_BYTES',
  'LINGER',
];

/** Runs a fixture from ./fixtures in its own process, instrumented with mqtrail's kafkajs instrumentation. */
export function runFixture(
  script: string,
  env: Record<string, string>,
  options: Partial<ChildOptions> & { serviceName: string },
): Child {
  const blank = Object.fromEntries(FIXTURE_VARIABLES.map((name) => [name, '']));
  return startChild(path.join(__dirname, 'fixtures', script), {
    instrumentations: ['kafkajs'],
    ...options,
    env: { ...blank, ...env },
  });
}

/** What consume.cjs reports per handled message. */
export interface Handled {
  topic: string;
  offset: string;
  value: string;
  traceparent: string | undefined;
  /** The record's header names as kafkajs delivered them, sorted. */
  headerKeys: string[];
  span: { traceId: string; spanId: string } | undefined;
  batchSpan?: { traceId: string; spanId: string };
}

export function handledOf(result: Record<string, unknown>): Handled[] {
  return result.handled as Handled[];
}

/** Trace id and span id of the `send` span a message carried in its traceparent. */
export function sendSpanOf(message: Handled): { traceId: string; spanId: string } {
  const [, traceId, spanId] = message.traceparent?.split('-') ?? [];
  if (traceId === undefined || spanId === undefined) throw new Error(`message ${message.value} carried no traceparent`);
  return { traceId, spanId };
}

/** The trace holding `spanId`, once Jaeger has it with at least `minSpans` spans. */
export async function traceWithSpan(traceId: string, spanId: string, minSpans = 1): Promise<JaegerTrace> {
  return waitFor(`span ${spanId} in trace ${traceId}`, async () => {
    const trace = await fetchTrace(traceId, minSpans);
    return trace.spans.some((span) => span.spanID === spanId) ? trace : undefined;
  });
}

export function spanById(trace: JaegerTrace, spanId: string): JaegerSpan {
  const span = trace.spans.find((candidate) => candidate.spanID === spanId);
  if (span === undefined) throw new Error(`span ${spanId} not in trace ${trace.traceID}`);
  return span;
}

export function referencesOf(span: JaegerSpan, refType: 'CHILD_OF' | 'FOLLOWS_FROM'): string[] {
  return span.references.filter((reference) => reference.refType === refType).map((reference) => reference.spanID);
}

export { leaseMetricsPort, waitForOwnMetrics } from '../support/metrics-port';
