import { EventEmitter } from 'node:events';

/**
 * A broker in memory that speaks to amqplib's real Channel classes through a fake Connection.
 * Everything a channel sends is encoded with the loaded amqplib version's own codec (so header
 * tables that amqplib cannot encode fail exactly as on a socket) and decoded again for delivery
 * (so consumers see header values in the shapes amqplib really produces). Unit tests then run the
 * real publish/consume/ack code paths of each amqplib version without a network.
 */

/** The parts of lib/defs.js used here. */
export interface Defs {
  encodeMethod(id: number, channel: number, fields: Record<string, unknown>): Buffer;
  encodeProperties(id: number, channel: number, size: number, fields: Record<string, unknown>): Buffer;
  decode(id: number, payload: Buffer): Record<string, unknown>;
  [method: string]: unknown;
}

export interface Frame {
  id?: number;
  channel?: number;
  fields?: Record<string, unknown>;
  size?: number;
  content?: Buffer;
}

/** What of an amqplib channel the broker calls: frames in, and the connection-level close. */
export interface RawChannel extends EventEmitter {
  accept(frame: Frame): void;
  toClosed(stack?: unknown): void;
}

/** Message properties as decoded from the wire. */
export type WireProperties = Record<string, unknown> & { headers?: Record<string, unknown> };

export interface StoredMessage {
  exchange: string;
  routingKey: string;
  properties: WireProperties;
  content: Buffer;
  redelivered?: boolean;
}

export interface Settlement {
  method: 'ack' | 'nack' | 'reject';
  deliveryTag: number;
  multiple: boolean;
  requeue?: boolean;
}

interface ChannelSlot {
  channel: RawChannel;
  confirm: boolean;
  publishSeq: number;
  deliveryTag: number;
}

interface Consumer {
  slot: ChannelSlot;
  number: number;
  tag: string;
}

const FRAME_HEADER_BYTES = 7;

function id(defs: Defs, name: string): number {
  const value = defs[name];
  if (typeof value !== 'number') throw new Error(`defs.${name} missing`);
  return value;
}

export class FakeBroker {
  readonly queues = new Map<string, StoredMessage[]>();
  readonly bindings = new Map<string, string[]>();
  readonly settlements: Settlement[] = [];
  /** Everything published, as decoded on the "wire". */
  readonly published: StoredMessage[] = [];
  /** How confirm channels answer publishes. */
  confirmMode: 'ack' | 'nack' | 'none' = 'ack';
  private readonly consumers = new Map<string, Consumer[]>();
  private consumerTags = 0;

  constructor(readonly defs: Defs) {}

  connect(): FakeConnection {
    return new FakeConnection(this);
  }

  declare(queue: string, boundTo?: string): void {
    if (!this.queues.has(queue)) this.queues.set(queue, []);
    if (boundTo !== undefined) this.bindings.set(boundTo, [...(this.bindings.get(boundTo) ?? []), queue]);
  }

  /** Routes a message to its queues; false when nothing takes it. */
  route(message: StoredMessage): boolean {
    const queues = message.exchange === '' ? [message.routingKey] : (this.bindings.get(message.exchange) ?? []);
    const targets = queues.filter((queue) => this.queues.has(queue));
    for (const queue of targets) this.enqueue(queue, message);
    return targets.length > 0;
  }

  /**
   * Puts a message in a queue as if a foreign producer had published it, through the codec: use it
   * for header values mqtrail never writes.
   */
  inject(queue: string, message: Partial<StoredMessage> & { properties?: Record<string, unknown> }): void {
    this.declare(queue);
    const content = message.content ?? Buffer.from('foreign');
    const properties = this.roundTrip(message.properties ?? {}, content.length);
    this.enqueue(queue, { exchange: '', routingKey: queue, ...message, properties, content });
  }

  /** Encodes and decodes message properties with amqplib's codec, as the wire would. */
  roundTrip(properties: Record<string, unknown>, size: number): WireProperties {
    const frame = this.defs.encodeProperties(id(this.defs, 'BasicProperties'), 1, size, properties);
    const payload = frame.subarray(FRAME_HEADER_BYTES, frame.length - 1);
    return this.defs.decode(payload.readUInt16BE(0), payload.subarray(12));
  }

  private enqueue(queue: string, message: StoredMessage): void {
    const consumers = this.consumers.get(queue) ?? [];
    const consumer = consumers[0];
    if (consumer === undefined) {
      this.queues.get(queue)?.push(message);
      return;
    }
    // Round-robin, as RabbitMQ does.
    consumers.push(consumers.shift() as Consumer);
    this.deliver(consumer, message);
  }

  private deliver(consumer: Consumer, message: StoredMessage): void {
    const { slot } = consumer;
    const deliveryTag = ++slot.deliveryTag;
    const fields = {
      consumerTag: consumer.tag,
      deliveryTag,
      redelivered: message.redelivered ?? false,
      exchange: message.exchange,
      routingKey: message.routingKey,
    };
    this.sendContent(slot.channel, consumer.number, id(this.defs, 'BasicDeliver'), fields, message);
  }

  sendContent(
    channel: RawChannel,
    number: number,
    method: number,
    fields: Record<string, unknown>,
    message: StoredMessage,
  ) {
    setImmediate(() => {
      channel.accept({ id: method, channel: number, fields });
      channel.accept({
        id: id(this.defs, 'BasicProperties'),
        channel: number,
        fields: message.properties,
        size: message.content.length,
      });
      if (message.content.length > 0) channel.accept({ channel: number, content: message.content });
    });
  }

  consume(slot: ChannelSlot, number: number, queue: string, requestedTag: unknown): string {
    const tag = typeof requestedTag === 'string' && requestedTag !== '' ? requestedTag : `ctag-${++this.consumerTags}`;
    this.declare(queue);
    const consumer = { slot, number, tag };
    this.consumers.set(queue, [...(this.consumers.get(queue) ?? []), consumer]);
    setImmediate(() => {
      const waiting = this.queues.get(queue)?.splice(0) ?? [];
      for (const message of waiting) this.deliver(consumer, message);
    });
    return tag;
  }

  cancel(tag: unknown): void {
    for (const [queue, consumers] of this.consumers) {
      this.consumers.set(
        queue,
        consumers.filter((consumer) => consumer.tag !== tag),
      );
    }
  }

  dropConsumersOf(slot: ChannelSlot): void {
    for (const [queue, consumers] of this.consumers) {
      this.consumers.set(
        queue,
        consumers.filter((consumer) => consumer.slot !== slot),
      );
    }
  }
}

/** Stands in for amqplib's Connection (lib/connection.js) under real Channel objects. */
export class FakeConnection extends EventEmitter {
  /** What `serverOfChannel` falls back to when `connect` was not patched. */
  readonly stream = { remoteAddress: '10.1.2.3', remotePort: 5672 };
  /** What `sendMessage` returns: false simulates a full socket buffer. */
  writable = true;
  private readonly slots = new Map<number, ChannelSlot>();
  private nextChannel = 0;

  constructor(readonly broker: FakeBroker) {
    super();
  }

  private get defs(): Defs {
    return this.broker.defs;
  }

  freshChannel(channel: RawChannel): number {
    const number = ++this.nextChannel;
    this.slots.set(number, { channel, confirm: false, publishSeq: 0, deliveryTag: 0 });
    return number;
  }

  releaseChannel(number: number): void {
    const slot = this.slots.get(number);
    if (slot !== undefined) this.broker.dropConsumersOf(slot);
    this.slots.delete(number);
  }

  /** The broker closes one channel (e.g. PRECONDITION_FAILED): amqplib emits 'error', then 'close'. */
  closeChannelFromBroker(channel: RawChannel, replyText = 'PRECONDITION_FAILED - test'): void {
    for (const [number, slot] of this.slots) {
      if (slot.channel !== channel) continue;
      channel.accept({
        id: id(this.defs, 'ChannelClose'),
        channel: number,
        fields: { replyCode: 406, replyText, classId: 0, methodId: 0 },
      });
    }
  }

  /** The socket dies: every channel goes to closed without a close handshake. */
  drop(): void {
    for (const slot of [...this.slots.values()]) slot.channel.toClosed();
    this.emit('close', new Error('Connection lost'));
  }

  sendMethod(number: number, method: number, fields: Record<string, unknown>): boolean {
    this.defs.encodeMethod(method, number, fields);
    const slot = this.slots.get(number);
    if (slot === undefined) return true;
    const reply = (replyId: string, replyFields: Record<string, unknown> = {}) =>
      setImmediate(() => slot.channel.accept({ id: id(this.defs, replyId), channel: number, fields: replyFields }));
    const d = (name: string) => id(this.defs, name);
    switch (method) {
      case d('ChannelOpen'):
        reply('ChannelOpenOk', { channelId: Buffer.alloc(0) });
        break;
      case d('ConfirmSelect'):
        slot.confirm = true;
        reply('ConfirmSelectOk');
        break;
      case d('QueueDeclare'): {
        const queue = String(fields.queue);
        this.broker.declare(queue);
        reply('QueueDeclareOk', { queue, messageCount: 0, consumerCount: 0 });
        break;
      }
      case d('BasicQos'):
        reply('BasicQosOk');
        break;
      default:
        this.handleSettlementOrRest(slot, number, method, fields, reply);
    }
    return true;
  }

  private handleSettlementOrRest(
    slot: ChannelSlot,
    number: number,
    method: number,
    fields: Record<string, unknown>,
    reply: (replyId: string, replyFields?: Record<string, unknown>) => void,
  ): void {
    const d = (name: string) => id(this.defs, name);
    const tag = Number(fields.deliveryTag);
    switch (method) {
      case d('BasicConsume'):
        reply('BasicConsumeOk', {
          consumerTag: this.broker.consume(slot, number, String(fields.queue), fields.consumerTag),
        });
        break;
      case d('BasicCancel'):
        this.broker.cancel(fields.consumerTag);
        reply('BasicCancelOk', { consumerTag: fields.consumerTag });
        break;
      case d('BasicGet'): {
        const message = this.broker.queues.get(String(fields.queue))?.shift();
        if (message === undefined) {
          reply('BasicGetEmpty', { clusterId: '' });
          break;
        }
        const getFields = {
          deliveryTag: ++slot.deliveryTag,
          redelivered: message.redelivered ?? false,
          exchange: message.exchange,
          routingKey: message.routingKey,
          messageCount: 0,
        };
        this.broker.sendContent(slot.channel, number, d('BasicGetOk'), getFields, message);
        break;
      }
      case d('BasicAck'):
        this.broker.settlements.push({ method: 'ack', deliveryTag: tag, multiple: Boolean(fields.multiple) });
        break;
      case d('BasicNack'):
        this.broker.settlements.push({
          method: 'nack',
          deliveryTag: tag,
          multiple: Boolean(fields.multiple),
          requeue: Boolean(fields.requeue),
        });
        break;
      case d('BasicReject'):
        this.broker.settlements.push({
          method: 'reject',
          deliveryTag: tag,
          multiple: false,
          requeue: Boolean(fields.requeue),
        });
        break;
      case d('ChannelClose'):
        reply('ChannelCloseOk');
        break;
      case d('ChannelCloseOk'):
        break;
      default:
        throw new Error(`the fake broker does not implement method ${method}`);
    }
  }

  sendMessage(
    number: number,
    method: number,
    fields: Record<string, unknown>,
    _propertiesId: number,
    properties: Record<string, unknown>,
    content: Buffer,
  ): boolean {
    if (!Buffer.isBuffer(content)) throw new TypeError('content is not a buffer');
    this.defs.encodeMethod(method, number, fields);
    const decoded = this.broker.roundTrip(properties, content.length);
    const message: StoredMessage = {
      exchange: String(fields.exchange),
      routingKey: String(fields.routingKey),
      properties: decoded,
      content: Buffer.from(content),
    };
    this.broker.published.push(message);
    const routed = this.broker.route(message);
    const slot = this.slots.get(number);
    if (slot !== undefined && !routed && fields.mandatory) {
      this.broker.sendContent(
        slot.channel,
        number,
        id(this.defs, 'BasicReturn'),
        { replyCode: 312, replyText: 'NO_ROUTE', exchange: message.exchange, routingKey: message.routingKey },
        message,
      );
    }
    if (slot?.confirm) {
      const deliveryTag = ++slot.publishSeq;
      const mode = this.broker.confirmMode;
      if (mode !== 'none') {
        setImmediate(() =>
          slot.channel.accept({
            id: id(this.defs, mode === 'ack' ? 'BasicAck' : 'BasicNack'),
            channel: number,
            fields: { deliveryTag, multiple: false, requeue: false },
          }),
        );
      }
    }
    return this.writable;
  }
}
