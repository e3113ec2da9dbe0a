const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const SECONDS = /^\d+(?:\.\d+)?$/;

/**
 * `Cancel-After` (Replicate's convention): a duration such as `30s`, `5m`, `1h30m`,
 * `500ms`, or a bare number of seconds. Milliseconds, or undefined when the value is
 * not one of those or is not positive.
 */
export function parseCancelAfter(value: string): number | undefined {
  const v = value.trim();
  let ms: number;
  if (SECONDS.test(v)) ms = Number(v) * 1000;
  else if (DURATION.test(v)) ms = [...v.matchAll(PART)].reduce((sum, [, n, unit]) => sum + Number(n) * UNIT_MS[unit as keyof typeof UNIT_MS], 0);
  else return undefined;
  return Number.isFinite(ms) && ms >= 1 ? Math.round(ms) : undefined;
}
