import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact';

describe('redactUrl', () => {
  it('masks the password and keeps the rest', () => {
    expect(redactUrl('amqp://app:s3cret@rabbit:5672/vhost')).toBe('amqp://app:***@rabbit:5672/vhost');
  });

  it('leaves URLs without a password alone', () => {
    expect(redactUrl('amqp://localhost')).toBe('amqp://localhost');
    expect(redactUrl('amqp://user@localhost:5672')).toBe('amqp://user@localhost:5672');
  });

  it('masks credentials in strings that are not valid URLs', () => {
    expect(redactUrl('amqp://app:s3cret@bad host')).toBe('amqp://app:***@bad host');
  });
});
