import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { endpoints } from '../support/endpoints';
import { fetchTrace, type JaegerTrace } from '../support/jaeger';
import {
  type AmqplibApi,
  type AmqplibModule,
  cleanUp,
  declare,
  type Handled,
  handledOf,
  killLeftovers,
  parentOf,
  runFixture,
  spanNamed,
  tag,
  tracesOf,
  unique,
} from './support';

// A consumer's `process` span is CHILD_OF the `send` span of the message it processes, in Jaeger,
// across two OS processes — for sendToQueue, publish to an exchange and a confirm channel, with
// the promise and the callback API, on amqplib 0.10.9 and the latest 2.x.
// Producers connect by host name: `server.address` must then be that name, read from the URL
// `connect` was given (with credentials dropped), not the socket's IP address.
const producerUrl = (() => {
  const url = new URL(endpoints.amqpUrl);
  if (url.hostname === '127.0.0.1') url.hostname = 'localhost';
  return url;
})();

const matrix: { module: AmqplibModule; api: AmqplibApi }[] = [
  { module: 'amqplib', api: 'promise' },
  { module: 'amqplib', api: 'callback' },
  { module: 'amqplib-0.10', api: 'promise' },
  { module: 'amqplib-0.10', api: 'callback' },
];

describe.each(matrix)('$module, $api API', ({ module, api }) => {
  const run = unique(`${module}-${api}`);
  const queues = {
    sendToQueue: { queue: `${run}-direct` },
    publish: { queue: `${run}-bound`, exchange: `${run}-exchange` },
    confirm: { queue: `${run}-confirmed` },
  };
  const producer = `amqp-producer-${run}`;
  const consumer = `amqp-consumer-${run}`;
  let traces: Record<string, string>;
  let handled: Handled[];

  beforeAll(async () => {
    await declare(Object.values(queues));
    const env = { AMQPLIB: module, API: api };
    const consuming = runFixture(
      'consumer.cjs',
      { ...env, PLAN: JSON.stringify(Object.values(queues).map(({ queue }) => ({ queue, settle: 'ack', expect: 1 }))) },
      { serviceName: consumer },
    );
    await consuming.firstMessage;
    const producing = runFixture(
      'producer.cjs',
      {
        ...env,
        AMQP_URL: producerUrl.toString(),
        MESSAGES: JSON.stringify([
          { key: 'sendToQueue', via: 'sendToQueue', queue: queues.sendToQueue.queue },
          { key: 'publish', via: 'publish', exchange: queues.publish.exchange, routingKey: 'order.created' },
          { key: 'confirm', via: 'confirm', queue: queues.confirm.queue },
        ]),
      },
      { serviceName: producer },
    );
    traces = tracesOf(await producing.result);
    handled = handledOf(await consuming.result);
  });

  afterAll(async () => {
    killLeftovers();
    await cleanUp(Object.values(queues));
  });

  it.each([
    ['sendToQueue', `send ${queues.sendToQueue.queue}`],
    ['publish', `send ${queues.publish.exchange}`],
    ['confirm', `send ${queues.confirm.queue}`],
  ] as const)('%s: the process span is CHILD_OF the send span, across processes', async (key, sendName) => {
    const queue = queues[key].queue;
    const traceId = traces[key] as string;
    const trace: JaegerTrace = await fetchTrace(traceId, 3);
    const send = spanNamed(trace, sendName, producer);
    const process = spanNamed(trace, `process ${queue}`, consumer);

    expect(parentOf(process)).toBe(send.spanID);
    expect(parentOf(send)).toBe(spanNamed(trace, `request ${key}`, producer).spanID);
    expect(tag(send, 'span.kind')).toBe('producer');
    expect(tag(process, 'span.kind')).toBe('consumer');
    expect(tag(process, 'messaging.system')).toBe('rabbitmq');
    expect(tag(process, 'mqtrail.settle.outcome')).toBe('ack');
    expect(tag(send, 'server.address')).toBe(producerUrl.hostname);
    expect(tag(send, 'server.port')).toBe(Number(producerUrl.port || 5672));
    expect(JSON.stringify(send.tags)).not.toContain(`:${producerUrl.password}@`);
    if (key === 'confirm') expect(tag(send, 'mqtrail.rabbitmq.confirm')).toBe(true);
    if (key === 'publish') expect(tag(send, 'messaging.rabbitmq.destination.routing_key')).toBe('order.created');
    // The application's handler ran inside the process span.
    const delivery = handled.find((entry) => entry.queue === queue);
    expect(delivery?.span).toEqual({ traceId, spanId: process.spanID });
  });
});

describe('ES module applications', () => {
  const run = unique('esm');
  const queue = `${run}-queue`;
  const producer = `amqp-esm-producer-${run}`;
  const consumer = `amqp-esm-consumer-${run}`;

  beforeAll(() => declare([{ queue }]));
  afterAll(async () => {
    killLeftovers();
    await cleanUp([{ queue }]);
  });

  it('are traced the same way: plain and confirm publishes, consumed and acked', async () => {
    const consuming = runFixture(
      'esm-consumer.mjs',
      { QUEUE: queue, EXPECT: '2' },
      { serviceName: consumer, esm: true },
    );
    await consuming.firstMessage;
    const producing = runFixture('esm-producer.mjs', { QUEUE: queue }, { serviceName: producer, esm: true });
    const traces = tracesOf(await producing.result);
    const handled = handledOf(await consuming.result);

    for (const key of ['plain', 'confirm']) {
      const trace = await fetchTrace(traces[key] as string, 3);
      const send = spanNamed(trace, `send ${queue}`, producer);
      const process = spanNamed(trace, `process ${queue}`, consumer);
      expect(parentOf(process)).toBe(send.spanID);
      expect(tag(process, 'mqtrail.settle.outcome')).toBe('ack');
      expect(handled.some((entry) => entry.span?.spanId === process.spanID)).toBe(true);
    }
  });
});
