import { callInContext, type MessageProcess, type ProcessEnd, reportFailure, safely } from '@mqtrail/core';
import type { Context } from '@opentelemetry/api';

/** How a traced call ended: what it returned or resolved to, or what it threw or rejected with. */
export type CallOutcome = { failed: false; value: unknown } | { failed: true; error: unknown };

export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `call` inside `active` (undefined: in the context it is called in) and reports once how it
 * ended: when it returns or throws, or when the promise it returns settles. What `call` returns,
 * throws or rejects with reaches the caller unchanged; `onEnd` is mqtrail's bookkeeping and runs
 * guarded, so it can never replace it. `call` runs exactly once, even if the context manager throws.
 */
export function runTraced<T>(active: Context | undefined, call: () => T, onEnd: (outcome: CallOutcome) => void): T {
  const end = (outcome: CallOutcome) => safely('ending a span', () => onEnd(outcome), undefined);
  let result: T;
  try {
    result = active === undefined ? call() : callInContext(active, call);
  } catch (error) {
    end({ failed: true, error });
    throw error;
  }
  if (!isThenable(result)) {
    end({ failed: false, value: result });
    return result;
  }
  return result.then(
    (value) => {
      end({ failed: false, value });
      return value;
    },
    (error: unknown) => {
      end({ failed: true, error });
      throw error;
    },
  ) as T;
}

/** `error` for core's `MessageProcess.end` and `recordSpanError`, which read undefined as success. */
export function failure(outcome: CallOutcome): unknown {
  if (!outcome.failed) return undefined;
  return outcome.error === undefined ? null : outcome.error;
}

const SUCCEEDED: ProcessEnd = {};

/**
 * `runTraced` for one consumed message's handler, ending its `MessageProcess` with the handler's
 * error, if any: the same contract, without an outcome object and two closures more per message.
 */
export function runProcess<T>(process: MessageProcess, call: () => T): T {
  let result: T;
  try {
    result = callInContext(process.context, call);
  } catch (error) {
    endProcess(process, { error: error === undefined ? null : error });
    throw error;
  }
  if (!isThenable(result)) {
    endProcess(process, SUCCEEDED);
    return result;
  }
  return result.then(
    (value) => {
      endProcess(process, SUCCEEDED);
      return value;
    },
    (error: unknown) => {
      endProcess(process, { error: error === undefined ? null : error });
      throw error;
    },
  ) as T;
}

function endProcess(process: MessageProcess, end: ProcessEnd): void {
  try {
    process.end(end);
  } catch (error) {
    reportFailure('ending a span', error);
  }
}
