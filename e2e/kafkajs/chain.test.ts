import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Child } from '../support/child';
import { serviceOf, tagOf } from '../support/jaeger';
import { waitForSeries } from '../support/prometheus';
import {
  createTopics,
  deleteTopics,
  type Handled,
  handledOf,
  leaseMetricsPort,
  referencesOf,
  runFixture,
  sendSpanOf,
  spanById,
  traceWithSpan,
  unique,
  waitForOwnMetrics,
} from './support';

const MESSAGES = 3;

// producer → topic A → relay (consumes A, sends to B from inside its handler) → topic B → final:
// three OS processes, one trace per message, and the chain facts carried in the mqtrail header.
describe('kafkajs: a consumption chain across three processes', () => {
  const first = unique('chain-a');
  const second = unique('chain-b');
  const services = { producer: unique('chain-producer'), relay: unique('chain-relay'), final: unique('chain-final') };
  const finalGroup = unique('chain-final');
  let final: Child;
  let handled: Handled[];
  let metrics: { port: number; release: () => void };

  beforeAll(async () => {
    await createTopics([first, second]);
    await runFixture('produce.cjs', { TOPIC: first, MESSAGES: String(MESSAGES) }, { serviceName: services.producer })
      .result;
    await runFixture(
      'consume.cjs',
      { TOPICS: first, GROUP: unique('chain-relay'), MESSAGES: String(MESSAGES), RELAY_TOPIC: second },
      { serviceName: services.relay },
    ).result;
    metrics = await leaseMetricsPort();
    final = runFixture(
      'consume.cjs',
      { TOPICS: second, GROUP: finalGroup, MESSAGES: String(MESSAGES), LINGER: '1' },
      { serviceName: services.final, metricsPort: metrics.port },
    );
    handled = handledOf(await final.firstMessage);
  });
  afterAll(async () => {
    final?.process.kill('SIGTERM');
    await final?.result.catch(() => {});
    metrics?.release();
    await deleteTopics([first, second]);
  });

  it('makes each message one trace of send → process → send → process over three services', async () => {
    expect(handled).toHaveLength(MESSAGES);
    for (const message of handled) {
      const lastSend = sendSpanOf(message);
      const lastProcess = message.span?.spanId ?? '';
      const trace = await traceWithSpan(lastSend.traceId, lastProcess, 4);
      expect(trace.spans.length).toBeGreaterThanOrEqual(4);

      const finalProcess = spanById(trace, lastProcess);
      expect(finalProcess.operationName).toBe(`process ${second}`);
      expect(tagOf(finalProcess, 'mqtrail.chain.hops')).toBe(2);
      expect(referencesOf(finalProcess, 'CHILD_OF')).toEqual([lastSend.spanId]);

      const relaySend = spanById(trace, lastSend.spanId);
      expect(relaySend.operationName).toBe(`send ${second}`);
      const [relayProcessId] = referencesOf(relaySend, 'CHILD_OF');
      const relayProcess = spanById(trace, relayProcessId ?? '');
      expect(relayProcess.operationName).toBe(`process ${first}`);
      expect(tagOf(relayProcess, 'mqtrail.chain.hops')).toBe(1);
      const [firstSendId] = referencesOf(relayProcess, 'CHILD_OF');
      const firstSend = spanById(trace, firstSendId ?? '');
      expect(firstSend.operationName).toBe(`send ${first}`);

      expect(serviceOf(trace, firstSend)).toBe(services.producer);
      expect(serviceOf(trace, relayProcess)).toBe(services.relay);
      expect(serviceOf(trace, relaySend)).toBe(services.relay);
      expect(serviceOf(trace, finalProcess)).toBe(services.final);
    }
  });

  it('records the chain latency of the last hop in Prometheus', async () => {
    // The final consumer is done but still running (it waits for SIGTERM) while Prometheus scrapes it.
    await waitForOwnMetrics(metrics.port, finalGroup);
    const series = await waitForSeries(
      `mqtrail_chain_latency_count{messaging_destination_name="${second}",messaging_consumer_group_name="${finalGroup}"}`,
    );
    expect(Number(series[0]?.value[1])).toBe(MESSAGES);
    const buckets = await waitForSeries(`mqtrail_chain_latency_bucket{messaging_destination_name="${second}"}`);
    expect(buckets.length).toBeGreaterThan(1);
  });
});

// Issue 15: `MQTRAIL_CHAIN_HEADER=false` in the producer puts trace context only on the wire; the
// trace still links end to end, and the consumer starts a chain of its own (hop 1).
describe('kafkajs: trace context only, with MQTRAIL_CHAIN_HEADER=false', () => {
  const topic = unique('no-chain');
  const services = { producer: unique('no-chain-producer'), consumer: unique('no-chain-consumer') };
  let handled: Handled[];

  beforeAll(async () => {
    await createTopics([topic]);
    await runFixture(
      'produce.cjs',
      { TOPIC: topic, MESSAGES: '1', MQTRAIL_CHAIN_HEADER: 'false' },
      { serviceName: services.producer },
    ).result;
    handled = handledOf(
      await runFixture(
        'consume.cjs',
        { TOPICS: topic, GROUP: unique('no-chain'), MESSAGES: '1' },
        { serviceName: services.consumer },
      ).result,
    );
  });
  afterAll(async () => {
    await deleteTopics([topic]);
  });

  it('delivers the record with traceparent as the only added header, and the trace still links', async () => {
    const [message] = handled;
    expect(message?.headerKeys).toEqual(['traceparent']);
    const send = sendSpanOf(message as Handled);
    const trace = await traceWithSpan(send.traceId, message?.span?.spanId ?? '', 2);
    const process = spanById(trace, message?.span?.spanId ?? '');
    expect(referencesOf(process, 'CHILD_OF')).toEqual([send.spanId]);
    expect(tagOf(process, 'mqtrail.chain.hops')).toBe(1);
    expect(serviceOf(trace, spanById(trace, send.spanId))).toBe(services.producer);
  });
});
