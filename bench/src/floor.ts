/**
 * The `floor` variant: the least any instrumentation with a span per message does, written out
 * by hand so the bench can measure it on the same workloads as contrib and mqtrail.
 *
 * - send: one PRODUCER span per message with the four required messaging attributes, its context
 *   injected (W3C trace context) into a copy of the message headers, ended when the client is done
 *   with the message (after `send` resolves, after the write, or at the publisher confirm);
 * - consume: the context extracted from the headers, one CONSUMER span per message as its child,
 *   the handler run inside it (`context.with`), the span ended when the handler is done.
 *
 * Nothing else: no metrics, no error recording, no optional attributes, no settle tracking, no
 * guards against hostile input. It is not usable instrumentation, only the measuring stick for
 * "the SDK's share" of an instrumentation's overhead (see BENCHMARKS.md, "Floor").
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

function required(system: string, operation: 'send' | 'process', destination: string): Attributes {
  return {
    'messaging.system': system,
    'messaging.operation.name': operation,
    'messaging.operation.type': operation,
    'messaging.destination.name': destination,
  };
}

function startSend(system: string, destination: string, headers: unknown): { span: Span; headers: Headers } {
  const span = tracer.startSpan(`send ${destination}`, {
    kind: SpanKind.PRODUCER,
    attributes: required(system, 'send', destination),
  });
  const copy: Headers = { ...(headers as Headers | undefined) };
  propagation.inject(trace.setSpan(context.active(), span), copy);
  return { span, headers: copy };
}

function startProcess(system: string, destination: string, headers: unknown): { span: Span; context: Context } {
  const parent = propagation.extract(ROOT_CONTEXT, (headers ?? {}) as Headers, getter);
  const span = tracer.startSpan(
    `process ${destination}`,
    { kind: SpanKind.CONSUMER, attributes: required(system, 'process', destination) },
    parent,
  );
  return { span, context: trace.setSpan(parent, span) };
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

function installKafkajs(): void {
  const { Kafka } = require('kafkajs') as { Kafka: { prototype: { producer: AnyFunction; consumer: AnyFunction } } };
  const { producer, consumer } = Kafka.prototype;
  Kafka.prototype.producer = function (this: unknown, ...args: never[]) {
    const created = producer.apply(this, args) as Record<string, AnyFunction>;
    const send = created.send as (record: { topic: string; messages: KafkaMessage[] }) => Promise<unknown>;
    created.send = ((record: { topic: string; messages: KafkaMessage[] }) => {
      const started = record.messages.map((message) => startSend('kafka', record.topic, message.headers));
      const messages = record.messages.map((message, i) => ({ ...message, headers: started[i]?.headers }));
      return endWhenSettled(send.call(created, { ...record, messages }), () => {
        for (const { span } of started) span.end();
      });
    }) as AnyFunction;
    return created;
  } as AnyFunction;
  Kafka.prototype.consumer = function (this: unknown, ...args: never[]) {
    const created = consumer.apply(this, args) as Record<string, AnyFunction>;
    const run = created.run as (config: { eachMessage: (payload: unknown) => Promise<void> }) => Promise<void>;
    created.run = ((config: { eachMessage: (payload: { topic: string; message: KafkaMessage }) => Promise<void> }) =>
      run.call(created, {
        ...config,
        eachMessage: (payload: { topic: string; message: KafkaMessage }) => {
          const { span, context: active } = startProcess('kafka', payload.topic, payload.message.headers);
          return endWhenSettled(
            context.with(active, () => config.eachMessage(payload)),
            () => span.end(),
          );
        },
      } as never)) as AnyFunction;
    return created;
  } as AnyFunction;
}

interface AmqpMessage {
  fields: { routingKey?: string };
  properties: { headers?: Headers };
}

function installAmqplib(): void {
  const lib = join(dirname(require.resolve('amqplib')), 'lib');
  const { Channel, ConfirmChannel } = require(join(lib, 'channel_model.js')) as {
    Channel: { prototype: Record<string, AnyFunction> };
    ConfirmChannel: { prototype: Record<string, AnyFunction> } & (new () => unknown);
  };
  const publish = Channel.prototype.publish as (...args: unknown[]) => unknown;
  Channel.prototype.publish = function (this: object, exchange: string, key: string, content, options) {
    // ConfirmChannel#publish calls this one through `super`: its span is already started.
    if (this instanceof ConfirmChannel) return publish.call(this, exchange, key, content, options);
    const { span, headers } = startSend('rabbitmq', exchange || key, (options as { headers?: Headers })?.headers);
    const result = publish.call(this, exchange, key, content, { ...(options as object), headers });
    span.end();
    return result;
  } as AnyFunction;
  const confirmPublish = ConfirmChannel.prototype.publish as (...args: unknown[]) => unknown;
  ConfirmChannel.prototype.publish = function (this: object, exchange: string, key: string, content, options, cb) {
    const { span, headers } = startSend('rabbitmq', exchange || key, (options as { headers?: Headers })?.headers);
    return confirmPublish.call(this, exchange, key, content, { ...(options as object), headers }, (...args: []) => {
      span.end();
      return typeof cb === 'function' ? (cb as (...a: unknown[]) => unknown)(...args) : undefined;
    });
  } as AnyFunction;
  const consume = Channel.prototype.consume as (...args: unknown[]) => unknown;
  Channel.prototype.consume = function (this: object, queue: string, callback, options) {
    const handler = callback as (message: AmqpMessage | null) => unknown;
    return consume.call(
      this,
      queue,
      (message: AmqpMessage | null) => {
        if (message === null) return handler(message);
        const { span, context: active } = startProcess('rabbitmq', queue, message.properties.headers);
        return endWhenSettled(
          context.with(active, () => handler(message)),
          () => span.end(),
        );
      },
      options,
    );
  } as AnyFunction;
}

/** Patches the client's module in place. Must run after the SDK is registered, before the workload. */
export function installFloor(client: Client): void {
  if (client === 'kafkajs') installKafkajs();
  else installAmqplib();
}
