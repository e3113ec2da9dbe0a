import { useState } from 'preact/hooks';
import { ErrorText, Loading, Thumb } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { shortId } from '../lib/format.js';
import { href, navigate } from '../lib/route.js';
import type { Image } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

export function ImagesView({ query }: { query: URLSearchParams }) {
  const { client } = useSession();
  const source = query.get('source') ?? '';
  const flowId = query.get('flow') ?? '';
  const alias = query.get('alias') ?? '';
  const [aliasDraft, setAliasDraft] = useState(alias);
  const images = useAsync(
    () => client.images.list({ source: (source || undefined) as Image['source'] | undefined, flowId: flowId || undefined, alias: alias || undefined, limit: 60 }),
    [source, flowId, alias],
  );
  const flows = useAsync(() => client.flows.list({ limit: 100 }), []);
  const filter = (changes: Record<string, string>) => navigate(href('images', { source, flow: flowId, alias, ...changes }));

  return (
    <section>
      <h1>Images</h1>
      <DropZone
        onUploaded={(img) => {
          if (images.data) images.set({ ...images.data, data: [img, ...images.data.data] });
        }}
      />
      <form
        class="filters"
        aria-label="Filter images"
        onSubmit={(e) => {
          e.preventDefault();
          const a = aliasDraft.trim();
          filter({ alias: a && !a.startsWith('@') ? `@${a}` : a });
        }}
      >
        <label>
          Source
          <select value={source} onChange={(e) => filter({ source: e.currentTarget.value })}>
            <option value="">Any</option>
            <option value="generated">Generated</option>
            <option value="uploaded">Uploaded</option>
          </select>
        </label>
        <label>
          Flow
          <select value={flowId} onChange={(e) => filter({ flow: e.currentTarget.value })}>
            <option value="">Any</option>
            {flows.data?.data.map((f) => (
              <option key={f.id} value={f.id}>
                {shortId(f.id)}
              </option>
            ))}
          </select>
        </label>
        <label>
          Alias
          <input type="search" placeholder="@hero" value={aliasDraft} onInput={(e) => setAliasDraft(e.currentTarget.value)} />
        </label>
        <button type="submit" class="secondary">
          Apply
        </button>
      </form>
      <ErrorText error={images.error} />
      {images.loading && <Loading />}
      {images.data?.data.length === 0 && <p class="muted">No images match.</p>}
      <ul class="gallery" aria-label="Images">
        {images.data?.data.map((img) => (
          <li key={img.id} data-image-id={img.id}>
            <a href={`#/images/${img.id}`}>
              <Thumb url={img.versionedUrl} alt={img.alias ? `Image ${img.alias}` : `Image ${shortId(img.id)}`} size={140} />
              <span class="small">
                {img.alias ?? shortId(img.id)} · {img.source}
              </span>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}

interface UploadResult {
  name: string;
  ok: boolean;
  message: string;
  imageId?: string;
}

/** Drag and drop, or a regular file input (keyboard users), for PNG, JPEG and WebP. */
function DropZone({ onUploaded }: { onUploaded(img: Image): void }) {
  const { client } = useSession();
  const [over, setOver] = useState(false);
  const [busy, setBusy] = useState(false);
  const [results, setResults] = useState<UploadResult[]>([]);

  const upload = async (files: FileList | File[]) => {
    const list = [...files];
    if (list.length === 0) return;
    setBusy(true);
    const done: UploadResult[] = [];
    for (const file of list) {
      try {
        const img = await client.images.upload(file, { filename: file.name, contentType: file.type || undefined });
        onUploaded(img);
        done.push({ name: file.name, ok: true, message: 'uploaded', imageId: img.id });
      } catch (err) {
        done.push({ name: file.name, ok: false, message: describeError(err) });
      }
    }
    setResults(done);
    setBusy(false);
    const failed = done.filter((r) => !r.ok).length;
    announce(failed ? `${failed} of ${done.length} uploads failed` : `${done.length} image${done.length > 1 ? 's' : ''} uploaded`);
  };

  return (
    <div class="upload">
      <label
        class={`drop-zone ${over ? 'over' : ''}`}
        data-testid="drop-zone"
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          if (e.dataTransfer?.files) void upload(e.dataTransfer.files);
        }}
      >
        <input
          type="file"
          class="visually-hidden"
          accept="image/png,image/jpeg,image/webp"
          multiple
          data-testid="upload-input"
          onChange={(e) => {
            const input = e.currentTarget;
            void upload(input.files ?? []).then(() => (input.value = ''));
          }}
        />
        <span>{busy ? 'Uploading…' : 'Drop images here, or choose files (PNG, JPEG or WebP, up to 5 MB)'}</span>
      </label>
      {results.length > 0 && (
        <ul class="upload-results" aria-label="Upload results">
          {results.map((r, i) => (
            <li key={i} class={r.ok ? 'ok' : 'error'} role={r.ok ? undefined : 'alert'}>
              {r.name}: {r.ok ? <a href={`#/images/${r.imageId}`}>uploaded, open it</a> : r.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
