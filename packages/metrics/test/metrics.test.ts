import { describe, expect, it } from 'vitest';
import { Registry, generationMetrics, queueMetrics, webhookMetrics, type MeasuredQueue } from '@banatie/metrics';

/** A queue that counts the reads it serves; `hang` never answers. */
function fakeQueue(name: string, opts: { waitingSince?: number; hang?: boolean } = {}) {
  const reads = { counts: 0, jobs: 0 };
  const never = new Promise<never>(() => undefined);
  const queue: MeasuredQueue = {
    name,
    getJobCounts: async (...states) => {
      reads.counts++;
      if (opts.hang) return never;
      return Object.fromEntries(states.map((s, i) => [s, i]));
    },
    getJobs: async () => {
      reads.jobs++;
      if (opts.hang) return never;
      return opts.waitingSince === undefined ? [] : [{ timestamp: opts.waitingSince }];
    },
  };
  return { queue, reads };
}

const line = (text: string, series: string) => text.split('\n').find((l) => l.startsWith(`${series} `));

describe('queueMetrics', () => {
  it('reads each queue once per scrape for both gauges', async () => {
    const registry = new Registry();
    const a = fakeQueue('generations', { waitingSince: 1_000 });
    const b = fakeQueue('webhooks');
    queueMetrics(registry, [a.queue, b.queue], { now: () => 31_000 });
    const text = await registry.metrics();
    expect(a.reads).toEqual({ counts: 1, jobs: 1 });
    expect(b.reads).toEqual({ counts: 1, jobs: 1 });
    expect(line(text, 'banatie_queue_jobs{queue="generations",state="waiting"}')).toMatch(/ 0$/);
    expect(line(text, 'banatie_queue_jobs{queue="webhooks",state="completed"}')).toMatch(/ 5$/);
    expect(line(text, 'banatie_queue_oldest_waiting_seconds{queue="generations"}')).toMatch(/ 30$/);
    expect(line(text, 'banatie_queue_oldest_waiting_seconds{queue="webhooks"}')).toMatch(/ 0$/);
    await registry.metrics();
    expect(a.reads).toEqual({ counts: 2, jobs: 2 });
  });

  it('a Redis that does not answer leaves the series out of the scrape instead of hanging it', async () => {
    const registry = new Registry();
    const errors: string[] = [];
    queueMetrics(registry, [fakeQueue('generations', { hang: true }).queue], { timeoutMs: 50, onError: (e) => errors.push(e.message) });
    const text = await registry.metrics();
    expect(text).not.toMatch(/^banatie_queue_jobs\{/m);
    expect(text).not.toMatch(/^banatie_queue_oldest_waiting_seconds\{/m);
    expect(errors).toEqual(['queue metrics: Redis did not answer within 50 ms']);
  });
});

describe('series recorders', () => {
  it('count terminal generations by status and error code, ignoring other statuses', async () => {
    const registry = new Registry();
    const record = generationMetrics(registry);
    record({ status: 'processing' });
    record({ status: 'success', processing_time_ms: 1500 });
    record({ status: 'failed', error_code: 'TIMEOUT', processing_time_ms: 120_000 });
    record({ status: 'failed', error_code: 'INTERNAL_ERROR', processing_time_ms: null });
    const text = await registry.metrics();
    expect(line(text, 'banatie_generations_total{status="success"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_generations_total{status="failed",error_code="TIMEOUT"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_generations_total{status="failed",error_code="INTERNAL_ERROR"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_generation_duration_seconds_count{status="failed"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_generation_duration_seconds_sum{status="success"}')).toMatch(/ 1\.5$/);
    expect(text).not.toContain('status="processing"');
  });

  it('class webhook attempts by receiver status', async () => {
    const registry = new Registry();
    const webhooks = webhookMetrics(registry);
    webhooks.attempt({ outcome: 'delivered', statusCode: 204, durationMs: 12 });
    webhooks.attempt({ outcome: 'failed', statusCode: 503, durationMs: 40 });
    webhooks.attempt({ outcome: 'failed', statusCode: null, durationMs: 10_000 });
    webhooks.attempt({ outcome: 'refused', statusCode: null, durationMs: null });
    webhooks.abandoned('exhausted');
    const text = await registry.metrics();
    expect(line(text, 'banatie_webhook_deliveries_total{outcome="delivered",status_class="2xx"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_webhook_deliveries_total{outcome="failed",status_class="5xx"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_webhook_deliveries_total{outcome="failed",status_class="none"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_webhook_deliveries_total{outcome="refused",status_class="none"}')).toMatch(/ 1$/);
    expect(line(text, 'banatie_webhook_delivery_duration_seconds_count{outcome="failed"}')).toMatch(/ 2$/);
    expect(line(text, 'banatie_webhook_abandoned_total{reason="exhausted"}')).toMatch(/ 1$/);
  });
});
