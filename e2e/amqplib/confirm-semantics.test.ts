import { afterAll, describe, expect, it } from 'vitest';
import { fetchTrace } from '../support/jaeger';
import {
  type AmqplibApi,
  type AmqplibModule,
  cleanUp,
  declare,
  killLeftovers,
  type QueueSpec,
  runFixture,
  tag,
  unique,
} from './support';

// Issue 15: a confirm channel must answer the application exactly as it does without mqtrail when
// confirms never come (the socket dies, the channel closes) or come as nacks — on every amqplib
// line mqtrail supports, with both APIs, for publishes with and without a per-message callback.
// Before the fix, on amqplib < 2.2.1 waitForConfirms resolved after the socket died.
const lines: AmqplibModule[] = ['amqplib-0.10', 'amqplib-1', 'amqplib-2.2', 'amqplib'];
const apis: AmqplibApi[] = ['promise', 'callback'];
type Scenario = 'socket-lost' | 'channel-close' | 'nack';

interface Report {
  traceId: string;
  slots: string[];
  callbacks: (string | null)[];
  waitForConfirms: string;
  errors: string[];
}

/** A queue that takes one message and nacks every further publish (`nack`), or a plain one. */
function queueFor(scenario: Scenario, name: string): QueueSpec {
  if (scenario !== 'nack') return { queue: name };
  return { queue: name, arguments: { 'x-max-length': 1, 'x-overflow': 'reject-publish' } };
}

const declared: QueueSpec[] = [];

async function runOnce(
  module: AmqplibModule,
  api: AmqplibApi,
  scenario: Scenario,
  instrumented: boolean,
): Promise<Report> {
  const spec = queueFor(scenario, unique(`confirm-${scenario}`));
  await declare([spec]);
  declared.push(spec);
  const child = runFixture(
    'confirm-semantics.cjs',
    { AMQPLIB: module, API: api, QUEUE: spec.queue, SCENARIO: scenario },
    { serviceName: unique('confirm-semantics'), instrumentations: instrumented ? ['amqplib'] : [] },
  );
  return (await child.result) as unknown as Report;
}

afterAll(async () => {
  killLeftovers();
  await cleanUp(declared);
});

describe.each(lines)('%s', (module) => {
  describe.each(apis)('%s API', (api) => {
    it.each<Scenario>(['socket-lost', 'channel-close', 'nack'])(
      '%s: the application sees what it sees without mqtrail',
      async (scenario) => {
        const [without, withMqtrail] = await Promise.all([
          runOnce(module, api, scenario, false),
          runOnce(module, api, scenario, true),
        ]);
        const { traceId, ...seen } = withMqtrail;
        const { traceId: _, ...seenWithout } = without;
        expect(seen).toEqual(seenWithout);
        // A publish without a callback stays `false` in amqplib's window: what waitForConfirms reads.
        expect(seen.slots).toEqual(['function', 'function', 'boolean', 'boolean']);

        // Every send span ended (only ended spans are exported), each with the broker's answer.
        const trace = await fetchTrace(traceId, 5);
        const sends = trace.spans.filter((span) => span.operationName.startsWith('send '));
        expect(sends).toHaveLength(4);
        const errorTypes = sends.map((span) => tag(span, 'error.type') ?? null).sort();
        if (scenario === 'socket-lost') expect(errorTypes).toEqual(Array(4).fill('ChannelClosedError'));
        if (scenario === 'nack')
          expect(errorTypes).toEqual(['PublishNackedError', 'PublishNackedError', 'PublishNackedError', null]);
        if (scenario === 'nack') expect(seen.callbacks).toEqual([null, 'message nacked']);
      },
    );
  });
});
