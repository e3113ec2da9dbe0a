import { useEffect, useRef, useState } from 'preact/hooks';
import { ErrorText, FreshImage, Loading, Section, StatusBadge, Thumb } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { cdnImageUrl, formatDuration, formatTime, queuePlace, shortId } from '../lib/format.js';
import { navigate } from '../lib/route.js';
import { isTerminal, type Generation } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

/** While pending, the generation is re-read this often for its queue position (the stream tells status changes only). */
const QUEUE_REFRESH_MS = 3000;

export function GenerationDetailView({ id }: { id: string }) {
  const { client, project } = useSession();
  const gen = useAsync(() => client.generations.get(id), [id]);
  const webhooks = useAsync(() => client.generations.webhooks(id), [id]);
  const [actionError, setActionError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const g = gen.data;

  // The last status the stream told: a re-read answered after it moved on is dropped.
  const streamed = useRef<string | undefined>(undefined);

  // While it runs, follow its own event stream.
  const running = g ? !isTerminal(g.status) : false;
  useEffect(() => {
    if (!running) return;
    const ctrl = new AbortController();
    (async () => {
      try {
        for await (const next of client.generations.events(id, { signal: ctrl.signal })) {
          streamed.current = next.status;
          gen.set(next);
          announce(`Generation is ${next.status}`);
        }
      } catch {
        // stream ended; the data shown is the last known state
      }
      if (!ctrl.signal.aborted) webhooks.reload();
    })();
    return () => ctrl.abort();
  }, [id, running]);

  const pending = g?.status === 'pending';
  useEffect(() => {
    if (!pending) return;
    const ctrl = new AbortController();
    const timer = setInterval(async () => {
      const next = await client.generations.get(id, { signal: ctrl.signal }).catch(() => undefined);
      if (next && !ctrl.signal.aborted && (streamed.current ?? 'pending') === 'pending') gen.set(next);
    }, QUEUE_REFRESH_MS);
    return () => {
      clearInterval(timer);
      ctrl.abort();
    };
  }, [id, pending]);

  const act = async (what: string, fn: () => Promise<Generation | void>) => {
    setBusy(true);
    setActionError(null);
    try {
      const next = await fn();
      if (next) gen.set(next);
      announce(what);
    } catch (err) {
      setActionError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  if (gen.error) return <ErrorText error={gen.error} />;
  if (!g) return <Loading />;
  return (
    <section>
      <p>
        <a href="#/generations">← Generations</a>
      </p>
      <div class="view-head">
        <h1>Generation {shortId(g.id)}</h1>
        <StatusBadge status={g.status} />
      </div>
      <div class="toolbar" role="group" aria-label="Actions">
        <button type="button" disabled={busy} onClick={() => act('Regeneration started', () => client.generations.regenerate(g.id))}>
          Regenerate
        </button>
        <button type="button" class="secondary" disabled={busy || isTerminal(g.status)} onClick={() => act('Generation cancelled', () => client.generations.cancel(g.id))}>
          Cancel
        </button>
        <button
          type="button"
          class="danger"
          disabled={busy}
          onClick={() => {
            if (!confirm('Delete this generation? Its image is deleted too unless it has an alias.')) return;
            void act('Generation deleted', async () => {
              await client.generations.delete(g.id);
              navigate('#/generations');
            });
          }}
        >
          Delete
        </button>
      </div>
      <ErrorText error={actionError} />
      <div class="detail-grid">
        <div>
          {g.outputImage ? (
            <a href={`#/images/${g.outputImage.id}`}>
              {/* A regeneration is a new version, so a new versionedUrl; fetched fresh anyway (same-version reloads after a run). */}
              <FreshImage class="output" src={g.outputImage.versionedUrl} refresh={`${g.outputImage.version}:${g.completedAt}`} alt={`Output: ${g.originalPrompt}`} width={g.outputImage.width} height={g.outputImage.height} testId="generation-output" />
            </a>
          ) : (
            <p class="placeholder">{g.status === 'success' ? 'The image was deleted' : running ? 'Generating…' : 'No image'}</p>
          )}
        </div>
        <dl class="facts">
          <dt>Prompt</dt>
          <dd>{g.prompt}</dd>
          <dt>Original prompt</dt>
          <dd>{g.originalPrompt}</dd>
          <dt>Aspect ratio</dt>
          <dd>{g.aspectRatio}</dd>
          <dt>Template</dt>
          <dd>{g.template}</dd>
          <dt>Auto-enhance</dt>
          <dd>{g.autoEnhance ? 'yes' : 'no'}</dd>
          <dt>Flow</dt>
          <dd>{g.flowId ? <a href={`#/generations?flow=${g.flowId}`}>{shortId(g.flowId)}</a> : '—'}</dd>
          <dt>Aliases</dt>
          <dd>{[g.alias, g.flowAlias && `${g.flowAlias} (flow)`].filter(Boolean).join(', ') || '—'}</dd>
          <dt>Created</dt>
          <dd>{formatTime(g.createdAt)}</dd>
          <dt>Started</dt>
          <dd>{formatTime(g.startedAt)}</dd>
          <dt>Completed</dt>
          <dd>{formatTime(g.completedAt)}</dd>
          <dt>Processing time</dt>
          <dd>{formatDuration(g.processingTimeMs)}</dd>
          {queuePlace(g) !== null && (
            <>
              <dt>Queue position</dt>
              <dd data-testid="queue-position">{queuePlace(g)}</dd>
            </>
          )}
          <dt>Attempts</dt>
          <dd>{g.attempts}</dd>
          {g.error && (
            <>
              <dt>Error</dt>
              <dd class="error-text">
                <code>{g.error.code}</code> {g.error.message}
              </dd>
            </>
          )}
        </dl>
      </div>
      <Section title="Reference images">
        {g.referenceImages.length === 0 ? (
          <p class="muted">None</p>
        ) : (
          <ul class="thumb-row">
            {g.referenceImages.map((r) => (
              <li key={r.imageId}>
                <a href={`#/images/${r.imageId}`}>
                  <Thumb url={cdnImageUrl(project, r.imageId)} alt={r.alias ?? `Image ${shortId(r.imageId)}`} />
                  <span class="small">{r.alias ?? shortId(r.imageId)}</span>
                </a>
              </li>
            ))}
          </ul>
        )}
      </Section>
      <Section title="Webhook attempts">
        <ErrorText error={webhooks.error} />
        {webhooks.data && webhooks.data.data.length === 0 && <p class="muted">No deliveries{g.webhookUrl ? '' : ' (no webhook URL)'}.</p>}
        {webhooks.data && webhooks.data.data.length > 0 && (
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">#</th>
                  <th scope="col">Event</th>
                  <th scope="col">Result</th>
                  <th scope="col">Duration</th>
                  <th scope="col">At</th>
                </tr>
              </thead>
              <tbody>
                {webhooks.data.data.map((a) => (
                  <tr key={a.id}>
                    <td>{a.attempt}</td>
                    <td>{a.event}</td>
                    <td>{a.succeeded ? `delivered (${a.statusCode})` : `failed${a.statusCode ? ` (${a.statusCode})` : ''}${a.error ? `: ${a.error}` : ''}`}</td>
                    <td>{formatDuration(a.durationMs)}</td>
                    <td>{formatTime(a.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Section>
    </section>
  );
}
