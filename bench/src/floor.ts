/**
 * The `floor` variants: the least any instrumentation with a span per message does, written out
 * by hand so the bench can measure it on the same workloads as contrib and mqtrail.
 *
 * - send: one PRODUCER span per message, its context injected (W3C trace context) into a copy of
 *   the message headers, ended when the client is done with the message (after `send` resolves,
 *   after the write, or at the publisher confirm);
 * - consume: the context extracted from the headers, one CONSUMER span per message as its child,
 *   the handler run inside it (`context.with`), the span ended when the handler is done.
 *
 * Nothing else: no metrics, no error recording, no settle tracking, no guards against hostile
 * input. It is not usable instrumentation, only the measuring stick for "the SDK's share" of an
 * instrumentation's overhead (see BENCHMARKS.md, "Floor"). What the spans carry is a `SpanContent`:
 * `LEAST` (the `floor` and `floor-1%` variants: the four required messaging attributes) or
 * mqtrail's (the `shape` variant, floor-shape.ts).
 */
import { dirname, join } from 'node:path';
import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  type SpanOptions,
  type TextMapGetter,
  trace,
} from '@opentelemetry/api';
import type { Client } from './protocol';

type AnyFunction = (this: unknown, ...args: never[]) => unknown;
type Headers = Record<string, unknown>;

const tracer = trace.getTracer('mqtrail-bench-floor');

/** Header values as both clients deliver them: strings, or Buffers (kafkajs). */
const getter: TextMapGetter<Headers> = {
  get: (carrier, key) => {
    const value = carrier[key];
    return value === undefined ? undefined : String(value);
  },
  keys: (carrier) => Object.keys(carrier),
};

/** kafkajs: the `Kafka` config's `clientId` and first broker, and the consumer's `groupId`. */
export interface ClientFacts {
  clientId?: unknown;
  broker?: unknown;
  groupId?: unknown;
}

const NO_CLIENT: ClientFacts = {};

/**
 * What a span may be given about one message: references to what the floor's wrappers have at
 * hand, no copies, so the `LEAST` floor pays nothing for facts its spans do not carry.
 */
export interface MessageFacts {
  system: 'kafka' | 'rabbitmq';
  destination: string;
  /** amqplib: the publish options, or the delivered message; kafkajs: the message. */
  message: unknown;
  /** amqplib publish: the routing key. */
  routingKey?: string;
  /** kafkajs consume: the partition. */
  partition?: number;
  /** kafkajs: one object per producer or consumer. */
  client: ClientFacts;
  /** amqplib: the channel, and whether it is a confirm channel. */
  channel?: object;
  confirm?: boolean;
}

/**
 * What the floor's spans carry; the floor's work around them is the same whatever they carry. The
 * optional parts are left out by `LEAST`, so it does not even ask whether its span records.
 */
export interface SpanContent {
  send(facts: MessageFacts): SpanOptions;
  /** Further attributes of a send span, set after the start only when it records. */
  sendRecording?(span: Span, facts: MessageFacts): void;
  /** Options of a consumed message's span; `parent` is the context extracted from its headers. */
  process(facts: MessageFacts, parent: Context): SpanOptions;
  /** Further attributes of a consumed message's span, set after the start only when it records. */
  processRecording?(span: Span, facts: MessageFacts): void;
  /** Just before a consumed message's span ends, when it records. */
  processEnd?(span: Span, facts: MessageFacts): void;
}

function required(system: string, operation: 'send' | 'process', destination: string): Attributes {
  return {
    'messaging.system': system,
    'messaging.operation.name': operation,
    'messaging.operation.type': operation,
    'messaging.destination.name': destination,
  };
}

/** The four required messaging attributes, nothing else. */
export const LEAST: SpanContent = {
  send: (facts) => ({ kind: SpanKind.PRODUCER, attributes: required(facts.system, 'send', facts.destination) }),
  process: (facts) => ({ kind: SpanKind.CONSUMER, attributes: required(facts.system, 'process', facts.destination) }),
};

function startSend(content: SpanContent, facts: MessageFacts, headers: unknown): { span: Span; headers: Headers } {
  const span = tracer.startSpan(`send ${facts.destination}`, content.send(facts));
  if (content.sendRecording !== undefined && span.isRecording()) content.sendRecording(span, facts);
  const copy: Headers = { ...(headers as Headers | undefined) };
  propagation.inject(trace.setSpan(context.active(), span), copy);
  return { span, headers: copy };
}

/** Starts a consumed message's span; `end` ends it. */
function startProcess(
  content: SpanContent,
  facts: MessageFacts,
  headers: unknown,
): { context: Context; end: () => void } {
  const parent = propagation.extract(ROOT_CONTEXT, (headers ?? {}) as Headers, getter);
  const span = tracer.startSpan(`process ${facts.destination}`, content.process(facts, parent), parent);
  const { processRecording, processEnd } = content;
  const recording = (processRecording !== undefined || processEnd !== undefined) && span.isRecording();
  if (recording) processRecording?.(span, facts);
  return {
    context: trace.setSpan(parent, span),
    end: () => {
      if (recording) processEnd?.(span, facts);
      span.end();
    },
  };
}

function endWhenSettled<T>(result: T, end: () => void): T {
  if (result instanceof Promise) {
    return result.then(
      (value) => {
        end();
        return value;
      },
      (error: unknown) => {
        end();
        throw error;
      },
    ) as T;
  }
  end();
  return result;
}

interface KafkaMessage {
  headers?: Headers;
}

interface KafkaInstance {
  producer: AnyFunction;
  consumer: AnyFunction;
}

interface KafkaClass {
  new (config: Record<string, unknown>): KafkaInstance;
  prototype: KafkaInstance;
}

/** The client facts of a Kafka instance, kept as it is constructed: kafkajs keeps its config private. */
const kafkaClients = new WeakMap<object, ClientFacts>();

function installKafkajs(content: SpanContent): void {
  const kafkajs = require('kafkajs') as { Kafka: KafkaClass };
  const Original = kafkajs.Kafka;
  kafkajs.Kafka = class Kafka extends Original {
    constructor(config: Record<string, unknown>) {
      super(config);
      const brokers = config?.brokers;
      kafkaClients.set(this, { clientId: config?.clientId, broker: Array.isArray(brokers) ? brokers[0] : undefined });
    }
  };
  const { producer, consumer } = Original.prototype;
  Original.prototype.producer = function (this: object, ...args: never[]) {
    const created = producer.apply(this, args) as Record<string, AnyFunction>;
    const client = kafkaClients.get(this) ?? NO_CLIENT;
    const send = created.send as (record: { topic: string; messages: KafkaMessage[] }) => Promise<unknown>;
    created.send = ((record: { topic: string; messages: KafkaMessage[] }) => {
      const started = record.messages.map((message) =>
        startSend(content, { system: 'kafka', destination: record.topic, message, client }, message.headers),
      );
      const messages = record.messages.map((message, i) => ({ ...message, headers: started[i]?.headers }));
      return endWhenSettled(send.call(created, { ...record, messages }), () => {
        for (const { span } of started) span.end();
      });
    }) as AnyFunction;
    return created;
  } as AnyFunction;
  Original.prototype.consumer = function (this: object, ...args: never[]) {
    const created = consumer.apply(this, args) as Record<string, AnyFunction>;
    const client: ClientFacts = {
      ...kafkaClients.get(this),
      groupId: (args[0] as { groupId?: unknown } | undefined)?.groupId,
    };
    type Payload = { topic: string; partition: number; message: KafkaMessage };
    const run = created.run as (config: { eachMessage: (payload: Payload) => Promise<void> }) => Promise<void>;
    created.run = ((config: { eachMessage: (payload: Payload) => Promise<void> }) =>
      run.call(created, {
        ...config,
        eachMessage: (payload: Payload) => {
          const facts: MessageFacts = {
            system: 'kafka',
            destination: payload.topic,
            message: payload.message,
            partition: payload.partition,
            client,
          };
          const { context: active, end } = startProcess(content, facts, payload.message.headers);
          return endWhenSettled(
            context.with(active, () => config.eachMessage(payload)),
            end,
          );
        },
      } as never)) as AnyFunction;
    return created;
  } as AnyFunction;
}

interface AmqpMessage {
  fields: Record<string, unknown>;
  properties: { headers?: Headers } & Record<string, unknown>;
}

function installAmqplib(content: SpanContent): void {
  const lib = join(dirname(require.resolve('amqplib')), 'lib');
  const { Channel, ConfirmChannel } = require(join(lib, 'channel_model.js')) as {
    Channel: { prototype: Record<string, AnyFunction> };
    ConfirmChannel: { prototype: Record<string, AnyFunction> } & (new () => unknown);
  };
  const publishFacts = (channel: object, exchange: string, key: string, options: unknown, confirm: boolean) =>
    ({
      system: 'rabbitmq',
      destination: exchange || key,
      message: options,
      routingKey: key,
      client: NO_CLIENT,
      channel,
      confirm,
    }) satisfies MessageFacts;
  const publish = Channel.prototype.publish as (...args: unknown[]) => unknown;
  Channel.prototype.publish = function (this: object, exchange: string, key: string, content_, options) {
    // ConfirmChannel#publish calls this one through `super`: its span is already started.
    if (this instanceof ConfirmChannel) return publish.call(this, exchange, key, content_, options);
    const headers = (options as { headers?: Headers })?.headers;
    const started = startSend(content, publishFacts(this, exchange, key, options, false), headers);
    const result = publish.call(this, exchange, key, content_, { ...(options as object), headers: started.headers });
    started.span.end();
    return result;
  } as AnyFunction;
  const confirmPublish = ConfirmChannel.prototype.publish as (...args: unknown[]) => unknown;
  ConfirmChannel.prototype.publish = function (this: object, exchange: string, key: string, content_, options, cb) {
    const headers = (options as { headers?: Headers })?.headers;
    const facts = publishFacts(this, exchange, key, options, true);
    const { span, headers: sent } = startSend(content, facts, headers);
    return confirmPublish.call(
      this,
      exchange,
      key,
      content_,
      { ...(options as object), headers: sent },
      (...args: []) => {
        span.end();
        return typeof cb === 'function' ? (cb as (...a: unknown[]) => unknown)(...args) : undefined;
      },
    );
  } as AnyFunction;
  const consume = Channel.prototype.consume as (...args: unknown[]) => unknown;
  Channel.prototype.consume = function (this: object, queue: string, callback, options) {
    const handler = callback as (message: AmqpMessage | null) => unknown;
    return consume.call(
      this,
      queue,
      (message: AmqpMessage | null) => {
        if (message === null) return handler(message);
        const facts: MessageFacts = {
          system: 'rabbitmq',
          destination: queue,
          message,
          client: NO_CLIENT,
          channel: this,
        };
        const { context: active, end } = startProcess(content, facts, message.properties.headers);
        return endWhenSettled(
          context.with(active, () => handler(message)),
          end,
        );
      },
      options,
    );
  } as AnyFunction;
}

/**
 * Patches the client's module in place, its spans carrying `content`. Must run after the SDK is
 * registered, before the workload.
 */
export function installFloor(client: Client, content: SpanContent = LEAST): void {
  if (client === 'kafkajs') installKafkajs(content);
  else installAmqplib(content);
}
