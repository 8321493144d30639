import { type AnyFunction, reportFailure, safely } from '@mqtrail/core';
import { existingStateOf } from './channel-state';
import type { AmqplibContext } from './context';
import { closeConfirms, onConfirm, onReturned } from './publish';
import { closeDeliveries } from './settle';

/**
 * Replaces `emit` of amqplib's base Channel (lib/channel.js), which every channel of both APIs
 * inherits. Watching emit rather than adding listeners matters for `error`: a listener would stop
 * an unhandled channel error from reaching the application, which must see it as it would
 * without mqtrail.
 */
export function emit(ctx: AmqplibContext) {
  return (original: AnyFunction): AnyFunction =>
    function emit(this: object, event: unknown, payload: unknown) {
      if (event === 'return') {
        safely('recording a returned message', () => onReturned(ctx, this, payload), undefined);
      } else if (event === 'error') {
        const state = existingStateOf(this);
        if (state !== undefined) state.lastError = payload;
      }
      if (event !== 'close' && event !== 'ack' && event !== 'nack') {
        // `arguments` passed on whole, not a rest array spread again: every delivery is emitted.
        // biome-ignore lint/complexity/noArguments: forwarding every argument without copying them
        return original.apply(this, arguments as unknown as unknown[]);
      }
      try {
        // amqplib's own listeners run first: its confirm callbacks get their answer (or, on close,
        // its own error) before mqtrail ends the spans.
        // biome-ignore lint/complexity/noArguments: as above
        return original.apply(this, arguments as unknown as unknown[]);
      } finally {
        if (event === 'close') {
          safely('ending the spans of a closed channel', () => onClosed(ctx, this), undefined);
        } else {
          // Guarded inline: a confirm-channel publish gets an ack event, so no closure per message.
          try {
            onConfirm(this, payload, event === 'nack');
          } catch (error) {
            reportFailure('ending a confirmed publish span', error);
          }
        }
      }
    };
}

function onClosed(ctx: AmqplibContext, channel: object): void {
  const state = existingStateOf(channel);
  if (state === undefined) return;
  const cause = state.lastError;
  state.lastError = undefined;
  closeConfirms(channel, cause);
  closeDeliveries(ctx, channel, cause);
}
