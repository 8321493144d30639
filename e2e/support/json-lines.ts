import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';

/**
 * Calls `onMessage` with every line of `stream` that holds a JSON object: the fixtures and the CLI
 * talk to the tests one object per line on stdout. Other lines (a library's log, a line that only
 * looks like JSON) are skipped, so a stray print cannot crash the test runner.
 */
export function onJsonLines(stream: Readable | null, onMessage: (message: Record<string, unknown>) => void): void {
  if (stream === null) return;
  createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
    const text = line.trim();
    if (!text.startsWith('{')) return;
    let message: Record<string, unknown>;
    try {
      message = JSON.parse(text) as Record<string, unknown>;
    } catch {
      return;
    }
    onMessage(message);
  });
}
