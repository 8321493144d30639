import {
  type AnyFunction,
  type ChainFacts,
  extractMessage,
  type InjectOptions,
  injectHeaders,
  type MetricLabels,
  recordSpanError,
  reportFailure,
  runHook,
  safely,
  startSendSpan,
} from '@mqtrail/core';
import { type Context, diag, INVALID_SPAN_CONTEXT, type Span, trace } from '@opentelemetry/api';
import {
  AmqpAttr,
  type PublishFacts,
  publishAttributes,
  publishDestination,
  publishLabels,
  publishTarget,
  type ServerInfo,
} from './attributes';
import { existingStateOf, newRegistry, type PendingConfirm, stateOf } from './channel-state';
import { serverOfChannel } from './connect';
import type { AmqplibContext } from './context';
import { ChannelClosedError, ConfirmTimeoutError, confirmFailure, ReturnedMessageError } from './errors';
import { fitsHeaderTable, MAX_HEADER_TABLE_BYTES } from './header-size';
import type { OpenRegistry } from './open-registry';
import type { AmqpMessage, AmqpPublishOptions, PublishInfo, ResolvedAmqplibConfig } from './types';

/**
 * The channel whose ConfirmChannel `publish` is running: it calls the plain Channel `publish`
 * underneath (`super.publish` or `Channel.prototype.publish.call`), which must not start a second
 * span. amqplib's publish is synchronous, so one variable (saved and restored around the call, in
 * case a hook publishes too) is enough; a WeakSet add and delete per message cost more.
 */
let publishingWithConfirm: object | undefined;

/**
 * One message on its way out: what the caller asked for, its span, and what to do once amqplib has
 * written it (on a confirm channel: once the broker confirmed it). The one object mqtrail allocates
 * per publish besides the copies of options and headers; it is also what the span's attributes are
 * built from, only when the span records (`publishAttributes` reads it as `PublishFacts`).
 */
class Publication implements PublishFacts, PendingConfirm {
  span: Span = INVALID_SPAN;
  /** What the publish hooks are told; only built for a recording span with a hook configured. */
  info: PublishInfo | undefined;
  /** Labels of the operation duration, recorded once, when the span ends; undefined until it starts. */
  labels: MetricLabels | undefined;
  /** `performance.now()` when the publish started (a field rather than a timing closure per message). */
  startedAt = 0;
  /** Where a confirm channel keeps it until the confirm, under its delivery tag (see `awaitConfirm`). */
  registry: OpenRegistry<number, PendingConfirm> | undefined;
  tag = 0;
  /** When the registry ends it as timed out (set by `OpenRegistry.add`). */
  expiresAt = 0;
  private done = false;
  private returned: Error | undefined;

  constructor(
    private readonly ctx: AmqplibContext,
    private readonly channel: object,
    readonly config: ResolvedAmqplibConfig,
    readonly exchange: unknown,
    readonly routingKey: unknown,
    readonly content: unknown,
    /** The options to hand to amqplib: a copy of the caller's, with propagation headers. */
    readonly options: AmqpPublishOptions,
    readonly confirm: boolean,
  ) {}

  get server(): ServerInfo | undefined {
    return serverOfChannel(this.channel);
  }

  get captureBodySize(): boolean {
    return this.config.captureBodySize;
  }

  markReturned(error: Error): void {
    this.returned = error;
  }

  /** Ends the span: at the write on a plain channel, at the confirm (or close, or timeout) on a confirm channel. */
  finish(error: unknown): void {
    if (this.done) return;
    this.done = true;
    // Awaiting a confirm, the span ends with the broker's answer; else at the write, with its error.
    const awaited = this.registry !== undefined;
    this.registry?.take(this.tag);
    const { span } = this;
    // The span ends even when recording the outcome throws (a failing SDK or meter).
    try {
      const failure = error === null || error === undefined ? this.returned : awaited ? confirmFailure(error) : error;
      const type = failure === undefined ? undefined : recordSpanError(span, failure);
      const { publishConfirmHook } = this.ctx.config();
      if (awaited && publishConfirmHook !== undefined && this.info !== undefined) {
        // amqplib confirms an ack with `null`, as contrib passes it on; a returned message was acked too.
        runHook('publishConfirmHook', publishConfirmHook, span, { ...this.info, confirmError: error ?? null });
      }
      if (this.labels !== undefined) this.ctx.metrics.recordOperationDuration(this.labels, this.startedAt, type);
    } finally {
      span.end();
    }
  }
}

const INVALID_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

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
      const outgoing = tryStartPublish(ctx, this, exchange, routingKey, content, options, false);
      if (outgoing === undefined) return original.call(this, exchange, routingKey, content, options, ...rest);
      let written: unknown;
      try {
        written = original.call(this, exchange, routingKey, content, outgoing.options, ...rest);
      } catch (error) {
        safely('ending a failed publish span', () => outgoing.finish(error), undefined);
        throw error;
      }
      try {
        noteBackpressure(outgoing.span, written);
        outgoing.finish(undefined);
      } catch (error) {
        reportFailure('ending a publish span', error);
      }
      return written;
    };
}

/**
 * Replaces ConfirmChannel `publish` (and so `sendToQueue`). The span stays open until the broker
 * confirms. The caller's callback goes to amqplib untouched: amqplib keeps a publish without one
 * as `false` in `unconfirmed`, and that is what makes `waitForConfirms` reject once the channel
 * closed (before 2.2.1 amqplib drops every function slot on close, so a callback of mqtrail's in
 * that slot would make unconfirmed messages look confirmed). mqtrail learns of the confirm from
 * the channel's own `ack`/`nack` events instead, matched by delivery tag (see `onConfirm`).
 */
export function confirmPublish(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function publish(
      this: object,
      exchange: unknown,
      routingKey: unknown,
      content: unknown,
      options: unknown,
      ...rest: unknown[]
    ) {
      const outgoing = tryStartPublish(ctx, this, exchange, routingKey, content, options, true);
      if (outgoing === undefined) return original.call(this, exchange, routingKey, content, options, ...rest);

      let written: unknown;
      const outer = publishingWithConfirm;
      publishingWithConfirm = this;
      try {
        // `rest` holds the caller's callback, if any, as given.
        written = original.call(this, exchange, routingKey, content, outgoing.options, ...rest);
      } catch (error) {
        safely('ending a failed publish span', () => outgoing.finish(error), undefined);
        throw error;
      } finally {
        publishingWithConfirm = outer;
      }
      try {
        noteBackpressure(outgoing.span, written);
        // No delivery tag to wait for (an amqplib without `lwm`/`unconfirmed`): end at the write.
        if (!awaitConfirm(ctx, this, outgoing)) outgoing.finish(undefined);
      } catch (error) {
        reportFailure('tracking a publisher confirm', error);
      }
      return written;
    };
}

/**
 * `startPublish`, or undefined when it fails: the caller then publishes untraced. Guarded inline
 * rather than through `safely`: no closure per message.
 */
function tryStartPublish(
  ctx: AmqplibContext,
  channel: object,
  exchange: unknown,
  routingKey: unknown,
  content: unknown,
  rawOptions: unknown,
  confirm: boolean,
): Publication | undefined {
  try {
    return startPublish(ctx, channel, exchange, routingKey, content, rawOptions, confirm);
  } catch (error) {
    reportFailure('starting a publish span', error);
    return undefined;
  }
}

/**
 * Span first, then the user's hook, then context injection last, so no hook can change what goes
 * on the wire. Unsampled, this is the fast path: the span costs the SDK the least it can, no
 * attributes or hook arguments are built, and what remains is the send count, the timing, and the
 * headers that carry the (unsampled) trace context and the chain on.
 */
function startPublish(
  ctx: AmqplibContext,
  channel: object,
  exchange: unknown,
  routingKey: unknown,
  content: unknown,
  rawOptions: unknown,
  confirm: boolean,
): Publication {
  const config = ctx.config();
  const destination = publishDestination(exchange, routingKey);
  const options = copyOptions(rawOptions);
  const outgoing = new Publication(ctx, channel, config, exchange, routingKey, content, options, confirm);
  const {
    span,
    context: sendContext,
    chain,
  } = startSendSpan(ctx.tracer, publishTarget(destination), publishAttributes, outgoing);
  outgoing.span = span;
  // Metrics, hook arguments and injection after the start: if any of it throws, the span ends here
  // and the caller publishes the message untraced.
  try {
    const labels = publishLabels(destination);
    ctx.metrics.recordSent(labels);
    outgoing.labels = labels;
    outgoing.startedAt = performance.now();
    if ((config.publishHook !== undefined || config.publishConfirmHook !== undefined) && span.isRecording()) {
      outgoing.info = {
        moduleVersion: ctx.moduleVersion,
        exchange: typeof exchange === 'string' ? exchange : '',
        routingKey: typeof routingKey === 'string' ? routingKey : '',
        content: content as Buffer,
        // Hooks get a copy of their own: what they change never reaches the wire.
        options: hookCopy(options),
        isConfirmChannel: confirm,
      };
      runHook('publishHook', config.publishHook, span, outgoing.info);
    }
    options.headers = headersToSend(span, sendContext, chain, options, config.inject);
  } catch (error) {
    span.end();
    throw error;
  }
  return outgoing;
}

function hookCopy(options: AmqpPublishOptions): AmqpPublishOptions {
  const copy = copyOptions(options);
  if (options.headers !== null && typeof options.headers === 'object') copy.headers = { ...options.headers };
  return copy;
}

function noteBackpressure(span: Span, written: unknown): void {
  // amqplib still sends the message; false means its buffer is full and the app should await 'drain'.
  if (written === false && span.isRecording()) {
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
 * The caller's headers plus trace context and (unless turned off) the chain header, or the caller's headers untouched
 * when adding ours would make the table too large for amqplib to encode (see header-size.ts).
 */
function headersToSend(
  span: Span,
  sendContext: Context,
  chain: ChainFacts,
  options: AmqpPublishOptions,
  inject: InjectOptions,
): Record<string, unknown> | undefined {
  const headers = options.headers;
  if (headers !== undefined && headers !== null && !isTable(headers)) {
    skipPropagation(span, 'headers_not_a_table', 'the headers option is not an object');
    return headers;
  }
  const injected = injectHeaders(sendContext, chain, headers, inject);
  if (!fitsHeaderTable(injected, carbonCopySize(options.CC) + carbonCopySize(options.BCC))) {
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

/**
 * The delivery tag amqplib just gave the message it published: it pushes one slot per publish
 * onto `unconfirmed`, whose first slot is tag `lwm` (lib/channel.js, the same in 0.10–2.3).
 */
function lastDeliveryTag(channel: object): number | undefined {
  const { lwm, unconfirmed } = channel as { lwm?: unknown; unconfirmed?: unknown };
  if (typeof lwm !== 'number' || !Array.isArray(unconfirmed) || unconfirmed.length === 0) return undefined;
  return lwm + unconfirmed.length - 1;
}

/**
 * Registers a confirm-channel publish under its delivery tag, so the confirm, a return, the
 * channel closing or a timeout can end it. False when amqplib's confirm window cannot be read.
 */
function awaitConfirm(ctx: AmqplibContext, channel: object, outgoing: Publication): boolean {
  const tag = lastDeliveryTag(channel);
  if (tag === undefined) return false;
  const state = stateOf(channel);
  state.confirms ??= newRegistry<number, PendingConfirm>((expired) =>
    expired.finish(new ConfirmTimeoutError(ctx.config().confirmTimeoutMs)),
  );
  state.confirms.add(tag, outgoing, ctx.config().confirmTimeoutMs);
  outgoing.registry = state.confirms;
  outgoing.tag = tag;
  return true;
}

/**
 * The channel emitted `ack` or `nack` (basic.ack / basic.nack from the broker): ends the span of
 * the message with that delivery tag, or of every message up to it when `multiple` is set. Runs
 * after amqplib's own listener has called the callbacks. A nack is reported as amqplib reports it
 * to a callback, so the publish-confirm hook sees the same error a callback would.
 */
export function onConfirm(channel: object, fields: unknown, nacked: boolean): void {
  const confirms = existingStateOf(channel)?.confirms;
  if (confirms === undefined || confirms.size === 0) return;
  const { deliveryTag: tag, multiple } = (fields ?? {}) as { deliveryTag?: unknown; multiple?: unknown };
  if (typeof tag !== 'number') return;
  const error = nacked ? new Error('message nacked') : null;
  if (multiple !== true) {
    confirms.get(tag)?.finish(error);
    return;
  }
  finishEach(
    confirms.takeUpTo((open) => open <= tag),
    error,
  );
}

/** Ends each span, one failing (a throwing SDK) never keeping the others open. */
function finishEach(pendings: PendingConfirm[], error: unknown): void {
  for (const pending of pendings) {
    try {
      pending.finish(error);
    } catch (failure) {
      reportFailure('ending a publish span', failure);
    }
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
  const pending = spanId === undefined ? undefined : confirms.find((open) => open.span.spanContext().spanId === spanId);
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
  finishEach(confirms.takeAll(), new ChannelClosedError(cause));
}
