import path from 'node:path';
import { describeContribCompat } from '@mqtrail/test-support';

describeContribCompat('@opentelemetry/instrumentation-kafkajs', path.join(__dirname, '..'));
