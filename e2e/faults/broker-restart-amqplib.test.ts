import { describeBrokerRestart } from './support/broker-restart-suite';
import { DedicatedRabbitmq } from './support/dedicated-rabbitmq';

// Issue 15, "broker killed and restarted mid-stream", for amqplib: a RabbitMQ node of the test's
// own is SIGKILLed while an application publishes (ConfirmChannel) and consumes (5 deliveries held
// unacked), kept down for a second and started again on the same data. The same scenario runs
// without and with mqtrail; the application must not be able to tell the difference, and mqtrail
// must end every span, keep counting and give its memory back.
const WARMUP = 50;
const HELD = 5;
const BURST = 10;
const BACKLOG = 2_000;
// Heap after the backlog drained vs after warm-up, in MiB. Measured: +1.3 to +1.5 with mqtrail,
// +0.7 without (amqplib's and V8's own churn). What mqtrail keeps for good is bounded: the duplicate
// detector's window of message ids and one metric series per label set. Ended spans kept alive
// cost about 1.3 KiB each: holding on to this run's ~4,100 spans measured +6.8 MiB.
const HEAP_TOLERANCE_MIB = 3;
// A reconnect that reaches the node while it boots may be reset or closed in the handshake
// instead of refused; which, and whether at all, depends on how far the boot had got.
const BOOTING = /^(producer|consumer) connect: (?!Error: ECONNREFUSED$)/;

const rabbitmq = new DedicatedRabbitmq();

describeBrokerRestart({
  title: 'RabbitMQ killed and restarted mid-stream',
  client: 'amqplib',
  broker: rabbitmq,
  app: 'broker-amqplib-app.cjs',
  sizes: { WARMUP, HELD, BURST, BACKLOG },
  env: (queue) => ({ AMQP_URL: rabbitmq.url, QUEUE: queue }),
  // Declared (and synced to disk) before the application declares it too, as it does on every connect.
  prepare: (queue) => rabbitmq.declareDurableQueue(queue),
  runTimeoutMs: 90_000,
  // What a crash looks like to this application: both connections reset, the burst's confirms
  // rejected, reconnects refused until the node is back.
  crashErrors: [
    'publish confirm: Error: channel closed',
    'consumer connection error: Error: ECONNRESET',
    'consumer connect: Error: ECONNREFUSED',
  ],
  timingDependentErrors: BOOTING,
  // With mqtrail, each publish of the burst has its confirm rejected once.
  errorCounts: { 'publish confirm: Error: channel closed': BURST },
  spans: {
    test: 'every span ends: the held deliveries as closed, the unconfirmed publishes failed',
    process: { count: HELD, each: { status: 'error', outcome: 'closed', errorType: 'ChannelClosedError' } },
    send: { count: BURST, each: { status: 'error', errorType: 'ChannelClosedError' } },
  },
  heapToleranceMiB: HEAP_TOLERANCE_MIB,
});
