import v8 from 'node:v8';
import vm from 'node:vm';

// The memory suites measure live heap: they need `gc()`, which vitest's workers do not expose.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** `heapUsed` after two full collections (the second catches what the first's finalisers freed). */
export function heapUsed(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
