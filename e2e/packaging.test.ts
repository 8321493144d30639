import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

// Each package ships one CommonJS build with type declarations. This proves what the README
// promises: CommonJS `require()` and ES module `import` both load it, with named exports.
const packages: [string, string][] = [
  ['@mqtrail/core', 'extractMessage'],
  ['@mqtrail/instrumentation-kafkajs', 'KafkaJsInstrumentation'],
  ['@mqtrail/instrumentation-amqplib', 'AmqplibInstrumentation'],
  ['@mqtrail/register/sdk', 'startMqtrail'],
];

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: __dirname, encoding: 'utf8' }).trim();
}

describe.each(packages)('%s', (name, exportName) => {
  it('loads with require()', () => {
    expect(node(['-e', `console.log(typeof require(${JSON.stringify(name)}).${exportName})`])).toBe('function');
  });

  it('loads with import, named exports included', () => {
    const source = `import { ${exportName} } from ${JSON.stringify(name)}; console.log(typeof ${exportName});`;
    expect(node(['--input-type=module', '-e', source])).toBe('function');
  });
});
