import { useState } from 'preact/hooks';
import { CopyField, ErrorText, Loading, SelectField } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { formatTime } from '../lib/format.js';
import { ASPECT_RATIOS, PROMPT_TEMPLATES, type AspectRatio, type LiveScope, type PromptTemplate } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

const EXPIRY = [
  { label: 'Never', seconds: 0 },
  { label: '1 hour', seconds: 3600 },
  { label: '1 day', seconds: 86_400 },
  { label: '30 days', seconds: 30 * 86_400 },
];

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;');

export function LiveView() {
  const { client, isAdmin } = useSession();
  const scopes = useAsync(() => client.live.scopes.list({ limit: 100 }), []);
  return (
    <section>
      <h1>Live URLs</h1>
      <p class="muted">A live URL turns a prompt in an &lt;img src&gt; into a cached image: the first request generates it, later ones are served from the cache.</p>
      <Builder scopes={scopes.data?.data ?? []} onBuilt={scopes.reload} />
      <h2>Scopes</h2>
      {!isAdmin && (
        <p class="small muted" data-testid="scopes-admin-only">
          Changing or deleting scopes needs an admin key; building a URL for a new scope still creates it on its first image.
        </p>
      )}
      <ErrorText error={scopes.error} />
      {scopes.loading && <Loading />}
      {scopes.data?.data.length === 0 && <p class="muted">No scopes yet: building a URL for a new scope creates it on its first image.</p>}
      {scopes.data && scopes.data.data.length > 0 && <ScopeTable scopes={scopes.data.data} />}
    </section>
  );
}

function ScopeTable({ scopes }: { scopes: LiveScope[] }) {
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Scope</th>
            <th scope="col">Budget</th>
            <th scope="col">Hits</th>
            <th scope="col">Misses</th>
            <th scope="col">Cached</th>
            <th scope="col">Last generated</th>
            <th scope="col">Protection</th>
          </tr>
        </thead>
        <tbody>
          {scopes.map((s) => (
            <tr key={s.id}>
              <th scope="row">{s.slug}</th>
              <td>
                <meter min={0} max={s.newGenerationsLimit} value={s.currentGenerations} aria-label={`${s.currentGenerations} of ${s.newGenerationsLimit} generations used`} />{' '}
                {s.currentGenerations}/{s.newGenerationsLimit}
                {!s.allowNewGenerations && ' (closed)'}
              </td>
              <td>{s.hitCount}</td>
              <td>{s.missCount}</td>
              <td>{s.entryCount}</td>
              <td>{formatTime(s.lastGeneratedAt)}</td>
              <td>{[s.requireSignature ? 'signature' : null, s.allowedOrigins.length ? `origins: ${s.allowedOrigins.join(', ')}` : null].filter(Boolean).join('; ') || 'none'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Builder({ scopes, onBuilt }: { scopes: LiveScope[]; onBuilt(): void }) {
  const { client, project } = useSession();
  const [scope, setScope] = useState('');
  const [prompt, setPrompt] = useState('');
  const [aspectRatio, setAspectRatio] = useState<AspectRatio>('1:1');
  const [template, setTemplate] = useState<PromptTemplate>('general');
  const [autoEnhance, setAutoEnhance] = useState(true);
  const [expiry, setExpiry] = useState(0);
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [preview, setPreview] = useState<'idle' | 'loading' | 'loaded' | 'failed'>('idle');

  const build = async (e: Event) => {
    e.preventDefault();
    setError(null);
    setPreview('idle');
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(scope)) {
      setError('Scope: 1 to 64 letters, digits, _ or -');
      return;
    }
    if (!prompt.trim()) {
      setError('Prompt is required');
      return;
    }
    try {
      const expiresAt = expiry ? { expiresAt: Math.floor(Date.now() / 1000) + expiry } : {};
      // An admin key holds the secret and signs here; a standard key never sees it, so the server signs.
      const signed = project.liveSigningSecret
        ? await client.live.sign({ org: project.orgSlug, project: project.slug, scope, prompt, aspectRatio, autoEnhance, template, secret: project.liveSigningSecret, ...expiresAt })
        : await client.live.signOnServer({ scope, prompt, aspectRatio, autoEnhance, template, ...expiresAt });
      setUrl(signed);
      setPreview('loading');
      announce('Signed URL ready; loading the preview');
    } catch (err) {
      setError(describeError(err));
    }
  };

  const snippet = url ? `<img src="${escapeAttr(url)}" alt="${escapeAttr(prompt.trim())}">` : '';
  return (
    <section class="card" aria-labelledby="builder-title">
      <h2 id="builder-title">Build a signed live URL</h2>
      <form class="stack" onSubmit={build} noValidate>
        <div class="row wrap">
          <div class="field">
            <label for="live-scope">Scope</label>
            <input id="live-scope" list="live-scopes" value={scope} placeholder="hero" onInput={(e) => setScope(e.currentTarget.value)} />
            <datalist id="live-scopes">
              {scopes.map((s) => (
                <option key={s.slug} value={s.slug} />
              ))}
            </datalist>
          </div>
          <SelectField id="live-ratio" label="Aspect ratio" value={aspectRatio} options={ASPECT_RATIOS} onChange={setAspectRatio} />
          <SelectField id="live-template" label="Template" value={template} options={PROMPT_TEMPLATES} onChange={setTemplate} />
          <SelectField
            id="live-expiry"
            label="Expires"
            value={String(expiry)}
            options={EXPIRY.map((x) => ({ value: String(x.seconds), label: x.label }))}
            onChange={(v) => setExpiry(Number(v))}
          />
          <label class="check">
            <input type="checkbox" checked={autoEnhance} onChange={(e) => setAutoEnhance(e.currentTarget.checked)} />
            Auto-enhance
          </label>
        </div>
        <div class="field">
          <label for="live-prompt">Prompt</label>
          <textarea id="live-prompt" rows={2} value={prompt} onInput={(e) => setPrompt(e.currentTarget.value)} />
        </div>
        <button type="submit">Build URL</button>
        <ErrorText error={error} />
      </form>
      {url && (
        <div class="stack">
          <CopyField label="Signed URL" value={url} />
          <CopyField label="HTML snippet" value={snippet} multiline />
          <figure class="live-preview">
            <img
              key={url}
              src={url}
              alt={`Preview: ${prompt.trim()}`}
              data-testid="live-preview"
              onLoad={() => {
                setPreview('loaded');
                announce('Live image loaded');
                onBuilt();
              }}
              onError={() => {
                setPreview('failed');
                announce('The live image failed to load');
              }}
            />
            <figcaption class="small muted" aria-live="polite">
              {preview === 'loading' && 'Generating on first request (a cache MISS), later requests are HITs…'}
              {preview === 'loaded' && 'Loaded.'}
              {preview === 'failed' && 'The image did not load: the scope may be closed, over its budget, or limited to other origins.'}
            </figcaption>
          </figure>
        </div>
      )}
    </section>
  );
}
