import { diag } from '@opentelemetry/api';

// biome-ignore lint/suspicious/noExplicitAny: a patch must accept any method signature of the client.
export type AnyFunction = (this: any, ...args: any[]) => any;

/** One method to replace: where it lives, its name, and how to build the replacement. */
export interface MethodPatch {
  target: object;
  method: string;
  wrapper: (original: AnyFunction) => AnyFunction;
}

/** The shimmer operations `InstrumentationBase` provides as `_wrap` / `_unwrap`. */
export interface Shim {
  wrap(target: object, method: string, wrapper: (original: AnyFunction) => AnyFunction): void;
  unwrap(target: object, method: string): void;
}

/**
 * A function replaced by shimmer, the wrapping helper every OpenTelemetry instrumentation uses
 * through `InstrumentationBase._wrap`: it marks each wrapper with these three properties. Checked
 * here rather than imported from `@opentelemetry/instrumentation` so the core does not depend on
 * one generation of it.
 */
export interface Wrapped extends AnyFunction {
  __original: AnyFunction;
  __unwrap: () => void;
  __wrapped: true;
}

export function isWrapped(fn: unknown): fn is Wrapped {
  const candidate = fn as Partial<Wrapped> | undefined;
  return (
    typeof fn === 'function' &&
    typeof candidate?.__original === 'function' &&
    typeof candidate.__unwrap === 'function' &&
    candidate.__wrapped === true
  );
}

/** The client's own function beneath every wrapper, mqtrail's or another instrumentation's. */
export function unwrapped(fn: AnyFunction): AnyFunction {
  let current = fn;
  while (isWrapped(current)) current = current.__original;
  return current;
}

/** Every wrapper mqtrail's instrumentations installed; any other shimmer wrapper is foreign. */
const installed = new WeakSet<AnyFunction>();

/** True if `fn` is, or wraps, a wrapper another instrumentation installed. */
export function hasForeignWrapper(fn: unknown): boolean {
  for (let current = fn; isWrapped(current); current = current.__original) {
    if (!installed.has(current)) return true;
  }
  return false;
}

/** Records a function as mqtrail's own wrapper (for wrappers installed without `wrapAll`). */
export function markInstalled(fn: AnyFunction): AnyFunction {
  installed.add(fn);
  return fn;
}

/**
 * Applies a list of patches. Patching described as data keeps every instrumentation's
 * enable/disable to two calls instead of a hand-written block per method. A method the client
 * version does not have is skipped (older clients lack some).
 *
 * The wrapper always goes around the client's own method: every wrapper already there is removed
 * first. Ours (enable called twice) would stack; another instrumentation's — contrib's, when
 * auto-instrumentations-node registered it before mqtrail — would trace every message twice and
 * put a second `traceparent` on the wire. `onForeign` hears of each foreign wrapper removed.
 */
export function wrapAll(shim: Shim, patches: readonly MethodPatch[], onForeign?: (method: string) => void): void {
  for (const { target, method, wrapper } of patches) {
    const current = (target as Record<string, unknown>)[method];
    if (typeof current !== 'function') {
      diag.debug(`mqtrail: ${method} not found on the client, not patched`);
      continue;
    }
    if (hasForeignWrapper(current)) onForeign?.(method);
    // Each `__unwrap` restores what its wrapper replaced; the bound guards against a cycle.
    for (let layers = 0; layers < 16 && isWrapped((target as Record<string, unknown>)[method]); layers++) {
      shim.unwrap(target, method);
    }
    shim.wrap(target, method, wrapper);
    const replacement = (target as Record<string, unknown>)[method];
    if (typeof replacement === 'function') installed.add(replacement as AnyFunction);
  }
}

export function unwrapAll(shim: Shim, patches: readonly MethodPatch[]): void {
  for (const { target, method } of patches) {
    if (isWrapped((target as Record<string, unknown>)[method])) shim.unwrap(target, method);
  }
}
