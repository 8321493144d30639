import { type Context, context, diag } from '@opentelemetry/api';

/**
 * Runs a user-supplied hook so that nothing it does reaches the application: a throw or a
 * rejected promise is reported through `diag` and otherwise ignored. Instrumentations call every
 * hook through this; a hook that fails never changes what the client does.
 */
export function runHook<Args extends unknown[]>(
  name: string,
  hook: ((...args: Args) => unknown) | undefined,
  ...args: Args
): void {
  if (hook === undefined) return;
  try {
    const result = hook(...args);
    if (result !== null && typeof result === 'object' && typeof (result as Promise<unknown>).then === 'function') {
      (result as Promise<unknown>).then(undefined, (error: unknown) => reportHookError(name, error));
    }
  } catch (error) {
    reportHookError(name, error);
  }
}

function reportHookError(name: string, error: unknown): void {
  diag.error(`mqtrail: ${name} threw; the hook's error is ignored`, error);
}

/**
 * Runs instrumentation's own bookkeeping around a client call. If mqtrail has a bug, the
 * application must still work: the failure is reported and `fallback` is returned.
 */
export function safely<T>(what: string, work: () => T, fallback: T): T {
  try {
    return work();
  } catch (error) {
    reportFailure(what, error);
    return fallback;
  }
}

/**
 * What `safely` reports when its work throws. For the per-message paths that catch inline, so
 * that no closure is allocated per message just to be guarded.
 */
export function reportFailure(what: string, error: unknown): void {
  diag.error(`mqtrail: ${what} failed; the message is handled without instrumentation`, error);
}

/** Calls into the application that `callInContext` entered: only whether it changed matters. */
let entered = 0;

function enter<T>(call: () => T): T {
  entered++;
  return call();
}

/**
 * `context.with(active, call)`, except that `call` runs even when the context manager cannot enter
 * `active`: it throws before calling back, the failure is reported and `call` runs outside the
 * context, once. What `call` returns or throws reaches the caller unchanged. Whether the manager
 * got as far as calling back is told by a counter, not a closure, so a message costs nothing more.
 */
export function callInContext<T>(active: Context, call: () => T): T {
  const before = entered;
  try {
    return context.with(active, enter<T>, undefined, call);
  } catch (error) {
    // The application's own code ran and threw (or a manager failed after it): the error is theirs.
    if (entered !== before) throw error;
    reportFailure('entering a span context', error);
    return call();
  }
}
