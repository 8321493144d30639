import path from 'node:path';
import { describeContribCompat } from '@mqtrail/test-support';

describeContribCompat('@opentelemetry/instrumentation-amqplib', path.join(__dirname, '..'));
