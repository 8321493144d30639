/**
 * Prints the span a variant makes for a message of each hot-path operation of one client, as
 * JSON: name, kind, attributes, the attributes of each link and the name and attributes of each
 * event (times and ids left out). It shows what each variant's spans carry, and its test holds the
 * `shape` variant's spans (floor-shape.ts) to mqtrail's.
 *
 *   node bench/dist/span-sample.js <variant> <kafkajs|amqplib>
 *
 * One process per variant and client, as in `pnpm bench`: instrumentations patch the clients.
 */
import { SpanKind } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { hotPath } from './hot/hot-path';
import { upstreamSampling } from './messages';
import { CLIENTS, type Client, VARIANTS, type VariantName } from './protocol';
import { setUpTelemetry } from './telemetry';
import { timeMessages } from './timing';

const BATCH = 10;

export interface SampledSpan {
  name: string;
  kind: string;
  attributes: ReadableSpan['attributes'];
  links: ReadableSpan['attributes'][];
  events: { name: string; attributes: ReadableSpan['attributes'] }[];
}

function describe(span: ReadableSpan): SampledSpan {
  return {
    name: span.name,
    kind: SpanKind[span.kind],
    attributes: span.attributes,
    links: span.links.map((link) => link.attributes ?? {}),
    events: span.events.map((event) => ({ name: event.name, attributes: event.attributes ?? {} })),
  };
}

async function main(): Promise<void> {
  const [variant, client] = process.argv.slice(2);
  if (!VARIANTS.includes(variant as VariantName) || !CLIENTS.includes(client as Client)) {
    process.stderr.write(`usage: node span-sample.js <${VARIANTS.join('|')}> <${CLIENTS.join('|')}>\n`);
    process.exit(2);
  }
  let last: ReadableSpan | undefined;
  const telemetry = setUpTelemetry(variant as VariantName, client as Client, (span) => {
    last = span;
  });
  const sampled = upstreamSampling(1);
  const hot = await hotPath(client as Client, sampled, BATCH, BATCH);
  const spans: Record<string, SampledSpan | null> = {};
  for (const op of hot.ops) {
    last = undefined;
    await timeMessages(op, BATCH, BATCH);
    spans[op.name] = last === undefined ? null : describe(last);
  }
  hot.verify();
  await telemetry.shutdown();
  process.stdout.write(`${JSON.stringify(spans, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
