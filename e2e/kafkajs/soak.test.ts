import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, runFixture, unique } from './support';

const MESSAGES = 10_000;
/** Heap a clean run may gain between the warm-up mark and the end: duplicate-window entries filling to their cap. */
const HEAP_TOLERANCE_BYTES = 4 * 1024 * 1024;

// Ten thousand messages through a real broker. The fixtures register the instrumentation on a
// tracer provider that only counts spans (nothing exported), and the consumer measures its heap
// after full GCs: every span must end, and no per-message state may stay behind.
describe('kafkajs: 10,000 messages', () => {
  const topic = unique('soak');
  let producer: Record<string, unknown>;
  let consumer: Record<string, unknown>;

  beforeAll(async () => {
    await createTopics([topic]);
    producer = await runFixture(
      'soak-produce.cjs',
      { TOPIC: topic, MESSAGES: String(MESSAGES) },
      { serviceName: unique('soak-producer'), instrumentations: [] },
    ).result;
    consumer = await runFixture(
      'soak-consume.cjs',
      { TOPIC: topic, GROUP: unique('soak'), MESSAGES: String(MESSAGES) },
      { serviceName: unique('soak-consumer'), instrumentations: [], nodeArgs: ['--expose-gc'] },
    ).result;
  });
  afterAll(() => deleteTopics([topic]));

  it('ends every send span', () => {
    expect(producer).toMatchObject({ sent: MESSAGES, started: MESSAGES, ended: MESSAGES });
  });

  it('ends every process span', () => {
    expect(consumer).toMatchObject({ handled: MESSAGES, started: MESSAGES, ended: MESSAGES });
  });

  it('returns the consumer heap to its warm-up baseline', () => {
    const { baseline, final } = consumer as { baseline: number; final: number };
    expect(baseline).toBeGreaterThan(0);
    expect(final - baseline).toBeLessThan(HEAP_TOLERANCE_BYTES);
  });
});
