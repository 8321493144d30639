import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import { type Child, type ChildOptions, startChild } from '../support/child';
import { endpoints } from '../support/endpoints';
import type { JaegerSpan, JaegerTrace } from '../support/jaeger';
import { tagOf } from '../support/jaeger';

/** A name no earlier run used: queues, exchanges and services are never shared between tests. */
export function unique(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/** The amqplib versions and APIs the fixtures can run as (see fixtures/common.cjs). */
export type AmqplibModule = 'amqplib' | 'amqplib-0.10' | 'amqplib-1' | 'amqplib-2.2';
export type AmqplibApi = 'promise' | 'callback';

export interface QueueSpec {
  queue: string;
  /** Queue arguments, e.g. a dead-letter exchange. */
  arguments?: Record<string, unknown>;
  /** Binds the queue to this fanout exchange (declared too). */
  exchange?: string;
}

/** Declares queues (and exchanges) from the test process, with a plain, uninstrumented client. */
export async function declare(specs: QueueSpec[], url: string = endpoints.amqpUrl): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const spec of specs) {
      await channel.assertQueue(spec.queue, { durable: false, arguments: spec.arguments });
      if (spec.exchange !== undefined) {
        await channel.assertExchange(spec.exchange, 'fanout', { durable: false, autoDelete: false });
        await channel.bindQueue(spec.queue, spec.exchange, '');
      }
    }
  } finally {
    await connection.close();
  }
}

export async function cleanUp(specs: QueueSpec[]): Promise<void> {
  const connection = await amqp.connect(endpoints.amqpUrl);
  try {
    const channel = await connection.createChannel();
    for (const spec of specs) {
      await channel.deleteQueue(spec.queue);
      if (spec.exchange !== undefined) await channel.deleteExchange(spec.exchange);
    }
  } finally {
    await connection.close().catch(() => {});
  }
}

const running = new Set<Child>();

/** Runs a fixture from ./fixtures in its own process, instrumented with mqtrail's amqplib instrumentation. */
export function runFixture(
  script: string,
  env: Record<string, string>,
  options: Partial<ChildOptions> & { serviceName: string },
): Child {
  const child = startChild(path.join(__dirname, 'fixtures', script), {
    instrumentations: ['amqplib'],
    ...options,
    env: { AMQP_URL: endpoints.amqpUrl, ...env },
  });
  running.add(child);
  child.process.once('exit', () => running.delete(child));
  // A test that fails early never awaits the result; its rejection is the test's failure, not an
  // unhandled error of the run.
  child.result.catch(() => {});
  return child;
}

/** Kills fixtures a failed test left running, so no process outlives its suite. */
export function killLeftovers(): void {
  for (const child of running) child.process.kill('SIGKILL');
  running.clear();
}

/** What consumer.cjs reports per handled delivery. */
export interface Handled {
  queue: string;
  redelivered: boolean;
  traceparent: string;
  span?: { traceId: string; spanId: string };
}

export function handledOf(result: Record<string, unknown>): Handled[] {
  return result.handled as Handled[];
}

export function tracesOf(result: Record<string, unknown>): Record<string, string> {
  return result.traces as Record<string, string>;
}

/** The one span of the trace with this operation name (and service, when given). */
export function spanNamed(trace: JaegerTrace, name: string, service?: string): JaegerSpan {
  const found = trace.spans.filter(
    (span) =>
      span.operationName === name &&
      (service === undefined || trace.processes[span.processID]?.serviceName === service),
  );
  if (found.length !== 1) {
    const names = trace.spans.map((span) => `${span.operationName}@${trace.processes[span.processID]?.serviceName}`);
    throw new Error(
      `expected one span "${name}"${service ? ` of ${service}` : ''}, found ${found.length}: ${names.join(', ')}`,
    );
  }
  return found[0] as JaegerSpan;
}

export function spansNamed(trace: JaegerTrace, name: string): JaegerSpan[] {
  return trace.spans.filter((span) => span.operationName === name);
}

/** The span id this span is CHILD_OF, per Jaeger's references. */
export function parentOf(span: JaegerSpan): string | undefined {
  return span.references.find((reference) => reference.refType === 'CHILD_OF')?.spanID;
}

export function tag(span: JaegerSpan, key: string): unknown {
  return tagOf(span, key);
}

/** Runs `rabbitmqctl` against the broker scripts/services started, through its `ctl` passthrough. */
export async function rabbitmqctl(...args: string[]): Promise<string> {
  const ctl = path.join(__dirname, '..', '..', 'scripts', 'services', 'ctl');
  const { stdout } = await promisify(execFile)(ctl, ['rabbitmqctl', ...args], { timeout: 60_000 });
  return stdout;
}

export { leaseMetricsPort, waitForOwnMetrics } from '../support/metrics-port';
