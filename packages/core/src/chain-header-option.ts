/**
 * The variable that turns the `mqtrail` chain header off for every instrumentation in the process,
 * however they were registered (`@mqtrail/register` or the application's own NodeSDK): what goes
 * on the wire is a deployment decision, like the propagator.
 */
export const CHAIN_HEADER_ENV = 'MQTRAIL_CHAIN_HEADER';

const warned = new Set<string>();

/**
 * Whether producers add the `mqtrail` header next to the trace context. The configuration field
 * wins when it is a boolean; else `MQTRAIL_CHAIN_HEADER` (`true` or `false`, any case); else on.
 * Any other value of the variable is ignored with one `MqtrailWarning` per value, because a typo
 * must neither stop the application nor silently change what it sends.
 */
export function chainHeaderEnabled(option: unknown, env: Record<string, string | undefined> = process.env): boolean {
  if (typeof option === 'boolean') return option;
  const value = env[CHAIN_HEADER_ENV]?.trim().toLowerCase();
  if (value === undefined || value === '' || value === 'true') return true;
  if (value === 'false') return false;
  if (!warned.has(value)) {
    warned.add(value);
    process.emitWarning(
      `mqtrail: ${CHAIN_HEADER_ENV} must be "true" or "false", got ${JSON.stringify(value)}; the chain header stays on`,
      { type: 'MqtrailWarning', code: 'MQTRAIL_INVALID_ENV' },
    );
  }
  return true;
}
