import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorText, Loading, StatusBadge, Thumb } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { formatTime, shortId } from '../lib/format.js';
import { href, navigate } from '../lib/route.js';
import { GENERATION_STATUSES, type Generation } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

const PAGE = 20;

function matches(g: Generation, status: string | null, flowId: string | null): boolean {
  return (!status || g.status === status) && (!flowId || g.flowId === flowId) && !g.deletedAt;
}

/** Generations, newest first, kept current by the project-wide event stream. */
export function GenerationsView({ query }: { query: URLSearchParams }) {
  const { client } = useSession();
  const status = query.get('status');
  const flowId = query.get('flow');
  const [items, setItems] = useState<Generation[]>([]);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState(false);
  const flows = useAsync(() => client.flows.list({ limit: 100 }), []);

  const latestLoad = useRef(0);
  const load = async (offset: number) => {
    const seq = ++latestLoad.current;
    setLoading(true);
    try {
      const page = await client.generations.list({ status: (status as Generation['status']) ?? undefined, flowId: flowId ?? undefined, limit: PAGE, offset });
      // A newer load (another filter) started meanwhile: its answer wins.
      if (seq !== latestLoad.current) return;
      setItems((prev) => (offset === 0 ? page.data : [...prev, ...page.data.filter((g) => !prev.some((p) => p.id === g.id))]));
      setTotal(page.pagination.total);
      setError(null);
    } catch (err) {
      if (seq === latestLoad.current) setError(describeError(err));
    } finally {
      if (seq === latestLoad.current) setLoading(false);
    }
  };

  useEffect(() => {
    void load(0);
    const ctrl = new AbortController();
    // The stream stays open; on a drop it reconnects and reloads the first page (changes may have been missed).
    (async () => {
      for (let attempt = 0; !ctrl.signal.aborted; attempt++) {
        try {
          if (attempt > 0) await load(0);
          const events = client.generations.projectEvents({ signal: ctrl.signal, onOpen: () => setLive(true) });
          for await (const g of events) {
            announce(`Generation ${shortId(g.id)} is ${g.status}`);
            setItems((prev) => {
              const rest = prev.filter((p) => p.id !== g.id);
              if (!matches(g, status, flowId)) return rest;
              const i = prev.findIndex((p) => p.id === g.id);
              if (i >= 0) return prev.map((p) => (p.id === g.id ? g : p));
              return [g, ...rest];
            });
          }
        } catch {
          // dropped: retry below
        }
        setLive(false);
        if (ctrl.signal.aborted) break;
        await new Promise((r) => setTimeout(r, Math.min(10_000, 1000 * 2 ** Math.min(attempt, 4))));
      }
    })();
    return () => ctrl.abort();
  }, [status, flowId]);

  const setFilter = (name: 'status' | 'flow', value: string) => {
    navigate(href('generations', { status, flow: flowId, [name]: value }));
  };

  return (
    <section>
      <div class="view-head">
        <h1>Generations</h1>
        <span class={`live-dot ${live ? 'on' : ''}`} data-testid="live-indicator">
          {live ? 'Live' : 'Connecting…'}
        </span>
        <a class="button" href="#/new">
          New generation
        </a>
      </div>
      <form class="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter generations">
        <label>
          Status
          <select value={status ?? ''} onChange={(e) => setFilter('status', e.currentTarget.value)}>
            <option value="">Any</option>
            {GENERATION_STATUSES.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        <label>
          Flow
          <select value={flowId ?? ''} onChange={(e) => setFilter('flow', e.currentTarget.value)}>
            <option value="">Any</option>
            {flowId && !flows.data?.data.some((f) => f.id === flowId) && <option value={flowId}>{shortId(flowId)}</option>}
            {flows.data?.data.map((f) => (
              <option key={f.id} value={f.id}>
                {shortId(f.id)} · {f.generationCount} generations
              </option>
            ))}
          </select>
        </label>
      </form>
      <ErrorText error={error} />
      {items.length === 0 && !loading && <p class="muted">No generations yet. <a href="#/new">Create one</a>.</p>}
      <ul class="generation-list" aria-label="Generations" aria-busy={loading}>
        {items.map((g) => (
          <li key={g.id} data-generation-id={g.id}>
            <a class="generation-row" href={`#/generations/${g.id}`}>
              <Thumb url={g.outputImage?.versionedUrl} alt="" size={64} />
              <span class="grow">
                <span class="prompt">{g.originalPrompt}</span>
                <span class="muted small">
                  {formatTime(g.createdAt)} · {g.aspectRatio}
                  {g.error ? ` · ${g.error.code}` : ''}
                </span>
              </span>
              <StatusBadge status={g.status} />
            </a>
          </li>
        ))}
      </ul>
      {loading && <Loading />}
      {items.length < total && !loading && (
        <button type="button" class="secondary" onClick={() => void load(items.length)}>
          Load more ({total - items.length} more)
        </button>
      )}
    </section>
  );
}
