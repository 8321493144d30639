/**
 * `producer.transaction()` returns a transaction object with its own `send` and `sendBatch`
 * (traced exactly like the producer's) and `sendOffsets`, `commit` and `abort`, which get a CLIENT
 * span and an operation-duration metric each. Offsets sent with a transaction settle the consumed
 * messages they cover only when that transaction commits.
 */

import { type AnyFunction, Attr, type MetricLabels, recordSpanError, safely, spanName, wrapAll } from '@mqtrail/core';
import { type Attributes, type Context, context, SpanKind, trace } from '@opentelemetry/api';
import {
  type ClientInfo,
  clientAttributes,
  offsetNumber,
  partitionNumber,
  processLabels,
  SYSTEM,
  systemAttributes,
} from './attributes';
import { isObject } from './fields';
import { wrapSend, wrapSendBatch } from './producer';
import { type CallOutcome, failure, isThenable, runTraced } from './run-traced';
import type { WrapContext } from './wrap-context';

export type TransactionOperation = 'send_offsets' | 'commit_transaction' | 'abort_transaction';

interface SentOffset {
  group: string;
  topic: string;
  partition: number;
  offset: number;
}

/** Offsets sent with one transaction, waiting for its outcome. */
interface TransactionState {
  offsets: SentOffset[];
}

/** `producer.transaction()`: instruments the transaction object it resolves to. */
export function wrapTransactionFactory(ctx: WrapContext, client: ClientInfo): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function transaction(this: unknown, ...args: unknown[]) {
      const result: unknown = original.apply(this, args);
      if (!isThenable(result)) return result;
      // Only the fulfilled value is touched; a rejection passes through as it is.
      return result.then((created) => {
        safely('instrumenting a kafkajs transaction', () => instrumentTransaction(ctx, client, created), undefined);
        return created;
      });
    };
}

function instrumentTransaction(ctx: WrapContext, client: ClientInfo, created: unknown): void {
  if (!isObject(created)) return;
  const state: TransactionState = { offsets: [] };
  wrapAll(ctx.shim, [
    { target: created, method: 'send', wrapper: wrapSend(ctx, client) },
    { target: created, method: 'sendBatch', wrapper: wrapSendBatch(ctx, client) },
    { target: created, method: 'sendOffsets', wrapper: wrapSendOffsets(ctx, client, state) },
    { target: created, method: 'commit', wrapper: wrapEnd(ctx, client, 'commit_transaction', state) },
    { target: created, method: 'abort', wrapper: wrapEnd(ctx, client, 'abort_transaction', state) },
  ]);
}

/** Consumer offsets of a `sendOffsets` argument; undefined when not shaped as kafkajs expects. */
export function sentOffsets(argument: unknown): SentOffset[] | undefined {
  if (!isObject(argument) || typeof argument.consumerGroupId !== 'string' || !Array.isArray(argument.topics)) {
    return undefined;
  }
  const group = argument.consumerGroupId;
  const offsets: SentOffset[] = [];
  for (const entry of argument.topics) {
    if (!isObject(entry) || typeof entry.topic !== 'string' || !Array.isArray(entry.partitions)) return undefined;
    for (const partitionOffset of entry.partitions) {
      const partition = isObject(partitionOffset) ? partitionNumber(partitionOffset.partition) : undefined;
      const offset = isObject(partitionOffset) ? offsetNumber(partitionOffset.offset) : undefined;
      if (partition === undefined || offset === undefined) return undefined;
      offsets.push({ group, topic: entry.topic, partition, offset });
    }
  }
  return offsets;
}

/** The span of one transaction call, the context to run the call in, and how to end both. */
interface TracedCall {
  context: Context;
  end(outcome: CallOutcome): void;
}

/**
 * Starts the CLIENT span and the operation timer of a transaction call. Called guarded: whatever
 * throws here, kafkajs is still called, once, untraced.
 */
function startCall(
  ctx: WrapContext,
  client: ClientInfo,
  operation: TransactionOperation,
  options: { destination?: string; attributes?: Attributes },
): TracedCall {
  const attributes: Attributes = {
    ...systemAttributes(),
    [Attr.OPERATION_NAME]: operation,
    ...clientAttributes(client),
    ...options.attributes,
  };
  if (options.destination !== undefined) attributes[Attr.DESTINATION_NAME] = options.destination;
  const parent = context.active();
  const span = ctx.tracer.startSpan(
    spanName(operation, options.destination),
    { kind: SpanKind.CLIENT, attributes },
    parent,
  );
  const labels: MetricLabels = { system: SYSTEM, operation, destination: options.destination };
  const endTiming = ctx.metrics.startOperation(labels);
  return {
    context: trace.setSpan(parent, span),
    end(outcome) {
      try {
        const type = outcome.failed ? recordSpanError(span, failure(outcome)) : undefined;
        endTiming(type);
      } finally {
        span.end();
      }
    },
  };
}

/**
 * One CLIENT span and one `messaging.client.operation.duration` point around a transaction call.
 * The call runs inside the span; `onSuccess` runs (guarded) only when it succeeds, traced or not:
 * the offsets a commit settles are counted even when tracing is broken.
 */
function traceCall(
  ctx: WrapContext,
  client: ClientInfo,
  operation: TransactionOperation,
  options: { destination?: string; attributes?: Attributes },
  call: () => unknown,
  onSuccess: () => void,
): unknown {
  const traced = safely(
    'tracing a kafkajs transaction call',
    () => startCall(ctx, client, operation, options),
    undefined,
  );
  return runTraced(traced?.context, call, (outcome) => {
    safely('ending a kafkajs transaction span', () => traced?.end(outcome), undefined);
    if (!outcome.failed) onSuccess();
  });
}

function wrapSendOffsets(
  ctx: WrapContext,
  client: ClientInfo,
  state: TransactionState,
): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function sendOffsets(this: unknown, ...args: unknown[]) {
      const config = safely('reading kafkajs sendOffsets', () => ctx.config(), undefined);
      const offsets = safely('reading kafkajs sendOffsets', () => sentOffsets(args[0]), undefined);
      const traced = offsets?.filter((offset) => !config?.isIgnored(offset.topic));
      if (traced === undefined || traced.length === 0 || config === undefined) return original.apply(this, args);
      const topics = new Set(traced.map((offset) => offset.topic));
      const group = traced[0]?.group;
      return traceCall(
        ctx,
        client,
        'send_offsets',
        {
          destination: topics.size === 1 ? traced[0]?.topic : undefined,
          attributes: {
            [Attr.OPERATION_TYPE]: 'settle',
            ...(group === undefined ? {} : { [Attr.CONSUMER_GROUP_NAME]: group }),
          },
        },
        () => original.apply(this, args),
        () => state.offsets.push(...traced),
      );
    };
}

function wrapEnd(
  ctx: WrapContext,
  client: ClientInfo,
  operation: 'commit_transaction' | 'abort_transaction',
  state: TransactionState,
): (original: AnyFunction) => AnyFunction {
  return (original) =>
    function end(this: unknown, ...args: unknown[]) {
      return traceCall(
        ctx,
        client,
        operation,
        {},
        () => original.apply(this, args),
        () => {
          const offsets = state.offsets;
          state.offsets = [];
          if (operation === 'commit_transaction') for (const offset of offsets) settle(ctx, client, offset);
        },
      );
    };
}

/** The committed transaction carried consumer offsets: the messages below them are settled. */
function settle(ctx: WrapContext, client: ClientInfo, { group, topic, partition, offset }: SentOffset): void {
  const count = ctx.commits.committed(group, topic, partition, offset);
  if (count > 0)
    ctx.metrics.recordSettled(processLabels({ client, groupId: group }, topic, partition), 'commit', count);
}
