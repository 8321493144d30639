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

type Env = Record<string, string | undefined>;

/**
 * Reads mqtrail's own variables. A wrong value is collected in `problems` (each a
 * MqtrailConfigError naming the variable and the rule) and the default is used, because a typo in
 * an environment variable must not stop the application from starting.
 */
export function readEnvOptions(env: Env = process.env): { options: EnvOptions; problems: MqtrailConfigError[] } {
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
  const options: EnvOptions = {
    instrumentations: read(() => instrumentationList(env, 'MQTRAIL_INSTRUMENTATIONS')) ?? [...INSTRUMENTATION_NAMES],
    useLinksForConsume: read(() => boolean(env, 'MQTRAIL_USE_LINKS_FOR_CONSUME')),
    captureBodySize: read(() => boolean(env, 'MQTRAIL_CAPTURE_BODY_SIZE')),
    kafkajs: {
      captureMessageKey: read(() => boolean(env, 'MQTRAIL_KAFKAJS_CAPTURE_MESSAGE_KEY')),
      ignoreTopics: read(() => list(env, 'MQTRAIL_KAFKAJS_IGNORE_TOPICS')),
    },
    amqplib: { consumeTimeoutMs: read(() => positiveInteger(env, 'MQTRAIL_AMQPLIB_CONSUME_TIMEOUT_MS')) },
  };
  return { options, problems };
}

function raw(env: Env, name: string): string | undefined {
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
  const unknown = items.filter((item) => !(INSTRUMENTATION_NAMES as readonly string[]).includes(item));
  if (unknown.length > 0) {
    throw new MqtrailConfigError(
      'MQTRAIL_INVALID_ENV',
      name,
      `must list only ${INSTRUMENTATION_NAMES.join(', ')} (comma-separated), got unknown ${unknown.join(', ')}`,
    );
  }
  return items as InstrumentationName[];
}
