// ES module applications: the import-in-the-middle loader hook must be registered before the
// app's first `import`, or `import { Kafka } from 'kafkajs'` bypasses the patches. Then the same
// SDK set-up as CommonJS children. Used as `node --import ./preload.mjs app.mjs`.
import { createRequire, register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
createRequire(import.meta.url)('./preload.cjs');
