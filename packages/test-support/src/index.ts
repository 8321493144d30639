export { describeContribCompat } from './contrib-compat';
export { captureDiagErrors } from './diag';
export { createFaultyOtel, type FaultyOtel } from './faulty-otel';
// All of it: the module holds only what the randomized header suites share.
export * from './header-arbitraries';
export { sumOf } from './metrics';
export type { OpenSpanCounter } from './open-span-counter';
export { OTEL_FAULTS, type OtelFault, OtelFaultError } from './otel-faults';
export { createTestTelemetry, type GlobalTestTelemetry, installTestTelemetry, type TestTelemetry } from './telemetry';
export { contribPackageDir, typeErrors } from './typecheck';
