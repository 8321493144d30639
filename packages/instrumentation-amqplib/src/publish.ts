import {
  type AnyFunction,
  type ChainFacts,
  extractMessage,
  injectHeaders,
  recordSpanError,
  runHook,
  safely,
  startSendSpan,
} from '@mqtrail/core';
import { type Context, diag, isSpanContextValid, type Span } from '@opentelemetry/api';
import { AmqpAttr, publishAttributes, publishDestination, publishLabels, SYSTEM } from './attributes';
import { existingStateOf, newRegistry, type PendingConfirm, stateOf } from './channel-state';
import { serverOfChannel } from './connect';
import type { AmqplibContext } from './context';
import { ChannelClosedError, ConfirmTimeoutError, confirmFailure, ReturnedMessageError } from './errors';
import { encodedTableSize, MAX_HEADER_TABLE_BYTES } from './header-size';
import type { OpenRegistry } from './open-registry';
import type { AmqpMessage, AmqpPublishOptions, PublishInfo } from './types';

type ConfirmCallback = (this: unknown, error: unknown, ...rest: unknown[]) => unknown;

/**
 * The channel whose ConfirmChannel `publish` is running: it calls the plain Channel `publish`
 * underneath (`super.publish` or `Channel.prototype.publish.call`), which must not start a second
 * span. amqplib's publish is synchronous, so one variable (saved and restored around the call, in
 * case a hook publishes too) is enough; a WeakSet add and delete per message cost more.
 */
let publishingWithConfirm: object | undefined;

/** One message on its way out: its span, and what to do once amqplib has written it. */
interface OutgoingMessage {
  readonly span: Span;
  /** The options to hand to amqplib: a copy of the caller's, with propagation headers. */
  readonly options: AmqpPublishOptions;
  /** What the publish hooks are told; only built when one is configured. */
  readonly info: PublishInfo | undefined;
  /** Records the operation duration; called once, when the span ends. */
  readonly endTiming: (errorType?: string) => void;
}

/** Replaces `publish` of the promise and callback Channel (and so `sendToQueue`, which calls it). */
export function publish(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function publish(
      this: object,
      exchange: unknown,
      routingKey: unknown,
      content: unknown,
      options: unknown,
      ...rest: unknown[]
    ) {
      if (publishingWithConfirm === this) return original.call(this, exchange, routingKey, content, options, ...rest);
      const outgoing = safely(
        'starting a publish span',
        () => startPublish(ctx, this, { exchange, routingKey, content, options, confirm: false }),
        undefined,
      );
      if (outgoing === undefined) return original.call(this, exchange, routingKey, content, options, ...rest);
      let written: unknown;
      try {
        written = original.call(this, exchange, routingKey, content, outgoing.options, ...rest);
      } catch (error) {
        safely('ending a failed publish span', () => endPublish(outgoing, error), undefined);
        throw error;
      }
      safely(
        'ending a publish span',
        () => {
          noteBackpressure(outgoing.span, written);
          endPublish(outgoing, undefined);
        },
        undefined,
      );
      return written;
    };
}

/**
 * Replaces ConfirmChannel `publish` (and so `sendToQueue`). The span stays open until the broker
 * confirms: amqplib calls the per-message callback on ack, nack or channel close, so mqtrail hands
 * amqplib its own callback that ends the span and then calls the caller's, if any, unchanged.
 */
export function confirmPublish(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function publish(
      this: object,
      exchange: unknown,
      routingKey: unknown,
      content: unknown,
      options: unknown,
      callback: unknown,
      ...rest: unknown[]
    ) {
      // A truthy non-function callback makes amqplib throw when the confirm arrives; leave it be.
      const trackable = callback === undefined || callback === null || typeof callback === 'function';
      const outgoing = trackable
        ? safely(
            'starting a publish span',
            () => startPublish(ctx, this, { exchange, routingKey, content, options, confirm: true }),
            undefined,
          )
        : undefined;
      if (outgoing === undefined) return original.call(this, exchange, routingKey, content, options, callback, ...rest);

      const pending = safely('tracking a publisher confirm', () => awaitConfirm(ctx, this, outgoing), undefined);
      const onConfirm: ConfirmCallback = function (this: unknown, error, ...more) {
        if (pending !== undefined) safely('ending a confirmed publish span', () => pending.finish(error), undefined);
        if (typeof callback === 'function') return (callback as ConfirmCallback).call(this, error, ...more);
      };
      let written: unknown;
      const outer = publishingWithConfirm;
      publishingWithConfirm = this;
      try {
        written = original.call(this, exchange, routingKey, content, outgoing.options, onConfirm, ...rest);
      } catch (error) {
        safely(
          'ending a failed publish span',
          () => (pending ? pending.finish(error) : endPublish(outgoing, error)),
          undefined,
        );
        throw error;
      } finally {
        publishingWithConfirm = outer;
      }
      safely(
        'recording backpressure',
        () => {
          noteBackpressure(outgoing.span, written);
          // Confirm tracking failed to start: end at the write, as on a plain channel.
          if (pending === undefined) endPublish(outgoing, undefined);
        },
        undefined,
      );
      return written;
    };
}

interface PublishArgs {
  exchange: unknown;
  routingKey: unknown;
  content: unknown;
  options: unknown;
  confirm: boolean;
}

/** Span first, then the user's hook, then context injection last, so no hook can change what goes on the wire. */
function startPublish(ctx: AmqplibContext, channel: object, args: PublishArgs): OutgoingMessage {
  const config = ctx.config();
  const destination = publishDestination(args.exchange, args.routingKey);
  const options = copyOptions(args.options);
  const {
    span,
    context: sendContext,
    chain,
  } = startSendSpan(ctx.tracer, {
    system: SYSTEM,
    destination,
    attributes: () =>
      publishAttributes({
        exchange: args.exchange,
        routingKey: args.routingKey,
        options,
        content: args.content,
        server: serverOfChannel(channel),
        captureBodySize: config.captureBodySize,
        confirm: args.confirm,
      }),
  });
  const labels = publishLabels(destination);
  ctx.metrics.recordSent(labels);
  const endTiming = ctx.metrics.startOperation(labels);
  const info: PublishInfo | undefined =
    config.publishHook || config.publishConfirmHook
      ? {
          moduleVersion: ctx.moduleVersion,
          exchange: typeof args.exchange === 'string' ? args.exchange : '',
          routingKey: typeof args.routingKey === 'string' ? args.routingKey : '',
          content: args.content as Buffer,
          // Hooks get a copy of their own: what they change never reaches the wire.
          options: hookCopy(options),
          isConfirmChannel: args.confirm,
        }
      : undefined;
  if (info !== undefined) runHook('publishHook', config.publishHook, span, info);
  options.headers = headersToSend(span, sendContext, chain, options);
  return { span, options, info, endTiming };
}

function hookCopy(options: AmqpPublishOptions): AmqpPublishOptions {
  const copy = copyOptions(options);
  if (options.headers !== null && typeof options.headers === 'object') copy.headers = { ...options.headers };
  return copy;
}

function endPublish(outgoing: OutgoingMessage, error: unknown): void {
  const type = error === undefined ? undefined : recordSpanError(outgoing.span, error);
  outgoing.endTiming(type);
  outgoing.span.end();
}

function noteBackpressure(span: Span, written: unknown): void {
  // amqplib still sends the message; false means its buffer is full and the app should await 'drain'.
  if (written === false) {
    span.setAttribute(AmqpAttr.PUBLISH_BACKPRESSURE, true);
    span.addEvent('backpressure');
  }
}

/**
 * A copy the caller never sees. A plain object is spread; anything else (a class instance, an
 * object with a prototype chain of defaults) is wrapped with `Object.create`, so every property
 * amqplib reads through the chain is still there.
 */
function copyOptions(options: unknown): AmqpPublishOptions {
  if (options === null || typeof options !== 'object') return {};
  const prototype = Object.getPrototypeOf(options);
  if (prototype === Object.prototype || prototype === null) return { ...(options as AmqpPublishOptions) };
  return Object.create(options) as AmqpPublishOptions;
}

/**
 * The caller's headers plus trace context and the chain header, or the caller's headers untouched
 * when adding ours would make the table too large for amqplib to encode (see header-size.ts).
 */
function headersToSend(
  span: Span,
  sendContext: Context,
  chain: ChainFacts,
  options: AmqpPublishOptions,
): Record<string, unknown> | undefined {
  const headers = options.headers;
  if (headers !== undefined && headers !== null && !isTable(headers)) {
    skipPropagation(span, 'headers_not_a_table', 'the headers option is not an object');
    return headers;
  }
  const injected = injectHeaders(sendContext, chain, headers);
  const size = encodedTableSize(injected) + carbonCopySize(options.CC) + carbonCopySize(options.BCC);
  if (size > MAX_HEADER_TABLE_BYTES) {
    skipPropagation(span, 'header_size', `its header table would exceed amqplib's ${MAX_HEADER_TABLE_BYTES} bytes`);
    return headers ?? undefined;
  }
  return injected;
}

function skipPropagation(span: Span, reason: string, why: string): void {
  span.setAttribute(AmqpAttr.PROPAGATION_SKIPPED, reason);
  diag.warn(`mqtrail: trace context not added to a published message: ${why}; the message is sent unchanged`);
}

function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}

/** amqplib adds `CC`/`BCC` to the header table as arrays of long strings (lib/api_args.js). */
function carbonCopySize(value: unknown): number {
  if (value === undefined) return 0;
  const items = Array.isArray(value) ? value : [value];
  let size = 1 + 3 + 1 + 4; // key length byte, up to 3 key bytes, array tag, array length
  for (const item of items) size += 5 + Buffer.byteLength(String(item));
  return size;
}

let unkeyedPublishes = 0;

/** Registers a confirm-channel publish so the confirm, a return, the channel closing or a timeout can end it. */
function awaitConfirm(ctx: AmqplibContext, channel: object, outgoing: OutgoingMessage): PendingConfirm {
  const state = stateOf(channel);
  state.confirms ??= newRegistry<string, PendingConfirm>((expired) =>
    expired.finish(new ConfirmTimeoutError(ctx.config().confirmTimeoutMs)),
  );
  const spanContext = outgoing.span.spanContext();
  // The span id is how a returned message finds its span; without an SDK every id is the invalid
  // one, so fall back to a counter to keep keys unique.
  const key = isSpanContextValid(spanContext) ? spanContext.spanId : `unsampled-${++unkeyedPublishes}`;
  const pending = new ConfirmWait(ctx, outgoing, state.confirms, key);
  state.confirms.add(key, pending, ctx.config().confirmTimeoutMs);
  return pending;
}

class ConfirmWait implements PendingConfirm {
  private done = false;
  private returned: Error | undefined;

  constructor(
    private readonly ctx: AmqplibContext,
    private readonly outgoing: OutgoingMessage,
    private readonly registry: OpenRegistry<string, PendingConfirm>,
    private readonly key: string,
  ) {}

  get span(): Span {
    return this.outgoing.span;
  }

  markReturned(error: Error): void {
    this.returned = error;
  }

  finish(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.registry.take(this.key);
    const { span, info, endTiming } = this.outgoing;
    const failure = error === null || error === undefined ? this.returned : confirmFailure(error);
    const type = failure === undefined ? undefined : recordSpanError(span, failure);
    const { publishConfirmHook } = this.ctx.config();
    if (publishConfirmHook !== undefined && info !== undefined) {
      // amqplib confirms an ack with `null`, as contrib passes it on; a returned message was acked too.
      runHook('publishConfirmHook', publishConfirmHook, span, { ...info, confirmError: error ?? null });
    }
    endTiming(type);
    span.end();
  }
}

/**
 * The broker returned an unroutable mandatory message (the channel's `return` event). Counted
 * always; recorded on the message's span when it is still open, which on a confirm channel it is,
 * since RabbitMQ sends basic.return before the basic.ack.
 */
export function onReturned(ctx: AmqplibContext, channel: object, message: unknown): void {
  if (message === null || typeof message !== 'object') return;
  const { fields, properties } = message as Partial<AmqpMessage>;
  const exchange = fields?.exchange;
  const routingKey = fields?.routingKey;
  ctx.metrics.recordReturned(publishLabels(publishDestination(exchange, routingKey)));
  const confirms = existingStateOf(channel)?.confirms;
  if (confirms === undefined || confirms.size === 0) return;
  const spanId = extractMessage(properties?.headers).creation?.spanId;
  const pending = spanId === undefined ? undefined : confirms.get(spanId);
  if (pending === undefined) return;
  const { replyCode, replyText } = (fields ?? {}) as { replyCode?: unknown; replyText?: unknown };
  const error = new ReturnedMessageError(replyCode, replyText);
  pending.span.setAttribute(AmqpAttr.RETURNED, true);
  if (typeof replyCode === 'number') pending.span.setAttribute(AmqpAttr.RETURN_CODE, replyCode);
  if (typeof replyText === 'string') pending.span.setAttribute(AmqpAttr.RETURN_REASON, replyText);
  pending.span.addEvent('message returned', {
    ...(typeof replyCode === 'number' ? { [AmqpAttr.RETURN_CODE]: replyCode } : {}),
    ...(typeof replyText === 'string' ? { [AmqpAttr.RETURN_REASON]: replyText } : {}),
  });
  pending.markReturned(error);
}

/** Ends every publish still waiting for a confirm on a channel that closed. */
export function closeConfirms(channel: object, cause: unknown): void {
  const confirms = existingStateOf(channel)?.confirms;
  if (confirms === undefined) return;
  for (const pending of confirms.takeAll()) pending.finish(new ChannelClosedError(cause));
}
