import { DiagLogLevel, diag } from '@opentelemetry/api';

/**
 * Collects what mqtrail reports through `diag.error`. The diag logger is registered globally, so
 * this also sees reports from the CommonJS copy of the API that @mqtrail/core's build loads.
 */
export function captureDiagErrors(): { messages: string[]; restore: () => void } {
  const messages: string[] = [];
  const record = (message: string) => {
    messages.push(message);
  };
  const ignore = () => {};
  diag.setLogger({ error: record, warn: ignore, info: ignore, debug: ignore, verbose: ignore }, DiagLogLevel.ERROR);
  return { messages, restore: () => diag.disable() };
}
