import { buildChain, JaegerClient, renderChain } from '@mqtrail/cli';
import { JAEGER_URL, type SpanRoute } from './pipeline';
import type { Tally } from './tally';

const PROMETHEUS_URL = 'http://127.0.0.1:9090';

/** Waits for one completed order's trace to reach Jaeger with all its hops, and renders it. */
async function renderOneChain(tally: Tally): Promise<string> {
  const traceId = tally.shownTrace;
  if (traceId === undefined) return 'No order completed its whole chain; nothing to show.';
  const jaeger = new JaegerClient({ baseUrl: JAEGER_URL });
  // orders → payments → shipping → notifications: at least a send and a process span per hop.
  const deadline = Date.now() + 20_000;
  for (;;) {
    const trace = await jaeger.getTrace(traceId);
    const chain = buildChain(trace);
    if (chain.hops.length >= 3 || Date.now() > deadline) {
      return `${renderChain(chain, { color: process.stdout.isTTY })}\n  ${JAEGER_URL}/api/traces/${traceId}`;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Prints the chain of one completed order and the counts; returns that order's trace id. */
export async function printSummary(tally: Tally, route?: SpanRoute): Promise<string | undefined> {
  const c = tally.counts;
  console.log('\nOne order, end to end:\n');
  console.log(await renderOneChain(tally));
  console.log('\nWhat happened:');
  const rows: [string, number][] = [
    ['orders placed', c.placed],
    ['payments completed (sent to Kafka)', c.paid],
    ['shipments requested', c.shipped],
    ['customers notified', c.notified],
    ['payments failed → dead-lettered', c.paymentFailed],
    ['dead letters seen by notifications', c.deadLetterSeen],
    ['orders requeued → redelivered', c.requeued],
    ['duplicate publishes', c.duplicatesPublished],
    ['duplicate deliveries (publishes + copies dead-lettered twice)', c.duplicateDeliveries],
    ['unroutable publishes / returned by RabbitMQ', c.unroutablePublished],
    ['stranded (queue without consumer: lost)', c.stranded],
  ];
  for (const [label, count] of rows) console.log(`  ${label.padEnd(62)} ${count}`);
  console.log(`  ${'returned messages seen by orders'.padEnd(62)} ${c.returned}`);
  console.log('\nLook closer:');
  console.log(`  Jaeger API     ${JAEGER_URL}/api/services`);
  if (route?.kafka !== undefined) {
    console.log(
      `  Span topic     ${route.kafka.topic} on ${route.kafka.brokers.join(',')} ` +
        `(scripts/services/ctl kafka-topics --describe --topic ${route.kafka.topic})`,
    );
  }
  console.log(
    `  Prometheus     ${PROMETHEUS_URL}/graph?g0.expr=${encodeURIComponent('sum by (messaging_destination_name, mqtrail_settle_outcome) (mqtrail_settled_messages_total)')}`,
  );
  console.log('  Audit          packages/cli/bin/mqtrail.js audit --since 5m');
  return tally.shownTrace;
}
