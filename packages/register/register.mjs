// `node --import @mqtrail/register app.mjs`: ES module applications load kafkajs and amqplib
// through the ESM loader, which require-in-the-middle never sees. The import-in-the-middle hook
// must be registered before the application's first import, so this file does that first and
// only then starts the SDK (the same code as `--require`).
import { createRequire, register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
createRequire(import.meta.url)('./dist/index.js');
