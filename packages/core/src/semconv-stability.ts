/**
 * Which names of the messaging conventions mqtrail writes, as their migration plan asks of
 * instrumentations that emitted the names before 1.45
 * (https://opentelemetry.io/docs/specs/semconv/messaging/): `OTEL_SEMCONV_STABILITY_OPT_IN` is a
 * comma-separated list where
 * - `messaging` means only the 1.45 names (`messaging.system.name`, `kafka.*`, `rabbitmq.*`),
 * - `messaging/dup` means both, old and new (and wins over `messaging` when both are listed),
 * - anything else, or nothing, means the names mqtrail has always written.
 *
 * The variable is read once, when this module loads, and the choice is kept as arrays of names:
 * spans and metric points set a renamed attribute under each name in its array, so nothing about
 * the mode is decided per message.
 */
import type { Attributes, AttributeValue } from '@opentelemetry/api';
import { RenamedAttr, type RenamedAttribute } from './semconv';

export const SEMCONV_STABILITY_OPT_IN = 'OTEL_SEMCONV_STABILITY_OPT_IN';

/** `old`: names before 1.45 (the default); `new`: the 1.45 names only; `dup`: both. */
export type SemconvMode = 'old' | 'new' | 'dup';

/**
 * The messaging mode in an `OTEL_SEMCONV_STABILITY_OPT_IN` value. Tolerant, as environment
 * variables are typed by hand: spaces and case are ignored, and so are empty and unknown entries
 * (other categories such as `http` belong to other instrumentations).
 */
export function parseSemconvMode(optIn: string | undefined): SemconvMode {
  let mode: SemconvMode = 'old';
  for (const entry of (optIn ?? '').split(',')) {
    const token = entry.trim().toLowerCase();
    if (token === 'messaging/dup') return 'dup';
    if (token === 'messaging') mode = 'new';
  }
  return mode;
}

/** For each attribute 1.45 renamed, the names it is written under: one, or both in `dup` mode. */
export type SemconvNames = { readonly mode: SemconvMode } & {
  readonly [K in RenamedAttribute]: readonly string[];
};

/** The names each renamed attribute is written under in a mode. */
export function semconvNames(mode: SemconvMode): SemconvNames {
  const names = { mode } as { mode: SemconvMode } & Record<RenamedAttribute, readonly string[]>;
  for (const key of Object.keys(RenamedAttr) as RenamedAttribute[]) {
    const { old: before, new: since } = RenamedAttr[key];
    names[key] = Object.freeze(mode === 'old' ? [before] : mode === 'new' ? [since] : [before, since]);
  }
  return Object.freeze(names);
}

function environmentValue(): string | undefined {
  try {
    return globalThis.process?.env?.[SEMCONV_STABILITY_OPT_IN];
  } catch {
    // An environment that forbids reading it (a sandbox, a throwing proxy): the default mode.
    return undefined;
  }
}

/** This process's mode, from `OTEL_SEMCONV_STABILITY_OPT_IN` as it was when mqtrail loaded. */
export const SEMCONV_MODE: SemconvMode = parseSemconvMode(environmentValue());

/** The names this process writes; what every span and metric builder uses unless given others. */
export const SEMCONV_NAMES: SemconvNames = semconvNames(SEMCONV_MODE);

/** Sets a renamed attribute under each of its names. */
export function setRenamed(attributes: Attributes, names: readonly string[], value: AttributeValue): void {
  for (const name of names) attributes[name] = value;
}
