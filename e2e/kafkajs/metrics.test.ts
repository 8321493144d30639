import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Child } from '../support/child';
import { type PromSample, query, waitForSeries } from '../support/prometheus';
import { waitFor } from '../support/wait';
import { createTopics, deleteTopics, leaseMetricsPort, runFixture, unique, waitForOwnMetrics } from './support';

const MESSAGES = 20;

/** Label names a metric point may carry: bounded ones only, and what Prometheus and the exporter add. */
const ALLOWED_LABELS = new Set([
  '__name__',
  'job',
  'instance',
  'le',
  'otel_scope_name',
  'otel_scope_version',
  'otel_scope_schema_url',
  'messaging_system',
  'messaging_operation_name',
  'messaging_destination_name',
  'messaging_destination_partition_id',
  'messaging_consumer_group_name',
  'error_type',
  'mqtrail_settle_outcome',
]);

/**
 * Waits until `expression` has a sample satisfying `accept`; returns that sample's value. Counts
 * are awaited until they reach what is expected: a scrape may land while the fixture still works.
 */
async function sampleValue(expression: string, accept: (value: number) => boolean = () => true): Promise<number> {
  return waitFor(`${expression} in Prometheus`, async () => {
    const [sample] = await query(expression);
    const value = sample === undefined ? undefined : Number(sample.value[1]);
    return value !== undefined && accept(value) ? value : undefined;
  });
}

// One producer and two consumer groups, each its own process exposing metrics on a port Prometheus
// scrapes. The replaying group reads the topic, seeks back to the start and reads it again; the
// lagging group fetches small batches and stops after its first message. Every process stays up
// (LINGER) until the assertions are done, so what is asserted is what Prometheus scraped.
describe('kafkajs: metrics in Prometheus', () => {
  const topic = unique('metrics');
  const replayGroup = unique('metrics-replay');
  const lagGroup = unique('metrics-lag');
  const children: Child[] = [];
  const leases: { release: () => void }[] = [];

  async function start(script: string, env: Record<string, string>, marker: string): Promise<void> {
    const lease = await leaseMetricsPort();
    leases.push(lease);
    const child = runFixture(script, env, { serviceName: unique('kafkajs-metrics'), metricsPort: lease.port });
    children.push(child);
    await child.firstMessage;
    await waitForOwnMetrics(lease.port, marker);
  }

  beforeAll(async () => {
    await createTopics([topic]);
    // One send per message: each is its own record batch, so a small fetch really gets few messages.
    await start('produce.cjs', { TOPIC: topic, SEND_API: 'sendEach', MESSAGES: String(MESSAGES), LINGER: '1' }, topic);
    await Promise.all([
      start(
        'consume.cjs',
        { TOPICS: topic, GROUP: replayGroup, MESSAGES: String(MESSAGES), REPLAY: '1', LINGER: '1' },
        replayGroup,
      ),
      start(
        'consume.cjs',
        { TOPICS: topic, GROUP: lagGroup, MESSAGES: String(MESSAGES), PAUSE_AFTER: '1', MAX_BYTES: '64', LINGER: '1' },
        lagGroup,
      ),
    ]);
  });
  afterAll(async () => {
    for (const child of children) child.process.kill('SIGTERM');
    await Promise.allSettled(children.map((child) => child.result));
    for (const lease of leases) lease.release();
    await deleteTopics([topic]);
  });

  const of = (labels: string) => `{messaging_destination_name="${topic}",${labels}}`;

  it('counts sent messages and times each send call', async () => {
    const atLeast = (n: number) => (value: number) => value >= n;
    expect(
      await sampleValue(`messaging_client_sent_messages_total${of('messaging_system="kafka"')}`, atLeast(MESSAGES)),
    ).toBe(MESSAGES);
    const sends = await sampleValue(
      `messaging_client_operation_duration_count${of('messaging_operation_name="send"')}`,
      atLeast(MESSAGES),
    );
    expect(sends).toBe(MESSAGES);
    const buckets = await waitForSeries(`messaging_client_operation_duration_bucket${of('messaging_system="kafka"')}`);
    expect(buckets.map((sample) => sample.metric.le)).toContain('0.005');
  });

  it('counts consumed messages, processing time and delivery latency per consumer group', async () => {
    const group = `messaging_consumer_group_name="${replayGroup}"`;
    expect(await sampleValue(`messaging_client_consumed_messages_total${of(group)}`, (v) => v >= 2 * MESSAGES)).toBe(
      2 * MESSAGES,
    );
    expect(await sampleValue(`messaging_process_duration_count${of(group)}`, (v) => v >= 2 * MESSAGES)).toBe(
      2 * MESSAGES,
    );
    expect(await sampleValue(`mqtrail_delivery_latency_count${of(group)}`, (v) => v >= 2 * MESSAGES)).toBe(
      2 * MESSAGES,
    );
    expect(await sampleValue(`mqtrail_chain_latency_count${of(group)}`, (v) => v >= 2 * MESSAGES)).toBe(2 * MESSAGES);
    const buckets = await waitForSeries(`messaging_process_duration_bucket${of(group)}`);
    expect(buckets.length).toBeGreaterThan(1);
  });

  it('counts the replay after a seek back as duplicates', async () => {
    const group = `messaging_consumer_group_name="${replayGroup}"`;
    expect(await sampleValue(`mqtrail_duplicate_messages_total${of(group)}`, (v) => v >= MESSAGES)).toBe(MESSAGES);
  });

  it('counts offset commits as settled messages', async () => {
    const settled = `mqtrail_settled_messages_total${of(`messaging_consumer_group_name="${replayGroup}",mqtrail_settle_outcome="commit"`)}`;
    // Both passes end in a commit (kafkajs commits the seek itself, then the replayed offsets).
    expect(await sampleValue(settled, (value) => value >= 2 * MESSAGES)).toBe(2 * MESSAGES);
  });

  it('shows lag for the group that fell behind, and none for the one that caught up', async () => {
    const behind = await sampleValue(
      `mqtrail_kafka_consumer_lag${of(`messaging_consumer_group_name="${lagGroup}",messaging_destination_partition_id="0"`)}`,
    );
    expect(behind).toBeGreaterThan(0);
    expect(behind).toBeLessThan(MESSAGES);
    expect(
      await sampleValue(
        `mqtrail_kafka_consumer_lag${of(`messaging_consumer_group_name="${replayGroup}"`)}`,
        (v) => v === 0,
      ),
    ).toBe(0);
  });

  it('uses only bounded labels: no offset, key or message id', async () => {
    const series: PromSample[] = await query(`{messaging_destination_name="${topic}"}`);
    const names = new Set(series.map((sample) => sample.metric.__name__));
    expect(names).toEqual(
      new Set([
        'messaging_client_sent_messages_total',
        'messaging_client_operation_duration_count',
        'messaging_client_operation_duration_sum',
        'messaging_client_operation_duration_bucket',
        'messaging_client_consumed_messages_total',
        'messaging_process_duration_count',
        'messaging_process_duration_sum',
        'messaging_process_duration_bucket',
        'mqtrail_delivery_latency_count',
        'mqtrail_delivery_latency_sum',
        'mqtrail_delivery_latency_bucket',
        'mqtrail_chain_latency_count',
        'mqtrail_chain_latency_sum',
        'mqtrail_chain_latency_bucket',
        'mqtrail_duplicate_messages_total',
        'mqtrail_settled_messages_total',
        'mqtrail_kafka_consumer_lag',
      ]),
    );
    for (const sample of series) {
      const unexpected = Object.keys(sample.metric).filter((label) => !ALLOWED_LABELS.has(label));
      expect(unexpected, `labels of ${sample.metric.__name__}`).toEqual([]);
    }
  });
});
