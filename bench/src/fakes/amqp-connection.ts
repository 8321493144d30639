/**
 * An amqplib connection without a socket, for the hot-path workload. Channels are amqplib's own
 * (`ChannelModel#createChannel` / `#createConfirmChannel` over this connection), so publish,
 * consume, ack and confirm run amqplib's real channel code and whatever an instrumentation wraps
 * in it. `sendMessage` (the frame encoding and socket write of a publish) is a no-op; RPCs the
 * channel makes (open, qos, consume, confirm.select) are answered on the next microtask, as a
 * broker's reply would arrive.
 *
 * Deliveries go in the way the real connection hands them over: `channel.accept(frame)` with a
 * basic.deliver method frame, a properties (header) frame and a content frame.
 */
import { EventEmitter } from 'node:events';
import { dirname, join } from 'node:path';

type Fields = Record<string, unknown>;

export interface AmqpChannel extends EventEmitter {
  ch: number;
  accept(frame: Fields): void;
  publish(
    exchange: string,
    routingKey: string,
    content: Buffer,
    options?: Fields,
    callback?: (error: unknown) => void,
  ): boolean;
  consume(
    queue: string,
    onMessage: (message: AmqpMessage | null) => void,
    options?: Fields,
  ): Promise<{ consumerTag: string }>;
  prefetch(count: number): Promise<unknown>;
  ack(message: AmqpMessage): void;
}

export interface AmqpMessage {
  content: Buffer;
  fields: Fields;
  properties: Fields;
}

interface ChannelModel {
  createChannel(): Promise<AmqpChannel>;
  createConfirmChannel(): Promise<AmqpChannel>;
}

/** amqplib's method ids (lib/defs.js), looked up by name. */
export type Defs = Record<string, number>;

/** Files inside amqplib that its `exports` map does not expose: reached through its main's folder. */
export function amqplibInternals(): { ChannelModel: new (connection: unknown) => ChannelModel; defs: Defs } {
  // Requiring the package first lets an instrumentation patch lib/ as amqplib itself loads it.
  require('amqplib');
  const lib = join(dirname(require.resolve('amqplib')), 'lib');
  const { ChannelModel } = require(join(lib, 'channel_model.js')) as { ChannelModel: new (c: unknown) => ChannelModel };
  const defs = require(join(lib, 'defs.js')) as Defs;
  return { ChannelModel, defs };
}

export class FakeAmqpConnection extends EventEmitter {
  private readonly channels = new Map<number, AmqpChannel>();
  private nextChannel = 1;
  private nextConsumerTag = 1;
  private readonly replies: Map<number, (fields: Fields) => { id: number; fields: Fields }>;

  constructor(defs: Defs) {
    super();
    const reply = (name: string, fields: (request: Fields) => Fields = () => ({})) => {
      const id = defs[name];
      if (id === undefined) throw new Error(`amqplib defs has no ${name}`);
      return (request: Fields) => ({ id, fields: fields(request) });
    };
    this.replies = new Map(
      (
        [
          ['ChannelOpen', reply('ChannelOpenOk', () => ({ channelId: '' }))],
          ['BasicQos', reply('BasicQosOk')],
          ['ConfirmSelect', reply('ConfirmSelectOk')],
          [
            'BasicConsume',
            reply('BasicConsumeOk', (request) => ({
              consumerTag: request.consumerTag || `amq.ctag-bench-${this.nextConsumerTag++}`,
            })),
          ],
          ['BasicCancel', reply('BasicCancelOk', (request) => ({ consumerTag: request.consumerTag }))],
          ['ChannelClose', reply('ChannelCloseOk')],
        ] as const
      ).map(([name, answer]) => [defs[name] as number, answer]),
    );
  }

  // --- what amqplib's Channel calls on its connection ---

  freshChannel(channel: AmqpChannel): number {
    const id = this.nextChannel++;
    this.channels.set(id, channel);
    return id;
  }

  releaseChannel(id: number): void {
    this.channels.delete(id);
  }

  sendMethod(channelId: number, method: number, fields: Fields): boolean {
    const answer = this.replies.get(method);
    const channel = this.channels.get(channelId);
    if (answer !== undefined && channel !== undefined) {
      const { id, fields: replyFields } = answer(fields);
      queueMicrotask(() => channel.accept({ id, channel: channelId, fields: replyFields }));
    }
    return true;
  }

  /** The publish path: where the real connection encodes frames and writes the socket. */
  sendMessage(): boolean {
    return true;
  }

  close(callback?: (error?: unknown) => void): void {
    callback?.();
  }
}

/** Feeds one delivery into a channel, frame by frame, as the connection's frame parser does. */
export function deliver(defs: Defs, channel: AmqpChannel, fields: Fields, properties: Fields, content: Buffer): void {
  const id = channel.ch;
  channel.accept({ id: defs.BasicDeliver, channel: id, fields });
  channel.accept({ id: defs.BasicProperties, channel: id, fields: properties, size: content.length });
  channel.accept({ channel: id, content });
}

/** The broker's publisher confirm for every publish up to `deliveryTag`. */
export function confirm(defs: Defs, channel: AmqpChannel, deliveryTag: number): void {
  channel.accept({ id: defs.BasicAck, channel: channel.ch, fields: { deliveryTag, multiple: true } });
}
