/**
 * Stable codes, so scripts and tests can tell register's errors and warnings apart without
 * parsing text. Each one appears as `[code]` in the process warning Node prints on stderr.
 */
export type MqtrailErrorCode =
  /** An option passed in code breaks a rule. */
  | 'MQTRAIL_INVALID_OPTION'
  /** An environment variable breaks a rule; its default (or nothing) is used instead. */
  | 'MQTRAIL_INVALID_ENV'
  /** The Prometheus endpoint cannot listen (port in use, host not of this machine, …). */
  | 'MQTRAIL_METRICS_UNAVAILABLE'
  /** The trace collector cannot be reached; spans are dropped until it can. */
  | 'MQTRAIL_EXPORT_FAILED'
  /** Not a fault: the first export after MQTRAIL_EXPORT_FAILED succeeded; says what the outage dropped. */
  | 'MQTRAIL_EXPORT_RECOVERED'
  /** Start-up failed as a whole; the application runs untraced. */
  | 'MQTRAIL_NOT_STARTED';

/** The codes of configuration errors, which name the option at fault. */
export type MqtrailConfigErrorCode = Extract<
  MqtrailErrorCode,
  'MQTRAIL_INVALID_OPTION' | 'MQTRAIL_INVALID_ENV' | 'MQTRAIL_METRICS_UNAVAILABLE'
>;

/** An error or warning of @mqtrail/register, with a stable `code`. */
export class MqtrailError extends Error {
  override readonly name: string = 'MqtrailError';

  constructor(
    readonly code: MqtrailErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A configuration value that breaks a rule. The message names the option, the value and the
 * rule; `fallback` says what register does instead, because a typo must not stop the application.
 */
export class MqtrailConfigError extends MqtrailError {
  override readonly name: string = 'MqtrailConfigError';

  constructor(
    override readonly code: MqtrailConfigErrorCode,
    /** The option or environment variable at fault. */
    readonly option: string,
    rule: string,
    /** What is done instead, e.g. "using the default" or "metrics endpoint disabled, tracing continues". */
    readonly fallback = 'using the default',
  ) {
    super(code, `${option} ${rule}`);
  }
}
