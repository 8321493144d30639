/**
 * What a consumed message's span carries, priced on the SDK alone (issue #13, target 2): the same
 * sampled CONSUMER span started and ended in the shape contrib's amqplib instrumentation gives it
 * and in mqtrail's, with the bench's set-up (src/telemetry.ts, the `sdk` variant): ns per span,
 * and the bytes one ended span keeps alive. Those bytes matter on the hot path: every sampled span
 * waits in the BatchSpanProcessor's queue until its batch is exported, so each young-generation GC
 * copies the queued spans, and a bigger span makes every GC slower.
 *
 * - contrib: eleven attributes in the start options (the SDK cleans start attributes twice);
 * - mqtrail: the `shape` variant's consume span (floor-shape.ts, held equal to mqtrail's by its
 *   test) for a delivery on a connection: the four sampling-relevant attributes and the link to
 *   the creation context in the start options, the chain hop count and five delivery attributes
 *   after the start, the settle outcome as an attribute and as an event at the end;
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
import type { MessageFacts } from '../floor';
import { MQTRAIL_SHAPE, recordAck } from '../floor-shape';
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

/** A channel as mqtrail's span sees it: only its socket's address matters. */
const CHANNEL = { connection: { stream: { remoteAddress: '127.0.0.1', remotePort: 5672 } } };

function delivery(tag: number): MessageFacts {
  return {
    system: 'rabbitmq',
    destination: 'bench-queue',
    message: { fields: { routingKey: 'bench.key', deliveryTag: tag }, properties: { messageId: `d-${tag}` } },
    client: {},
    channel: CHANNEL,
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
    const facts = delivery(tag);
    const options = MQTRAIL_SHAPE.process(facts, parent);
    const span = tracer.startSpan('process bench-queue', link ? options : { ...options, links: undefined }, parent);
    MQTRAIL_SHAPE.processRecording?.(span, facts);
    recordAck(span, event);
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
  { name: "mqtrail's (4 + link, 6 after, settle attribute + event)", span: mqtrailShape(true, true) },
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
