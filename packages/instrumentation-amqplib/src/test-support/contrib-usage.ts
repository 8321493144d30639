/**
 * An application's OpenTelemetry set-up written against `@opentelemetry/instrumentation-amqplib`:
 * every name it exports, used the way its README and typings show. contrib-compat.test.ts
 * compiles this file as it is (against mqtrail) and with only the import of '../index' changed to
 * contrib's package, and expects no errors from either. Never run, only compiled.
 */
import type { Span } from '@opentelemetry/api';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import {
  type AmqplibConsumeCustomAttributeFunction,
  type AmqplibConsumeEndCustomAttributeFunction,
  AmqplibInstrumentation,
  type AmqplibInstrumentationConfig,
  type AmqplibPublishConfirmCustomAttributeFunction,
  type AmqplibPublishCustomAttributeFunction,
  type AmqplibPublishOptions,
  type CommonMessageFields,
  type ConsumeEndInfo,
  type ConsumeInfo,
  type ConsumeMessage,
  type ConsumeMessageFields,
  DEFAULT_CONFIG,
  EndOperation,
  type Message,
  type MessageFields,
  type MessageProperties,
  type PublishConfirmedInfo,
  type PublishInfo,
} from '../index';

function tenantOf(options: AmqplibPublishOptions | undefined): string | undefined {
  // contrib types headers as `any`: indexing them needs no checks.
  return options?.headers?.['x-tenant'];
}

const publishHook: AmqplibPublishCustomAttributeFunction = (span: Span, publishInfo: PublishInfo) => {
  span.setAttribute('app.exchange', publishInfo.exchange);
  span.setAttribute('app.routing_key', publishInfo.routingKey);
  span.setAttribute('app.body_bytes', publishInfo.content.length);
  span.setAttribute('app.amqplib', publishInfo.moduleVersion ?? 'unknown');
  const tenant = tenantOf(publishInfo.options);
  if (tenant !== undefined) span.setAttribute('app.tenant', tenant);
  if (publishInfo.options?.persistent) span.setAttribute('app.persistent', true);
  if (publishInfo.isConfirmChannel === true) span.setAttribute('app.confirm', true);
};

const publishConfirmHook: AmqplibPublishConfirmCustomAttributeFunction = (
  span: Span,
  publishConfirmedInto: PublishConfirmedInfo,
) => {
  // `any` in contrib: read without narrowing.
  if (publishConfirmedInto.confirmError) span.setAttribute('app.nacked', publishConfirmedInto.confirmError.message);
};

function describeMessage(msg: Message): string {
  const fields: MessageFields = msg.fields;
  const common: CommonMessageFields = fields;
  const properties: MessageProperties = msg.properties;
  return `${common.exchange}/${common.routingKey}#${common.deliveryTag} ${properties.contentType} ${fields.consumerTag ?? ''}`;
}

const consumeHook: AmqplibConsumeCustomAttributeFunction = (span: Span, consumeInfo: ConsumeInfo) => {
  const msg: ConsumeMessage = consumeInfo.msg;
  const fields: ConsumeMessageFields = msg.fields;
  span.setAttribute('app.message', describeMessage(msg));
  span.setAttribute('app.redelivered', fields.redelivered);
  // `any` in contrib: a header read straight off the properties.
  if (msg.properties.headers?.['x-tenant'])
    span.setAttribute('app.tenant', msg.properties.headers['x-tenant'].toString());
  span.setAttribute('app.priority', msg.properties.priority ?? 0);
  span.setAttribute('app.amqplib', consumeInfo.moduleVersion ?? 'unknown');
};

function settledByApplication(
  operation: EndOperation,
): operation is
  | EndOperation.Ack
  | EndOperation.AckAll
  | EndOperation.Nack
  | EndOperation.NackAll
  | EndOperation.Reject {
  return [EndOperation.Ack, EndOperation.AckAll, EndOperation.Nack, EndOperation.NackAll, EndOperation.Reject].includes(
    operation,
  );
}

const consumeEndHook: AmqplibConsumeEndCustomAttributeFunction = (span: Span, consumeEndInfo: ConsumeEndInfo) => {
  span.setAttribute('app.end', consumeEndInfo.endOperation);
  span.setAttribute('app.by_application', settledByApplication(consumeEndInfo.endOperation));
  if (consumeEndInfo.rejected === null) span.setAttribute('app.unsettled', true);
  switch (consumeEndInfo.endOperation) {
    case EndOperation.ChannelClosed:
    case EndOperation.ChannelError:
    case EndOperation.InstrumentationTimeout:
      span.setAttribute('app.lost_track', describeMessage(consumeEndInfo.msg));
      break;
    case EndOperation.AutoAck:
      break;
    default:
      span.setAttribute('app.rejected', consumeEndInfo.rejected === true);
  }
};

const allEndOperations: EndOperation[] = Object.values(EndOperation);

// Options by contrib's names, starting from its defaults.
const config: AmqplibInstrumentationConfig = {
  ...DEFAULT_CONFIG,
  enabled: true,
  publishHook,
  publishConfirmHook,
  consumeHook,
  consumeEndHook,
  consumeTimeoutMs: 2 * (DEFAULT_CONFIG.consumeTimeoutMs ?? 60_000),
  useLinksForConsume: false,
};

const amqplibInstrumentation = new AmqplibInstrumentation(config);
amqplibInstrumentation.setConfig({ ...amqplibInstrumentation.getConfig(), useLinksForConsume: true });

// Hooks written inline, their arguments typed from the option they are given to.
const inline = new AmqplibInstrumentation({
  publishHook: (span, info) => span.setAttribute('app.exchange', info.exchange),
  publishConfirmHook: (span, info) => span.setAttribute('app.confirmed', !info.confirmError),
  consumeHook: (span, info) => span.setAttribute('app.routing_key', info.msg.fields.routingKey),
  consumeEndHook: (span, info) => span.setAttribute('app.end', `${info.endOperation} ${info.rejected}`),
});

// As `registerInstrumentations` or `new NodeSDK({ instrumentations })` take them.
export const instrumentations: Instrumentation[] = [amqplibInstrumentation, inline, new AmqplibInstrumentation()];
export { allEndOperations };
