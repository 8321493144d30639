/**
 * An application's OpenTelemetry set-up written against `@opentelemetry/instrumentation-kafkajs`:
 * every name it exports, used the way its README and typings show. contrib-compat.test.ts
 * compiles this file as it is (against mqtrail) and with only the import of '../index' changed to
 * contrib's package, and expects no errors from either. Never run, only compiled.
 */
import type { Span } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  type KafkaConsumerCustomAttributeFunction,
  KafkaJsInstrumentation,
  type KafkaJsInstrumentationConfig,
  type KafkajsMessage,
  type KafkaProducerCustomAttributeFunction,
  type MessageInfo,
} from '../index';

function text(value: Buffer | string | (Buffer | string)[] | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return Array.isArray(value) ? value.map(String).join(',') : value.toString();
}

function describeMessage(message: KafkajsMessage): string {
  return `${text(message.key) ?? '-'} ${message.value?.length ?? 0}B at ${message.timestamp ?? '?'}`;
}

const producerHook: KafkaProducerCustomAttributeFunction = (span: Span, info: MessageInfo) => {
  span.setAttribute('app.topic', info.topic);
  span.setAttribute('app.message', describeMessage(info.message));
  if (info.message.partition !== undefined) span.setAttribute('app.partition', info.message.partition);
  const tenant = text(info.message.headers?.['x-tenant']);
  if (tenant !== undefined) span.setAttribute('app.tenant', tenant);
};

const consumerHook: KafkaConsumerCustomAttributeFunction = (span: Span, info: MessageInfo<KafkajsMessage>) => {
  span.setAttribute('app.topic', info.topic);
  span.setAttribute('app.message', describeMessage(info.message));
  const tenant = text(info.message.headers?.['x-tenant']);
  if (tenant !== undefined) span.setAttribute('app.tenant', tenant);
};

// A hook reading only what every message has, through the generic parameter.
const topicOnly: KafkaProducerCustomAttributeFunction<unknown> = (span, { topic }) => {
  span.setAttribute('app.topic', topic);
};

const config: KafkaJsInstrumentationConfig = { enabled: true, producerHook, consumerHook };
const kafkaJsInstrumentation = new KafkaJsInstrumentation(config);
kafkaJsInstrumentation.setConfig({ ...kafkaJsInstrumentation.getConfig(), producerHook: topicOnly });

// Hooks written inline, their arguments typed from the option they are given to.
const inline = new KafkaJsInstrumentation({
  producerHook: (span, { topic, message }) => {
    span.setAttribute('app.topic', topic);
    span.setAttribute('app.key', text(message.key) ?? '');
    if (message.partition !== undefined) span.setAttribute('app.partition', message.partition);
    span.setAttribute('app.tenant', text(message.headers?.['x-tenant']) ?? '');
  },
  consumerHook: (span, { topic, message }) => {
    span.setAttribute('app.topic', topic);
    span.setAttribute('app.key', text(message.key) ?? '');
    span.setAttribute('app.value', text(message.value) ?? '');
    span.setAttribute('app.tenant', text(message.headers?.['x-tenant']) ?? '');
    if (message.timestamp) span.setAttribute('app.timestamp', message.timestamp);
  },
});

// As `registerInstrumentations` or `new NodeSDK({ instrumentations })` take them.
export const instrumentations: Instrumentation[] = [kafkaJsInstrumentation, inline, new KafkaJsInstrumentation()];
