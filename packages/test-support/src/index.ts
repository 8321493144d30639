export { describeContribCompat } from './contrib-compat';
export { captureDiagErrors } from './diag';
export { sumOf } from './metrics';
export type { OpenSpanCounter } from './open-span-counter';
export { createTestTelemetry, type GlobalTestTelemetry, installTestTelemetry, type TestTelemetry } from './telemetry';
export { contribPackageDir, typeErrors } from './typecheck';
