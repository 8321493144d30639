import { describe, expect, it } from 'vitest';
import { promqlNames } from './promql';

describe('promqlNames', () => {
  it('finds metric names of selectors and label names of matchers', () => {
    expect(
      promqlNames('rate(messaging_client_sent_messages_total{messaging_system="kafka", error_type!=""}[5m])'),
    ).toEqual({
      metrics: ['messaging_client_sent_messages_total'],
      labels: ['error_type', 'messaging_system'],
    });
  });

  it('takes aggregation and function names for what they are, with by lists before or after', () => {
    expect(
      promqlNames(
        'histogram_quantile(0.99, sum by (le, messaging_destination_name) (rate(x_bucket[$__rate_interval])))',
      ),
    ).toEqual({ metrics: ['x_bucket'], labels: ['le', 'messaging_destination_name'] });
    expect(promqlNames('sum(rate(a_total[1m])) without (instance)')).toEqual({
      metrics: ['a_total'],
      labels: ['instance'],
    });
  });

  it('reads joins and set operators', () => {
    expect(
      promqlNames(
        'sum by (service_name) (rate(a_total[1m]) * on (job, instance) group_left (service_name) target_info) or b unless c > bool 2',
      ),
    ).toEqual({ metrics: ['a_total', 'b', 'c', 'target_info'], labels: ['instance', 'job', 'service_name'] });
  });

  it('ignores strings, numbers, durations, offsets and Grafana variables', () => {
    expect(
      promqlNames(
        // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's ${variable} syntax, not a template
        'label_replace(up{job=~"$job"} offset 5m, "dst", "or and", "src", "(.*)") * 1e3 + 0x1F + vector(0) + a[${__range}:30s]',
      ),
    ).toEqual({ metrics: ['a', 'up'], labels: ['job'] });
  });
});
