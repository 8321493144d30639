/** Stable codes, so scripts and tests can tell failures apart without parsing text. */
export type MqtrailCliErrorCode =
  | 'MQTRAIL_INVALID_ARGUMENT'
  | 'MQTRAIL_JAEGER_UNREACHABLE'
  | 'MQTRAIL_JAEGER_ERROR'
  | 'MQTRAIL_TRACE_NOT_FOUND'
  | 'MQTRAIL_KAFKA_UNREACHABLE';

/** Exit codes of the `mqtrail` command; the README lists them. */
export const ExitCode = {
  OK: 0,
  /** Jaeger could not be reached or answered with an error, the trace is unknown, or a bug. */
  ERROR: 1,
  /** `audit` found more than its `--fail-on` thresholds allow. */
  FINDINGS: 2,
  /** Bad arguments (sysexits.h `EX_USAGE`). */
  USAGE: 64,
} as const;

/** Base of every error mqtrail's CLI and library raise on purpose. */
export class MqtrailCliError extends Error {
  override readonly name: string = 'MqtrailCliError';

  constructor(
    readonly code: MqtrailCliErrorCode,
    message: string,
    /** Exit code the `mqtrail` command ends with on this error. */
    readonly exitCode: number = ExitCode.ERROR,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** An option or argument that breaks a rule. The message names the option and the rule. */
export class InvalidArgumentError extends MqtrailCliError {
  override readonly name = 'InvalidArgumentError';

  constructor(
    /** The option or argument at fault, e.g. `--since`. */
    readonly option: string,
    rule: string,
  ) {
    super('MQTRAIL_INVALID_ARGUMENT', `${option} ${rule}`, ExitCode.USAGE);
  }
}

/** No HTTP answer from Jaeger at all: wrong URL, Jaeger down, or too slow. */
export class JaegerUnreachableError extends MqtrailCliError {
  override readonly name = 'JaegerUnreachableError';

  constructor(
    readonly url: string,
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? causeText(cause) : String(cause);
    super(
      'MQTRAIL_JAEGER_UNREACHABLE',
      `cannot reach Jaeger's query API at ${url} (${reason}); set --jaeger-url or MQTRAIL_JAEGER_URL ` +
        'to the query service (port 16686 by default)',
      ExitCode.ERROR,
      { cause },
    );
  }
}

/** Jaeger answered, but not with what its API promises (an error status or unreadable JSON). */
export class JaegerResponseError extends MqtrailCliError {
  override readonly name = 'JaegerResponseError';

  constructor(
    readonly url: string,
    readonly status: number,
    detail: string,
  ) {
    super('MQTRAIL_JAEGER_ERROR', `Jaeger answered ${url} with ${status}: ${detail}`);
  }
}

export class TraceNotFoundError extends MqtrailCliError {
  override readonly name = 'TraceNotFoundError';

  constructor(readonly traceId: string) {
    super(
      'MQTRAIL_TRACE_NOT_FOUND',
      `trace ${traceId} is not in Jaeger (unknown id, or older than Jaeger keeps traces)`,
      ExitCode.ERROR,
    );
  }
}

/** `audit --follow` could not reach the Kafka brokers, or Kafka refused what the worker needs. */
export class KafkaUnreachableError extends MqtrailCliError {
  override readonly name = 'KafkaUnreachableError';

  constructor(
    readonly brokers: string[],
    cause: unknown,
  ) {
    const reason = cause instanceof Error ? causeText(cause) : String(cause);
    super(
      'MQTRAIL_KAFKA_UNREACHABLE',
      `cannot start the audit on Kafka at ${brokers.join(',')} (${reason}); set --kafka-brokers or ` +
        'MQTRAIL_KAFKA_BROKERS to the bootstrap brokers (transactions enabled, Kafka 2.5 or later)',
      ExitCode.ERROR,
      { cause },
    );
  }
}

// fetch() reports "fetch failed" and puts the useful part (ECONNREFUSED, a timeout) in `cause`.
function causeText(error: Error): string {
  const parts = [error.message];
  let cause = error.cause;
  for (let depth = 0; cause instanceof Error && depth < 3; depth++) {
    const code = (cause as Error & { code?: unknown }).code;
    parts.push(typeof code === 'string' && !cause.message.includes(code) ? `${code} ${cause.message}` : cause.message);
    cause = cause.cause;
  }
  return parts.join(': ');
}
