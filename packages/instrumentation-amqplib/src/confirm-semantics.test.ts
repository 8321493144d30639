import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { type AmqpChannel, APIS, type Api, type Harness, harness, until, VARIANTS } from './test-support/amqplib';

const QUEUE = 'orders';

/** What the application can observe of a confirm channel: each callback's answer, waitForConfirms, the window. */
interface Observed {
  callbacks: (string | null)[];
  waited: string;
  /** amqplib's per-message slots (`false` for a publish without callback) right after publishing. */
  slots: string[];
}

/**
 * How `waitForConfirms` ends. The callback API of amqplib before 2.3 never calls back once a
 * channel closed with `false` slots left, so "still pending" after a while is an outcome too.
 */
function waitForConfirms(api: Api, channel: AmqpChannel): Promise<string> {
  return new Promise<string>((resolve) => {
    const settle = (error: unknown) => resolve(error ? `rejected: ${(error as Error).message}` : 'resolved');
    setTimeout(() => resolve('still pending'), 100);
    const wait = channel.waitForConfirms as (callback?: (error: unknown) => void) => unknown;
    if (api.name === 'promise') (wait.call(channel) as Promise<unknown>).then(() => settle(null), settle);
    else wait.call(channel, settle);
  });
}

function slotsOf(channel: AmqpChannel): string[] {
  return ((channel as unknown as { unconfirmed: unknown[] }).unconfirmed ?? []).map((slot) => typeof slot);
}

/**
 * Publishes two messages with and two without a callback on a confirm channel, lets `end` answer
 * them (an ack, a nack or a close), then waits for confirms: everything the caller sees.
 */
async function runScenario(
  h: Harness,
  api: Api,
  answer: 'ack' | 'nack' | 'none',
  end: (channel: AmqpChannel) => Promise<void>,
): Promise<Observed> {
  h.broker.confirmMode = answer;
  h.broker.declare(QUEUE);
  const channel = await api.open(h.loaded, h.connection, true);
  channel.on('error', () => {});
  const callbacks: (string | null)[] = [];
  const answered = [0, 1].map(
    (i) =>
      new Promise<void>((resolve) => {
        channel.publish?.('', QUEUE, Buffer.from(`with ${i}`), {}, (error: unknown) => {
          callbacks[i] = error ? (error as Error).message : null;
          resolve();
        });
      }),
  );
  channel.sendToQueue?.(QUEUE, Buffer.from('without 1'));
  channel.publish?.('', QUEUE, Buffer.from('without 2'), { headers: { app: 'x' } });
  const slots = slotsOf(channel);
  await end(channel);
  const waited = await waitForConfirms(api, channel);
  await Promise.all(answered);
  return { callbacks, waited, slots };
}

/** The same scenario without mqtrail: setUp gives a fresh broker and connection, tearDown unpatches. */
async function uninstrumented(h: Harness, run: () => Promise<Observed>): Promise<Observed> {
  h.setUp();
  h.tearDown();
  return run();
}

const closeChannel = (api: Api) => (channel: AmqpChannel) => api.close(channel);
const settleAll = async () => new Promise<void>((resolve) => setTimeout(resolve, 5));

// Issue 15: before 2.2.1 amqplib drops every function slot when a channel closes, so a callback of
// mqtrail's in a publish's slot made `waitForConfirms` resolve for messages never confirmed.
describe.each(VARIANTS)('$label', (variant) => {
  const h = harness(variant);
  afterEach(() => h.tearDown());

  describe.each(APIS)('$name API, confirm channel', (api) => {
    it('leaves waitForConfirms after a close rejecting exactly as without mqtrail, callbacks answered the same', async () => {
      const run = () => runScenario(h, api, 'none', closeChannel(api));
      const without = await uninstrumented(h, run);
      h.setUp();
      const withMqtrail = await run();

      expect(withMqtrail).toEqual(without);
      expect(without.slots).toEqual(['function', 'function', 'boolean', 'boolean']);
      const sends = h.telemetry.spans().filter((span) => span.name === `send ${QUEUE}`);
      expect(sends).toHaveLength(4);
      for (const send of sends) expect(send.attributes['error.type']).toBe('ChannelClosedError');
      expect(h.telemetry.openSpans()).toBe(0);
    });

    it('hands broker nacks to callbacks and waitForConfirms unchanged, and records them', async () => {
      const run = () => runScenario(h, api, 'nack', settleAll);
      const without = await uninstrumented(h, run);
      h.setUp();
      const withMqtrail = await run();

      expect(withMqtrail).toEqual(without);
      expect(without.callbacks).toEqual(['message nacked', 'message nacked']);
      await until(() => h.telemetry.openSpans() === 0, 'every send span ended');
      const sends = h.telemetry.spans().filter((span) => span.name === `send ${QUEUE}`);
      expect(sends.map((send) => send.attributes['error.type'])).toEqual(Array(4).fill('PublishNackedError'));
    });

    it('ends every span a multiple ack confirms, with or without a callback', async () => {
      h.setUp();
      const observed = await runScenario(h, api, 'none', async (channel) => {
        expect(h.telemetry.openSpans()).toBe(4);
        // basic.ack with multiple=true: the broker confirms tags 1..3 at once, then 4.
        const frame = (deliveryTag: number, multiple: boolean) => ({
          id: (h.loaded.defs as unknown as { BasicAck: number }).BasicAck,
          channel: (channel as unknown as { ch: number }).ch,
          fields: { deliveryTag, multiple },
        });
        const ack = (deliveryTag: number, multiple: boolean) =>
          (channel as unknown as { accept(f: object): void }).accept(frame(deliveryTag, multiple));
        ack(3, true);
        expect(h.telemetry.openSpans()).toBe(1);
        ack(4, false);
      });

      expect(observed.callbacks).toEqual([null, null]);
      expect(observed.waited).toBe('resolved');
      const sends = h.telemetry.spans().filter((span) => span.name === `send ${QUEUE}`);
      expect(sends.map((send) => send.status.code)).toEqual(Array(4).fill(SpanStatusCode.UNSET));
      expect(h.telemetry.openSpans()).toBe(0);
    });
  });
});
