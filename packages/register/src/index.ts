/**
 * `node --require @mqtrail/register app.js` (or `--import` for ES modules, see register.mjs):
 * starts OpenTelemetry with the mqtrail instrumentations before the application loads.
 * A failure here is reported and the application starts untraced: telemetry must never be the
 * reason an application does not run.
 */
import { MqtrailError } from './errors';
import { type MqtrailHandle, startMqtrail } from './sdk';
import { warn } from './warn';

let handle: MqtrailHandle | undefined;
try {
  handle = startMqtrail();
} catch (error) {
  const reason = error instanceof Error ? error.message : String(error);
  warn(new MqtrailError('MQTRAIL_NOT_STARTED', `not started, the application runs untraced: ${reason}`));
}

/** The running SDK, for applications that want to flush or shut it down themselves. */
export const mqtrail: MqtrailHandle | undefined = handle;
