/**
 * amqplib hot path: per-message cost of `publish` on a plain channel, `publish` on a confirm
 * channel (with the broker's confirm fed back every `batch` messages), and consume (a delivery
 * fed frame by frame into a real Channel whose consumer callback acks it), with the socket
 * replaced as described in fakes/amqp-connection.ts.
 */
import { type AmqpChannel, amqplibInternals, confirm, deliver, FakeAmqpConnection } from '../fakes/amqp-connection';
import { chainHeader, PAYLOAD, traceparent, type UpstreamSampling } from '../messages';
import type { HotOp } from '../timing';
import type { HotPath } from './kafkajs';

export const HOT_EXCHANGE = 'bench-exchange';
export const HOT_QUEUE = 'bench-queue';
const ROUTING_KEY = 'bench.key';

interface Delivery {
  fields: Record<string, unknown>;
  properties: Record<string, unknown>;
}

/** @param sampled the upstream sampling decision of each delivery, by delivery tag (see kafkajs.ts). */
export async function amqplibHotPath(sampled: UpstreamSampling, batch: number, prefetch: number): Promise<HotPath> {
  const { ChannelModel, defs } = amqplibInternals();
  const connection = new FakeAmqpConnection(defs);
  const model = new ChannelModel(connection);
  const channel = await model.createChannel();
  const confirmChannel = await model.createConfirmChannel();
  const consumeChannel: AmqpChannel = await model.createChannel();
  await consumeChannel.prefetch(prefetch);
  let handled = 0;
  const { consumerTag } = await consumeChannel.consume(HOT_QUEUE, (message) => {
    if (message === null) return;
    handled++;
    consumeChannel.ack(message);
  });

  let published = 0;
  let confirmTag = 0;
  let confirmed = 0;
  let deliveryTag = 0;

  const publishOptions = (sequence: number) => ({
    headers: { 'app-id': 'bench' },
    contentType: 'application/json',
    messageId: `m-${sequence}`,
  });

  const publish: HotOp<undefined> = {
    name: 'publish',
    step: (_chunk, _index, count) => {
      for (let i = 0; i < count; i++) channel.publish(HOT_EXCHANGE, ROUTING_KEY, PAYLOAD, publishOptions(published++));
    },
  };
  const onConfirm = (error: unknown) => {
    if (error === null || error === undefined) confirmed++;
  };
  const publishConfirm: HotOp<undefined> = {
    name: 'publish-confirm',
    step: (_chunk, _index, count) => {
      for (let i = 0; i < count; i++) {
        confirmChannel.publish(HOT_EXCHANGE, ROUTING_KEY, PAYLOAD, publishOptions(published++), onConfirm);
      }
      confirmTag += count;
      confirm(defs, confirmChannel, confirmTag);
    },
  };
  const consume: HotOp<Delivery[]> = {
    name: 'consume',
    chunk: batch * 100,
    prepare: (count) => {
      const now = Date.now();
      const deliveries: Delivery[] = [];
      for (let i = 0; i < count; i++) {
        const tag = ++deliveryTag;
        deliveries.push({
          fields: {
            consumerTag,
            deliveryTag: tag,
            redelivered: false,
            exchange: HOT_EXCHANGE,
            routingKey: ROUTING_KEY,
          },
          properties: {
            headers: { traceparent: traceparent(tag, sampled(tag)), mqtrail: chainHeader(now), 'app-id': 'bench' },
            contentType: 'application/json',
            messageId: `d-${tag}`,
          },
        });
      }
      return deliveries;
    },
    step: (deliveries, index, count) => {
      for (let i = index; i < index + count; i++) {
        const delivery = deliveries[i] as Delivery;
        deliver(defs, consumeChannel, delivery.fields, delivery.properties, PAYLOAD);
      }
    },
  };
  return {
    ops: [publish, publishConfirm, consume] as HotOp<unknown>[],
    verify() {
      if (handled !== deliveryTag) throw new Error(`the consumer saw ${handled} of ${deliveryTag} deliveries`);
      if (confirmed !== confirmTag) throw new Error(`${confirmed} of ${confirmTag} confirm callbacks ran`);
    },
  };
}
