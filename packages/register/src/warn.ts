import { MqtrailConfigError, type MqtrailError } from './errors';

/**
 * The one channel register reports through: a process warning (`MqtrailWarning`, with the
 * error's code), which Node prints on stderr at its default settings and applications can
 * observe with `process.on('warning')`. `diag` is not used for these because it is silent
 * unless OTEL_LOG_LEVEL is set, and a user must see a misconfiguration without asking.
 */
export function warn(error: MqtrailError): void {
  const text = error instanceof MqtrailConfigError ? `${error.message}; ${error.fallback}` : error.message;
  process.emitWarning(`mqtrail: ${text}`, { type: 'MqtrailWarning', code: error.code });
}
