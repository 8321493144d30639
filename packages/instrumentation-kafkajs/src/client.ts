/**
 * The `Kafka` class: its constructor (to learn the client config) and the `producer()` and
 * `consumer()` factories, whose returned objects get their methods wrapped.
 */

import {
  type AnyFunction,
  claimClient,
  hasForeignWrapper,
  markInstalled,
  safely,
  unwrapped,
  wrapAll,
} from '@mqtrail/core';
import { type ClientInfo, clientInfo } from './attributes';
import { instrumentConsumer } from './consumer';
import { wrapSend, wrapSendBatch } from './producer';
import { wrapTransactionFactory } from './transaction';
import type { WrapContext } from './wrap-context';

/**
 * Replaces the `Kafka` class export so each `new Kafka(config)` records its client id and first
 * broker. kafkajs keeps its config in a closure, so the constructor call is the only place the
 * `messaging.client.id` and `server.*` attributes of later spans can come from.
 *
 * The replacement constructs the real class (`Reflect.construct` with `new.target`), shares its
 * prototype and statics, so `instanceof Kafka`, subclasses and the instance itself are unchanged.
 */
export function wrapKafkaClass(ctx: WrapContext): (original: AnyFunction) => AnyFunction {
  return (original) => {
    // ESM namespaces cannot be unwrapped in place; never stack a wrapper on our own wrapper.
    const target = unwrapped(original);
    function Kafka(this: unknown, ...args: unknown[]): unknown {
      // Called without `new`: let the class throw its own TypeError.
      if (new.target === undefined) return target.apply(this, args);
      const instance: object = Reflect.construct(target, args, new.target);
      safely('reading the kafkajs client config', () => ctx.clients.set(instance, clientInfo(args[0])), undefined);
      safely('claiming the kafkajs client', () => claimFactories(ctx, instance), undefined);
      return instance;
    }
    Kafka.prototype = target.prototype;
    Object.setPrototypeOf(Kafka, target);
    Object.defineProperty(Kafka, 'name', { value: target.name });
    return Kafka;
  };
}

/**
 * When another kafkajs instrumentation (contrib's, from auto-instrumentations-node) patched
 * `Kafka.prototype.producer` / `consumer` after mqtrail, it also removed mqtrail's wrappers there
 * (contrib unwraps whatever is wrapped before wrapping). The class wrapper survives, so each new
 * client gets its own `producer` / `consumer` (non-enumerable, like the prototype's methods) over
 * kafkajs's own factories: the other instrumentation's wrappers never run for it, and the client
 * is traced once, by mqtrail, whatever the load order. Without a foreign wrapper nothing is added.
 */
function claimFactories(ctx: WrapContext, instance: object): void {
  const prototype = Object.getPrototypeOf(instance) as Record<string, unknown>;
  const factories = { producer: wrapProducerFactory(ctx), consumer: wrapConsumerFactory(ctx) };
  for (const [method, wrap] of Object.entries(factories)) {
    const current = prototype[method];
    if (typeof current !== 'function' || !hasForeignWrapper(current)) continue;
    claimClient('kafkajs', `Kafka.prototype.${method}`);
    Object.defineProperty(instance, method, {
      value: markInstalled(wrap(unwrapped(current as AnyFunction))),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }
}

/** The client info recorded for the `Kafka` instance a producer or consumer is created from. */
export function clientOf(clients: WeakMap<object, ClientInfo>, kafka: unknown): ClientInfo {
  return typeof kafka === 'object' && kafka !== null ? (clients.get(kafka) ?? {}) : {};
}

/** `Kafka.prototype.producer`: instruments each producer kafkajs creates. */
export function wrapProducerFactory(ctx: WrapContext): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function producer(this: unknown, ...args: unknown[]) {
      const created: unknown = original.apply(this, args);
      safely(
        'instrumenting a kafkajs producer',
        () => {
          if (typeof created !== 'object' || created === null) return;
          const client = clientOf(ctx.clients, this);
          wrapAll(ctx.shim, [
            { target: created, method: 'send', wrapper: wrapSend(ctx, client) },
            { target: created, method: 'sendBatch', wrapper: wrapSendBatch(ctx, client) },
            { target: created, method: 'transaction', wrapper: wrapTransactionFactory(ctx, client) },
          ]);
        },
        undefined,
      );
      return created;
    };
}

/** `Kafka.prototype.consumer`: instruments each consumer kafkajs creates. */
export function wrapConsumerFactory(ctx: WrapContext): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function consumer(this: unknown, ...args: unknown[]) {
      const created: unknown = original.apply(this, args);
      safely(
        'instrumenting a kafkajs consumer',
        () => {
          const options = args[0];
          const groupId =
            typeof options === 'object' && options !== null ? (options as { groupId?: unknown }).groupId : undefined;
          // kafkajs refuses to create a consumer without a group, so this is always a string.
          if (typeof groupId !== 'string') return;
          instrumentConsumer(ctx, created, { client: clientOf(ctx.clients, this), groupId });
        },
        undefined,
      );
      return created;
    };
}
