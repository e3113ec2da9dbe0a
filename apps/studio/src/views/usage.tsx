import { ErrorText, Loading } from '../components/ui.js';
import { useSession } from '../lib/context.js';
import type { UsageFigures, UsageReport } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

const usd = (n: number) => `$${n.toFixed(n > 0 && n < 0.01 ? 4 : 2)}`;

/** This UTC month's usage (SPEC §12): totals, the project's limits, and a small chart of cost per day. */
export function UsageView() {
  const { client, project } = useSession();
  const byDay = useAsync(() => client.usage.get({ groupBy: 'day' }), []);
  const byModel = useAsync(() => client.usage.get({ groupBy: 'model' }), []);
  const limits = project.limits;
  return (
    <section>
      <h1>Usage</h1>
      <ErrorText error={byDay.error ?? byModel.error} />
      {byDay.loading && <Loading />}
      {byDay.data && (
        <>
          <p class="muted">
            This month (UTC), from {byDay.data.from.slice(0, 10)}: every provider call's tokens, priced at the server's list prices.
          </p>
          <Totals totals={byDay.data.totals} />
          {limits && (
            <p data-testid="usage-limits">
              Limits: {limits.generationsPerDay ?? 'no'} generations a day (today {limits.usage.generationsToday}),{' '}
              {limits.monthlyCostUsd === null ? 'no monthly cost limit' : `${usd(limits.monthlyCostUsd)} a month`}.
            </p>
          )}
          <h2>Cost per day</h2>
          <CostChart report={byDay.data} />
        </>
      )}
      {byModel.data && byModel.data.groups.length > 0 && (
        <>
          <h2>By model</h2>
          <table data-testid="usage-models">
            <thead>
              <tr>
                <th>Model</th>
                <th>Generations</th>
                <th>Calls</th>
                <th>Tokens in / out / thought</th>
                <th>Cost</th>
              </tr>
            </thead>
            <tbody>
              {byModel.data.groups.map((g) => (
                <tr key={g.key}>
                  <td>{g.key}</td>
                  <td>{g.generations}</td>
                  <td>{g.providerCalls}</td>
                  <td>
                    {g.inputTokens} / {g.outputTokens} / {g.thoughtTokens}
                  </td>
                  <td>{usd(g.costUsd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}

function Totals({ totals: t }: { totals: UsageFigures }) {
  return (
    <dl class="fields" data-testid="usage-totals">
      <dt>Generations</dt>
      <dd>
        {t.generations} ({t.succeeded} succeeded, {t.failed} failed, {t.cancelled} cancelled)
      </dd>
      <dt>Provider calls</dt>
      <dd>{t.providerCalls}</dd>
      <dt>Tokens</dt>
      <dd>
        {t.inputTokens} in, {t.outputTokens} out, {t.thoughtTokens} thinking
      </dd>
      <dt>Cost</dt>
      <dd data-testid="usage-cost">{usd(t.costUsd)}</dd>
    </dl>
  );
}

const CHART_HEIGHT = 120;
const BAR = 14;
const GAP = 4;

/** One bar per day of the month so far (days without usage are empty), scaled to the costliest day. */
function CostChart({ report }: { report: UsageReport }) {
  const days = daysOf(report);
  const cost = new Map(report.groups.map((g) => [g.key, g.costUsd]));
  const max = Math.max(0, ...days.map((d) => cost.get(d) ?? 0));
  if (max === 0) return <p class="muted">No cost recorded this month.</p>;
  const width = days.length * (BAR + GAP);
  return (
    <svg role="img" aria-label={`Cost per day, highest ${usd(max)}`} width={width} height={CHART_HEIGHT + 16} data-testid="usage-chart">
      {days.map((d, i) => {
        const h = Math.round(((cost.get(d) ?? 0) / max) * CHART_HEIGHT);
        return (
          <rect key={d} x={i * (BAR + GAP)} y={CHART_HEIGHT - h} width={BAR} height={h} fill="currentColor">
            <title>
              {d}: {usd(cost.get(d) ?? 0)}
            </title>
          </rect>
        );
      })}
    </svg>
  );
}

/** The UTC days from the report's start to today (or its end, if sooner). */
function daysOf(report: UsageReport): string[] {
  const end = Math.min(Date.now(), Date.parse(report.to) - 1);
  const out: string[] = [];
  for (let t = Date.parse(report.from); t <= end && out.length < 62; t += 24 * 3600 * 1000) out.push(new Date(t).toISOString().slice(0, 10));
  return out;
}
