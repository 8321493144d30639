/** Stable codes, so scripts and tests can tell configuration errors apart without parsing text. */
export type MqtrailConfigErrorCode = 'MQTRAIL_INVALID_OPTION' | 'MQTRAIL_INVALID_ENV';

/** A configuration value that breaks a rule. The message names the option and the rule. */
export class MqtrailConfigError extends Error {
  override readonly name = 'MqtrailConfigError';

  constructor(
    readonly code: MqtrailConfigErrorCode,
    /** The option or environment variable at fault. */
    readonly option: string,
    rule: string,
  ) {
    super(`${option} ${rule}`);
  }
}
