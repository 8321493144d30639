import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanUp, declare, killLeftovers, runFixture, unique } from './support';

// 10,000 messages consumed without acking, then acked, in a real consumer process: every span
// ends with its ack, none stays open, and the heap returns to where it started.
const COUNT = 10_000;
const MiB = 1024 * 1024;

interface Spans {
  started: number;
  ended: number;
  open: number;
  outcomes: Record<string, number>;
}

describe('10,000 unacked messages, then acked', () => {
  const run = unique('memory');
  const queue = `${run}-bulk`;

  beforeAll(() => declare([{ queue }]));
  afterAll(async () => {
    killLeftovers();
    await cleanUp([{ queue }]);
  });

  it('keeps memory bounded and leaves no span open', async () => {
    const publishing = runFixture(
      'bulk-producer.cjs',
      { QUEUE: queue, COUNT: String(COUNT), EXPORT: '0' },
      { serviceName: `amqp-bulk-${run}`, instrumentations: [] },
    );
    expect((await publishing.result).published).toBe(COUNT);

    const consuming = runFixture(
      'memory.cjs',
      { QUEUE: queue, EXPECT: String(COUNT), EXPORT: '0' },
      { serviceName: `amqp-memory-${run}`, instrumentations: [], nodeArgs: ['--expose-gc'] },
    );
    const result = await consuming.result;
    const held = result.spansWhileHeld as Spans;
    const spans = result.spans as Spans;
    const { baseline, whileHeld, after } = result as { baseline: number; whileHeld: number; after: number };

    // While held, every delivery's span is open, waiting for its ack.
    expect(held.open).toBe(COUNT);
    expect(spans.open).toBe(0);
    expect(spans.ended).toBe(spans.started);
    expect(spans.outcomes).toEqual({ ack: COUNT });
    // Open spans and the messages the app holds cost memory while held (about 3 KiB each here),
    // boundedly. After the acks what stays is fixed-size: the duplicate detector's window (at most
    // 10,000 short ids) and the metric series; 10,000 leaked spans alone would be over 10 MiB.
    expect(whileHeld - baseline).toBeLessThan(100 * MiB);
    expect(after - baseline).toBeLessThan(8 * MiB);
  });
});
