import { MqtrailConfigError } from './errors';

/** Which instrumentations to turn on and how, as read from `MQTRAIL_*` variables. */
export interface EnvOptions {
  instrumentations: InstrumentationName[];
  useLinksForConsume?: boolean;
  captureBodySize?: boolean;
  kafkajs: { captureMessageKey?: boolean; ignoreTopics?: string[] };
  amqplib: { consumeTimeoutMs?: number };
}

export const INSTRUMENTATION_NAMES = ['kafkajs', 'amqplib'] as const;
export type InstrumentationName = (typeof INSTRUMENTATION_NAMES)[number];

export type Env = Record<string, string | undefined>;

/**
 * Reads mqtrail's own variables and OpenTelemetry's instrumentation switches
 * (`OTEL_NODE_ENABLED_INSTRUMENTATIONS`, `OTEL_NODE_DISABLED_INSTRUMENTATIONS`). A wrong value is
 * collected in `problems` (each a MqtrailConfigError naming the variable and the rule) and the
 * default is used, because a typo in an environment variable must not stop the application from
 * starting. `notes` are for the debug log: things ignored on purpose.
 */
export function readEnvOptions(env: Env = process.env): {
  options: EnvOptions;
  problems: MqtrailConfigError[];
  notes: string[];
} {
  const problems: MqtrailConfigError[] = [];
  const read = <T>(parse: () => T | undefined): T | undefined => {
    try {
      return parse();
    } catch (error) {
      if (error instanceof MqtrailConfigError) problems.push(error);
      else throw error;
      return undefined;
    }
  };
  const notes: string[] = [];
  const selected = read(() => instrumentationList(env, 'MQTRAIL_INSTRUMENTATIONS')) ?? [...INSTRUMENTATION_NAMES];
  const options: EnvOptions = {
    instrumentations: applyOtelSwitches(env, selected, notes),
    useLinksForConsume: read(() => boolean(env, 'MQTRAIL_USE_LINKS_FOR_CONSUME')),
    captureBodySize: read(() => boolean(env, 'MQTRAIL_CAPTURE_BODY_SIZE')),
    kafkajs: {
      captureMessageKey: read(() => boolean(env, 'MQTRAIL_KAFKAJS_CAPTURE_MESSAGE_KEY')),
      ignoreTopics: read(() => list(env, 'MQTRAIL_KAFKAJS_IGNORE_TOPICS')),
    },
    amqplib: { consumeTimeoutMs: read(() => positiveInteger(env, 'MQTRAIL_AMQPLIB_CONSUME_TIMEOUT_MS')) },
  };
  return { options, problems, notes };
}

/**
 * The same semantics as @opentelemetry/auto-instrumentations-node, so one pair of variables
 * drives both: names without the `@opentelemetry/instrumentation-` prefix; a non-empty enabled
 * list keeps only what it names, then the disabled list removes. Names of other
 * instrumentations (`http`, `pg`, …) are legitimate in a shared variable, so they are only noted.
 */
function applyOtelSwitches(env: Env, selected: InstrumentationName[], notes: string[]): InstrumentationName[] {
  let result = selected;
  for (const name of ['OTEL_NODE_ENABLED_INSTRUMENTATIONS', 'OTEL_NODE_DISABLED_INSTRUMENTATIONS'] as const) {
    const items = list(env, name);
    if (items === undefined || items.length === 0) continue;
    const unknown = items.filter((item) => !isInstrumentationName(item));
    if (unknown.length > 0) {
      notes.push(`${name}: ignoring ${unknown.join(', ')} (mqtrail's are ${INSTRUMENTATION_NAMES.join(', ')})`);
    }
    result =
      name === 'OTEL_NODE_ENABLED_INSTRUMENTATIONS'
        ? result.filter((item) => items.includes(item))
        : result.filter((item) => !items.includes(item));
  }
  return result;
}

function isInstrumentationName(value: string): value is InstrumentationName {
  return (INSTRUMENTATION_NAMES as readonly string[]).includes(value);
}

export function raw(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}

function boolean(env: Env, name: string): boolean | undefined {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return undefined;
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new MqtrailConfigError('MQTRAIL_INVALID_ENV', name, `must be "true" or "false", got ${JSON.stringify(value)}`);
}

function list(env: Env, name: string): string[] | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  return value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function positiveInteger(env: Env, name: string): number | undefined {
  const value = raw(env, name);
  if (value === undefined) return undefined;
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) {
    throw new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      name,
      `must be a positive whole number of milliseconds, got ${JSON.stringify(value)}`,
    );
  }
  return number;
}

function instrumentationList(env: Env, name: string): InstrumentationName[] | undefined {
  const items = list(env, name);
  if (items === undefined) return undefined;
  const unknown = items.filter((item) => !isInstrumentationName(item));
  if (unknown.length > 0) {
    throw new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      name,
      `must list only ${INSTRUMENTATION_NAMES.join(', ')} (comma-separated), got unknown ${unknown.join(', ')}`,
    );
  }
  return items as InstrumentationName[];
}
