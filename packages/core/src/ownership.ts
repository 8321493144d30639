import { diag } from '@opentelemetry/api';

/** The contrib instrumentation that patches the same client, by client name. */
const CONTRIB: Record<string, string> = {
  amqplib: '@opentelemetry/instrumentation-amqplib',
  kafkajs: '@opentelemetry/instrumentation-kafkajs',
};

const claimed = new Set<string>();

/**
 * Says, once per client and process, that mqtrail found another instrumentation's wrappers on a
 * client it owns and went around them. Two instrumentations of one client would give every
 * message two producer spans, two process spans and two `traceparent` headers; which one won
 * would depend on load order. mqtrail's result is the same whatever the order: its spans only.
 *
 * A Node warning (`process.emitWarning`) rather than `diag`, which is silent unless a logger is
 * registered: a user who registered both should see it once, and can then disable the other.
 */
export function claimClient(client: string, where: string): void {
  if (claimed.has(client)) return;
  claimed.add(client);
  const other = CONTRIB[client] ?? `another ${client} instrumentation`;
  const message =
    `${other} is also registered and patched ${where}; @mqtrail/instrumentation-${client} owns ${client} ` +
    `and bypasses the other's wrappers, so each message gets one span and one traceparent. To silence this, ` +
    `disable it: getNodeAutoInstrumentations({ '${other}': { enabled: false } }).`;
  diag.debug(`mqtrail: ${message}`);
  try {
    process.emitWarning(message, { type: 'MqtrailWarning', code: 'MQTRAIL_CLIENT_OWNED' });
  } catch {
    // A warning listener that throws must not reach the application.
  }
}
