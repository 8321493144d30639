/**
 * `node --require @mqtrail/register app.js` (or `--import` for ES modules, see register.mjs):
 * starts OpenTelemetry with the mqtrail instrumentations before the application loads.
 * A failure here is reported and the application starts untraced: telemetry must never be the
 * reason an application does not run.
 */
import { type MqtrailHandle, startMqtrail } from './sdk';

let handle: MqtrailHandle | undefined;
try {
  handle = startMqtrail();
} catch (error) {
  process.emitWarning(
    `mqtrail: not started: ${error instanceof Error ? error.message : String(error)}`,
    'MqtrailWarning',
  );
}

/** The running SDK, for applications that want to flush or shut it down themselves. */
export const mqtrail: MqtrailHandle | undefined = handle;
