import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from './errors';
import { messageTags } from './find';

describe('messageTags', () => {
  it('maps each way of naming a message to the attributes mqtrail writes', () => {
    expect(messageTags({ messageId: 'm-1' })).toEqual([{ 'messaging.message.id': 'm-1' }]);
    expect(messageTags({ correlationId: 'c-1' })).toEqual([{ 'messaging.message.conversation_id': 'c-1' }]);
    expect(messageTags({ topic: 'payments' })).toEqual([{ 'messaging.destination.name': 'payments' }]);
    expect(messageTags({ topic: 'payments', partition: '2' })).toEqual([
      { 'messaging.destination.name': 'payments', 'messaging.destination.partition.id': '2' },
    ]);
  });

  it('searches attributes semconv 1.45 renamed under both names', () => {
    expect(messageTags({ routingKey: 'order.created' })).toEqual([
      { 'rabbitmq.destination.routing_key': 'order.created' },
      { 'messaging.rabbitmq.destination.routing_key': 'order.created' },
    ]);
    const position = { 'messaging.destination.name': 'payments', 'messaging.destination.partition.id': '2' };
    expect(messageTags({ topic: 'payments', partition: '2', offset: '40' })).toEqual([
      { ...position, 'kafka.offset': '40' },
      { ...position, 'messaging.kafka.offset': '40' },
    ]);
  });

  it('rejects empty, ambiguous and incomplete queries', () => {
    expect(() => messageTags({})).toThrow(InvalidArgumentError);
    expect(() => messageTags({ messageId: 'a', correlationId: 'b' })).toThrow('find takes only one of');
    expect(() => messageTags({ partition: '1' } as never)).toThrow();
    expect(() => messageTags({ topic: 't', partition: '1', offset: '-1' })).toThrow(
      '--offset must be an offset like 42 (got "-1")',
    );
    expect(() => messageTags({ messageId: '' })).toThrow('--message-id must not be empty');
  });
});
