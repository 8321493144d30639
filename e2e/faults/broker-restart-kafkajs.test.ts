import { describeBrokerRestart } from './support/broker-restart-suite';
import { DedicatedKafka } from './support/dedicated-kafka';

// Issue 15, "broker killed and restarted mid-stream", for kafkajs: a Kafka broker of the test's own
// is SIGKILLed while an application sends and a consumer group member processes (one handler still
// working), kept down for a second and started again on the same log directory. The same scenario
// runs without and with mqtrail; the application must not be able to tell the difference, and
// mqtrail must end every span, keep counting and give its memory back.
const WARMUP = 50;
const BURST = 10;
const BACKLOG = 2_000;
// Heap after the backlog drained vs after warm-up, in MiB. Measured: +1.7 to +1.8 with mqtrail,
// +1.0 to +2.0 without (kafkajs's reconnected clients, metadata and buffers). Ended spans kept
// alive cost about 1.3 KiB each (measured with amqplib): this run's ~4,100 would be over 5 MiB.
const HEAP_TOLERANCE_MIB = 4;
// The restarted consumer may reach the broker while it is still loading the group coordinator or
// electing partition leaders, and crash once more on that answer; whether it does depends on how
// far the broker's start had got, in a run without mqtrail as much as in one with it.
const STARTING =
  /^consumer crash .*: KafkaJSProtocolError: (The coordinator is|This is not the correct coordinator|There is no leader|Leader not available)/;

const kafka = new DedicatedKafka();

describeBrokerRestart({
  title: 'Kafka killed and restarted mid-stream',
  client: 'kafkajs',
  broker: kafka,
  app: 'broker-kafkajs-app.cjs',
  sizes: { WARMUP, BURST, BACKLOG },
  env: (name) => ({ MQTRAIL_E2E_KAFKA_BROKER: kafka.broker, TOPIC: name, GROUP: name }),
  runTimeoutMs: 100_000,
  // What a crash looks like to this application: the burst's sends fail, the consumer crashes
  // and kafkajs restarts it until the broker is back.
  crashErrors: [
    'send: KafkaJSNonRetriableError: Connection error: connect ECONNREFUSED N.N.N.N:N',
    'consumer crash (restart: true): KafkaJSNonRetriableError: Connection error: connect ECONNREFUSED N.N.N.N:N',
  ],
  timingDependentErrors: STARTING,
  spans: {
    test: 'every span ends as the application saw its operation end',
    // The handler finished after the kill, and well: its span ends as it did.
    process: { count: 1, each: { status: 'unset' } },
    // Each burst send failed once in the application (and was sent again under a new span).
    send: { count: BURST, each: { status: 'error', errorType: 'KafkaJSNonRetriableError' } },
  },
  heapToleranceMiB: HEAP_TOLERANCE_MIB,
});
