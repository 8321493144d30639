/**
 * What a consumed message's span carries, priced on the SDK alone (issue #13, target 2): the same
 * sampled CONSUMER span started and ended in the shape contrib's amqplib instrumentation gives it
 * and in mqtrail's, with the bench's set-up (src/telemetry.ts, the `sdk` variant): ns per span,
 * and the bytes one ended span keeps alive. Those bytes matter on the hot path: every sampled span
 * waits in the BatchSpanProcessor's queue until its batch is exported, so each young-generation GC
 * copies the queued spans, and a bigger span makes every GC slower.
 *
 * - contrib: eleven attributes in the start options (the SDK cleans start attributes twice);
 * - mqtrail: the four sampling-relevant attributes and the link to the creation context in the
 *   start options, the chain hop count and six delivery attributes after the start, the settle
 *   outcome as an attribute and as an event at the end (core `startConsumeSpanIn`,
 *   `recordSettlement`; amqplib `deliveryAttributes`);
 * - mqtrail's shape without its link, and without its settle event: what each costs.
 *
 * The difference between the first two is what the span's content costs, before any code of
 * mqtrail's own runs.
 *
 *   node --expose-gc bench/dist/micro/span-shape.js
 */
import {
  type Attributes,
  type Context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  trace,
} from '@opentelemetry/api';
import { median } from '../stats';
import { setUpTelemetry } from '../telemetry';
import { settledHeapUsed } from '../timing';

const CALLS = 200_000;
const WARMUP = 50_000;
const ROUNDS = 5;

const CONTRIB_ATTRIBUTES: Attributes = {
  'messaging.protocol_version': '0.9.1',
  'messaging.url': 'amqp://127.0.0.1:5672',
  'messaging.protocol': 'AMQP',
  'net.peer.name': '127.0.0.1',
  'net.peer.port': 5672,
  'messaging.system': 'rabbitmq',
  'messaging.destination': 'bench-exchange',
  'messaging.destination_kind': 'topic',
  'messaging.rabbitmq.routing_key': 'bench.key',
  'messaging.operation': 'process',
  'messaging.message_id': 'd-1',
};

const TARGET_ATTRIBUTES: Attributes = Object.freeze({
  'messaging.operation.name': 'process',
  'messaging.operation.type': 'process',
  'messaging.destination.name': 'bench-queue',
  'messaging.system': 'rabbitmq',
});
const CHILD_OF: Attributes = Object.freeze({ 'opentracing.ref_type': 'child_of' });
const SETTLED: Attributes = Object.freeze({ 'mqtrail.settle.outcome': 'ack' });

function deliveryAttributes(tag: number): Attributes {
  return {
    'server.address': '127.0.0.1',
    'server.port': 5672,
    'messaging.rabbitmq.destination.routing_key': 'bench.key',
    'messaging.rabbitmq.message.delivery_tag': tag,
    'messaging.message.id': `d-${tag}`,
    'messaging.message.conversation_id': 'c-1',
  };
}

type Tracer = ReturnType<typeof trace.getTracer>;

interface Shape {
  name: string;
  /** Starts and ends one span; returns it, so that the retained size can be measured. */
  span: (tracer: Tracer, parent: Context, tag: number) => Span;
}

function mqtrailShape(link: boolean, event: boolean): Shape['span'] {
  return (tracer, parent, tag) => {
    const creation = trace.getSpanContext(parent);
    const span: Span = tracer.startSpan(
      'process bench-queue',
      {
        kind: SpanKind.CONSUMER,
        attributes: TARGET_ATTRIBUTES,
        links: link && creation !== undefined ? [{ context: creation, attributes: CHILD_OF }] : undefined,
      },
      parent,
    );
    span.setAttribute('mqtrail.chain.hops', 1);
    span.setAttributes(deliveryAttributes(tag));
    span.setAttribute('mqtrail.settle.outcome', 'ack');
    if (event) span.addEvent('settle ack', SETTLED);
    span.end();
    return span;
  };
}

const SHAPES: Shape[] = [
  {
    name: "contrib's (11 attributes at the start)",
    span: (tracer, parent, tag) => {
      const attributes = { ...CONTRIB_ATTRIBUTES, 'messaging.message_id': `d-${tag}` };
      const span = tracer.startSpan('bench-queue process', { kind: SpanKind.CONSUMER, attributes }, parent);
      span.end();
      return span;
    },
  },
  { name: "mqtrail's (4 + link, 7 after, settle attribute + event)", span: mqtrailShape(true, true) },
  { name: "mqtrail's without the link", span: mqtrailShape(false, true) },
  { name: "mqtrail's without the settle event", span: mqtrailShape(true, false) },
];

/** Heap bytes per ended span of `shape`, held until measured (after a full GC either side). */
function retainedBytes(shape: Shape, tracer: Tracer, parent: Context): number {
  const count = 20_000;
  const held: Span[] = [];
  const before = settledHeapUsed();
  for (let i = 0; i < count; i++) held.push(shape.span(tracer, parent, i));
  const after = settledHeapUsed();
  return held.length > 0 ? (after - before) / count : Number.NaN;
}

async function main(): Promise<void> {
  const telemetry = setUpTelemetry('sdk', 'amqplib');
  const tracer = trace.getTracer('span-shape');
  const parent = propagation.extract(ROOT_CONTEXT, {
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  });
  const results = new Map<string, number[]>(SHAPES.map((shape) => [shape.name, []]));
  for (const shape of SHAPES) for (let i = 0; i < WARMUP; i++) shape.span(tracer, parent, i);
  // Rounds alternate the shapes, order rotated, so drift and GC debt spread over all of them.
  for (let round = 0; round < ROUNDS; round++) {
    for (let k = 0; k < SHAPES.length; k++) {
      const shape = SHAPES[(round + k) % SHAPES.length] as Shape;
      const started = process.hrtime.bigint();
      for (let i = 0; i < CALLS; i++) shape.span(tracer, parent, i);
      results.get(shape.name)?.push(Number(process.hrtime.bigint() - started) / CALLS);
    }
  }
  process.stdout.write(`${'span shape'.padEnd(58)} ${'ns/span'.padStart(7)} ${'B kept'.padStart(7)}\n`);
  for (const shape of SHAPES) {
    const ns = Math.round(median(results.get(shape.name) ?? [])).toLocaleString('en-US');
    const bytes = Math.round(retainedBytes(shape, tracer, parent)).toLocaleString('en-US');
    process.stdout.write(`${shape.name.padEnd(58)} ${ns.padStart(7)} ${bytes.padStart(7)}\n`);
  }
  await telemetry.shutdown();
}

void main();
