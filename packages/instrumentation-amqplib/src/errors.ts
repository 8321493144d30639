/**
 * Errors mqtrail records on spans when amqplib gives no error object of its own, or only a
 * generic `Error`. Their names become `error.type`, a bounded metric label, so each names one
 * failure mode. None of them is ever thrown into the application.
 */

/** The channel (or its connection) closed while a span waited for settlement or a confirm. */
export class ChannelClosedError extends Error {
  override readonly name = 'ChannelClosedError';
  constructor(cause?: unknown) {
    super(
      cause instanceof Error ? `channel closed: ${cause.message}` : 'channel closed before the message was settled',
      cause === undefined ? undefined : { cause },
    );
  }
}

/** The broker answered a confirm-channel publish with basic.nack. */
export class PublishNackedError extends Error {
  override readonly name = 'PublishNackedError';
  constructor() {
    super('the broker nacked the message');
  }
}

/** No basic.ack or basic.nack arrived within `confirmTimeoutMs`. */
export class ConfirmTimeoutError extends Error {
  override readonly name = 'ConfirmTimeoutError';
  constructor(timeoutMs: number) {
    super(`no publisher confirm within ${timeoutMs} ms`);
  }
}

/** A mandatory message the broker could not route came back with basic.return. */
export class ReturnedMessageError extends Error {
  override readonly name = 'ReturnedMessageError';
  constructor(replyCode: unknown, replyText: unknown) {
    super(`the broker returned the message: ${String(replyCode)} ${String(replyText)}`);
  }
}

/**
 * amqplib reports a nack and a close to a confirm callback as plain Errors whose messages are
 * stable across 0.10–2.x (lib/channel.js); map them to errors whose name says which it was.
 */
export function confirmFailure(error: unknown): unknown {
  if (!(error instanceof Error) || error.name !== 'Error') return error;
  if (error.message === 'message nacked') return new PublishNackedError();
  if (error.message === 'channel closed') return new ChannelClosedError();
  return error;
}
