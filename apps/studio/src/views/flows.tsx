import { useState } from 'preact/hooks';
import { ErrorText, Loading, StatusBadge, Thumb } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { formatTime, shortId } from '../lib/format.js';
import type { Flow } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

/** Flows a page at a time: each card makes two requests (chain and images), and they count against the key's rate limit. */
const FLOWS_PAGE = 10;

export function FlowsView() {
  const { client } = useSession();
  const [shown, setShown] = useState(FLOWS_PAGE);
  const flows = useAsync(() => client.flows.list({ limit: shown }), [shown]);
  const total = flows.data?.pagination.total ?? 0;
  return (
    <section>
      <h1>Flows</h1>
      <p class="muted">Each flow is a chain of generations and uploads, oldest first, with its own aliases.</p>
      <ErrorText error={flows.error} />
      {flows.data?.data.length === 0 && <p class="muted">No flows yet.</p>}
      <ul class="flow-list">
        {flows.data?.data.map((f) => (
          <li key={f.id}>
            <FlowCard flow={f} />
          </li>
        ))}
      </ul>
      {flows.loading && <Loading />}
      {!flows.loading && shown < total && (
        <button type="button" class="secondary" onClick={() => setShown((n) => n + FLOWS_PAGE)}>
          Show more flows ({total - shown} more)
        </button>
      )}
    </section>
  );
}

function FlowCard({ flow: initial }: { flow: Flow }) {
  const { client } = useSession();
  const [flow, setFlow] = useState(initial);
  const chain = useAsync(() => client.flows.generations(flow.id, { limit: 50 }), [flow.id]);
  const images = useAsync(() => client.flows.images(flow.id, { limit: 100 }), [flow.id]);
  const [alias, setAlias] = useState('');
  const [imageId, setImageId] = useState('');
  const [error, setError] = useState<string | null>(null);
  // Generations and uploads, oldest first.
  const ordered = [
    ...(chain.data?.data ?? []).map((g) => ({ key: g.id, at: g.createdAt, href: `#/generations/${g.id}`, url: g.outputImage?.versionedUrl, label: g.originalPrompt, status: g.status as string | null })),
    ...(images.data?.data ?? [])
      .filter((i) => i.source === 'uploaded')
      .map((i) => ({ key: i.id, at: i.createdAt, href: `#/images/${i.id}`, url: i.versionedUrl as string | undefined, label: `Upload ${i.alias ?? shortId(i.id)}`, status: null })),
  ].sort((a, b) => a.at.localeCompare(b.at));
  const aliasEntries = Object.entries(flow.aliases);
  const idBase = `flow-${flow.id}`;

  const save = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const name = alias.trim().startsWith('@') ? alias.trim() : `@${alias.trim()}`;
    try {
      setFlow(await client.flows.setAliases(flow.id, { [name]: imageId }));
      setAlias('');
      announce(`Flow alias ${name} set`);
    } catch (err) {
      setError(describeError(err));
    }
  };
  const remove = async (name: string) => {
    setError(null);
    try {
      setFlow(await client.flows.deleteAlias(flow.id, name));
      announce(`Flow alias ${name} removed`);
    } catch (err) {
      setError(describeError(err));
    }
  };

  return (
    <article class="card" aria-labelledby={`${idBase}-title`}>
      <div class="card-head">
        <h2 id={`${idBase}-title`}>
          Flow <a href={`#/generations?flow=${flow.id}`}>{shortId(flow.id)}</a>
        </h2>
        <span class="muted small">
          {flow.generationCount} generations · {flow.imageCount} images · updated {formatTime(flow.updatedAt)}
        </span>
      </div>
      <ErrorText error={chain.error} />
      <ol class="chain" aria-label="Generations and uploads, oldest first">
        {ordered.map((item) => (
          <li key={item.key}>
            <a href={item.href} title={item.label}>
              <Thumb url={item.url} alt={item.label} size={80} />
              {item.status ? <StatusBadge status={item.status} /> : <span class="badge">upload</span>}
            </a>
          </li>
        ))}
        {chain.data && images.data && ordered.length === 0 && <li class="muted">Empty</li>}
      </ol>
      <h3>Aliases</h3>
      {aliasEntries.length === 0 ? (
        <p class="muted">No flow aliases.</p>
      ) : (
        <ul class="alias-list">
          {aliasEntries.map(([name, id]) => (
            <li key={name}>
              <a href={`#/images/${id}`}>
                <code>{name}</code> → {shortId(id)}
              </a>
              <button type="button" class="link danger" onClick={() => remove(name)} aria-label={`Remove flow alias ${name}`}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
      <form class="inline-form" onSubmit={save}>
        <label for={`${idBase}-alias`}>Alias</label>
        <input id={`${idBase}-alias`} placeholder="@hero" value={alias} required pattern="@?[A-Za-z0-9][A-Za-z0-9_-]{0,49}" onInput={(e) => setAlias(e.currentTarget.value)} />
        <label for={`${idBase}-image`}>Image</label>
        <select id={`${idBase}-image`} value={imageId} required onChange={(e) => setImageId(e.currentTarget.value)}>
          <option value="">Choose…</option>
          {images.data?.data.map((img) => (
            <option key={img.id} value={img.id}>
              {shortId(img.id)} ({img.source}
              {img.alias ? `, ${img.alias}` : ''})
            </option>
          ))}
        </select>
        <button type="submit" disabled={!alias.trim() || !imageId}>
          Set alias
        </button>
      </form>
      <ErrorText error={error} />
    </article>
  );
}
