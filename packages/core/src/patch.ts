import { diag } from '@opentelemetry/api';
import { isWrapped } from '@opentelemetry/instrumentation';

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
 * Applies a list of patches. Patching described as data keeps every instrumentation's
 * enable/disable to two calls instead of a hand-written block per method. A method the client
 * version does not have is skipped (older clients lack some), and one already wrapped (enable
 * called twice) is unwrapped first so wrappers never stack.
 */
export function wrapAll(shim: Shim, patches: readonly MethodPatch[]): void {
  for (const { target, method, wrapper } of patches) {
    const current = (target as Record<string, unknown>)[method];
    if (typeof current !== 'function') {
      diag.debug(`mqtrail: ${method} not found on the client, not patched`);
      continue;
    }
    if (isWrapped(current)) shim.unwrap(target, method);
    shim.wrap(target, method, wrapper);
  }
}

export function unwrapAll(shim: Shim, patches: readonly MethodPatch[]): void {
  for (const { target, method } of patches) {
    if (isWrapped((target as Record<string, unknown>)[method])) shim.unwrap(target, method);
  }
}
