import { Counter, Histogram, type Registry } from 'prom-client';

// Every recorder below is one counter increment and/or one histogram observation
// per event: no I/O, nothing that can throw for valid input.

/** A generation row after a committed status change (the worker's notifier sees every one). */
export interface GenerationStatusSample {
  status: string;
  error_code?: string | null;
  processing_time_ms?: number | null;
}

/**
 * `banatie_generations_total{status,error_code}` and
 * `banatie_generation_duration_seconds{status}` for terminal rows (success, failed);
 * other statuses are ignored.
 */
export function generationMetrics(registry: Registry): (row: GenerationStatusSample) => void {
  const outcomes = new Counter({
    name: 'banatie_generations_total',
    help: 'Generations that reached a terminal status in a worker, by status and error code',
    labelNames: ['status', 'error_code'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'banatie_generation_duration_seconds',
    help: 'Processing time of the attempt that settled a generation (prompt enhancement, model call, storage)',
    labelNames: ['status'] as const,
    buckets: [0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300],
    registers: [registry],
  });
  return (row) => {
    if (row.status !== 'success' && row.status !== 'failed') return;
    outcomes.inc(row.status === 'failed' ? { status: row.status, error_code: row.error_code ?? 'UNKNOWN' } : { status: row.status });
    if (row.processing_time_ms != null) duration.observe({ status: row.status }, row.processing_time_ms / 1000);
  };
}

/** One model API call, as reported by the provider. */
export interface ProviderCallSample {
  operation: string;
  model: string;
  status: string;
  code: string | null;
  durationMs: number;
}

/** `banatie_gemini_requests_total{operation,model,status,code}` and `banatie_gemini_request_duration_seconds{operation,model,outcome}`. */
export function providerMetrics(registry: Registry): (call: ProviderCallSample) => void {
  const calls = new Counter({
    name: 'banatie_gemini_requests_total',
    help: 'Gemini API calls by operation, model, HTTP status (or timeout/aborted/network) and error code (OK on success)',
    labelNames: ['operation', 'model', 'status', 'code'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'banatie_gemini_request_duration_seconds',
    help: 'Gemini API call latency by operation, model and outcome (ok, error)',
    labelNames: ['operation', 'model', 'outcome'] as const,
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 20, 30, 45, 60, 90, 120],
    registers: [registry],
  });
  return (call) => {
    calls.inc({ operation: call.operation, model: call.model, status: call.status, code: call.code ?? 'OK' });
    latency.observe({ operation: call.operation, model: call.model, outcome: call.code ? 'error' : 'ok' }, call.durationMs / 1000);
  };
}

/** One recorded provider call's usage, priced. */
export interface UsageSample {
  model: string;
  tier: string;
  inputTokens: number;
  outputTokens: number;
  thoughtTokens: number;
  costUsd: number;
}

/**
 * `banatie_provider_tokens_total{model,tier,type}` (type: input, output, thought) and
 * `banatie_provider_cost_usd_total{model,tier}`, counted when the calls are recorded.
 */
export function usageMetrics(registry: Registry): (calls: readonly UsageSample[]) => void {
  const tokens = new Counter({
    name: 'banatie_provider_tokens_total',
    help: 'Tokens of recorded provider calls by model, tier and type (input, output, thought)',
    labelNames: ['model', 'tier', 'type'] as const,
    registers: [registry],
  });
  const cost = new Counter({
    name: 'banatie_provider_cost_usd_total',
    help: 'Cost in USD of recorded provider calls by model and tier, at the configured prices',
    labelNames: ['model', 'tier'] as const,
    registers: [registry],
  });
  return (calls) => {
    for (const c of calls) {
      tokens.inc({ model: c.model, tier: c.tier, type: 'input' }, c.inputTokens);
      tokens.inc({ model: c.model, tier: c.tier, type: 'output' }, c.outputTokens);
      tokens.inc({ model: c.model, tier: c.tier, type: 'thought' }, c.thoughtTokens);
      cost.inc({ model: c.model, tier: c.tier }, c.costUsd);
    }
  };
}

/** One recorded webhook delivery attempt. */
export interface WebhookAttemptSample {
  outcome: string;
  statusCode: number | null;
  durationMs: number | null;
}

export interface WebhookMetrics {
  attempt(sample: WebhookAttemptSample): void;
  /** A message the queue stopped retrying: `exhausted` (out of attempts) or `refused` (URL never deliverable). */
  abandoned(reason: 'exhausted' | 'refused'): void;
}

/**
 * `banatie_webhook_deliveries_total{outcome,status_class}`,
 * `banatie_webhook_delivery_duration_seconds{outcome}` and
 * `banatie_webhook_abandoned_total{reason}`.
 */
export function webhookMetrics(registry: Registry): WebhookMetrics {
  const attempts = new Counter({
    name: 'banatie_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome (delivered, failed, refused, unresolved) and receiver status class (2xx…5xx, none)',
    labelNames: ['outcome', 'status_class'] as const,
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'banatie_webhook_delivery_duration_seconds',
    help: 'Time from sending a webhook to the receiver answering (or the attempt failing)',
    labelNames: ['outcome'] as const,
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const abandoned = new Counter({
    name: 'banatie_webhook_abandoned_total',
    help: 'Webhook messages given up on: exhausted (retried for 24 h+) or refused (URL not deliverable)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  return {
    attempt: (s) => {
      attempts.inc({ outcome: s.outcome, status_class: s.statusCode === null ? 'none' : `${Math.floor(s.statusCode / 100)}xx` });
      if (s.durationMs !== null) duration.observe({ outcome: s.outcome }, s.durationMs / 1000);
    },
    abandoned: (reason) => abandoned.inc({ reason }),
  };
}
