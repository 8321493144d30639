// Kept in step with package.json by hand: the build's rootDir is src, so package.json is not importable.
export const PACKAGE_NAME = '@mqtrail/instrumentation-kafkajs';
export const PACKAGE_VERSION = '0.1.0';
