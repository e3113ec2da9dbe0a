import { useState } from 'preact/hooks';
import { ErrorText, Loading, SelectField, StatusBadge } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { formatTime, shortId } from '../lib/format.js';
import type { Batch } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

const TIERS = [
  { value: 'standard' as const, label: 'Standard (the normal queue)' },
  { value: 'batch' as const, label: 'Batch (Gemini Batch API: half price, within 24 h)' },
];

/** Batches (SPEC §13): submit many prompts at once, and each batch's progress. */
export function BatchesView() {
  const { client } = useSession();
  const [reload, setReload] = useState(0);
  const batches = useAsync(() => client.batches.list({ limit: 20 }), [reload]);
  const [prompts, setPrompts] = useState('');
  const [tier, setTier] = useState<'standard' | 'batch'>('standard');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: Event) => {
    e.preventDefault();
    const items = prompts
      .split('\n')
      .map((p) => p.trim())
      .filter(Boolean)
      .map((prompt) => ({ prompt }));
    if (items.length === 0) {
      setError('Write at least one prompt, one per line');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const batch = await client.batches.create({ items, tier });
      announce(`Batch ${shortId(batch.id)} submitted with ${batch.counts.total} generations`);
      setPrompts('');
      setReload((n) => n + 1);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>Batches</h1>
      <form class="stack" onSubmit={submit} noValidate>
        <div class="field">
          <label for="batch-prompts">Prompts, one per line</label>
          <textarea id="batch-prompts" rows={5} value={prompts} onInput={(e) => setPrompts(e.currentTarget.value)} />
        </div>
        <SelectField id="batch-tier" label="Tier" value={tier} options={TIERS} onChange={setTier} />
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Submit batch'}
        </button>
        <ErrorText error={error} />
      </form>
      <div class="row">
        <h2>Recent batches</h2>
        <button type="button" class="secondary" onClick={() => setReload((n) => n + 1)}>
          Refresh
        </button>
      </div>
      <ErrorText error={batches.error} />
      {batches.loading && <Loading />}
      {batches.data?.data.length === 0 && <p class="muted">No batches yet.</p>}
      <ul class="batch-list">
        {batches.data?.data.map((b) => (
          <li key={b.id}>
            <BatchRow batch={b} />
          </li>
        ))}
      </ul>
    </section>
  );
}

function BatchRow({ batch: b }: { batch: Batch }) {
  const c = b.counts;
  const done = c.success + c.failed + c.cancelled;
  return (
    <div class="card" data-testid="batch" data-status={b.status}>
      <div class="card-head">
        <span>
          {shortId(b.id)} · {b.tier} · {formatTime(b.createdAt)}
        </span>
        <StatusBadge status={b.status} />
      </div>
      <progress max={c.total} value={done} aria-label={`${done} of ${c.total} finished`} />
      <p class="small muted">
        {c.success} succeeded, {c.failed} failed, {c.cancelled} cancelled, {c.pending + c.processing} to go
      </p>
      <p class="small">
        {b.generationIds.slice(0, 10).map((id) => (
          <a key={id} href={`#/generations/${id}`}>
            {shortId(id)}{' '}
          </a>
        ))}
      </p>
    </div>
  );
}
