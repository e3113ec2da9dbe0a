import { useState } from 'preact/hooks';
import { CopyField, ErrorText, FreshImage, Loading, Section } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { cdnImageUrl, formatBytes, formatTime, shortId, variantUrl } from '../lib/format.js';
import { navigate } from '../lib/route.js';
import type { Image } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

/** Cover crops shown around the focal point: square, landscape banner, portrait. */
const CROPS = [
  { w: 160, h: 160, label: 'Square' },
  { w: 288, h: 162, label: 'Landscape 16:9' },
  { w: 120, h: 213, label: 'Portrait 9:16' },
];
const STEP = 0.05;
const clamp01 = (n: number) => Math.min(1, Math.max(0, Math.round(n * 1000) / 1000));

export function ImageDetailView({ id }: { id: string }) {
  const { client, project } = useSession();
  const image = useAsync(() => client.images.get(id), [id]);
  const [error, setError] = useState<string | null>(null);
  const img = image.data;

  const update = async (what: string, fn: () => Promise<Image>) => {
    setError(null);
    try {
      image.set(await fn());
      announce(what);
      return true;
    } catch (err) {
      setError(describeError(err));
      return false;
    }
  };

  if (image.error) return <ErrorText error={image.error} />;
  if (!img) return <Loading />;
  return (
    <section>
      <p>
        <a href="#/images">← Images</a>
      </p>
      <div class="view-head">
        <h1>Image {img.alias ?? shortId(img.id)}</h1>
        <button
          type="button"
          class="danger"
          onClick={async () => {
            if (!confirm('Delete this image for good? Its URL stops working.')) return;
            try {
              await client.images.delete(img.id);
              announce('Image deleted');
              navigate('#/images');
            } catch (err) {
              setError(describeError(err));
            }
          }}
        >
          Delete
        </button>
      </div>
      <ErrorText error={error} />
      <div class="detail-grid">
        <FocalPicker image={img} onSave={(focalPoint) => update('Focal point saved', () => client.images.update(img.id, { focalPoint }))} />
        <div>
          <dl class="facts">
            <dt>Source</dt>
            <dd>{img.source}</dd>
            <dt>Size</dt>
            <dd>
              {img.width}×{img.height} · {img.mimeType} · {formatBytes(img.fileSize)}
            </dd>
            <dt>Flow</dt>
            <dd>{img.flowId ? <a href={`#/images?flow=${img.flowId}`}>{shortId(img.flowId)}</a> : '—'}</dd>
            <dt>Generation</dt>
            <dd>{img.generationId ? <a href={`#/generations/${img.generationId}`}>{shortId(img.generationId)}</a> : '—'}</dd>
            <dt>Flow aliases</dt>
            <dd>{img.flowAliases.length ? img.flowAliases.join(', ') : '—'}</dd>
            <dt>Focal point</dt>
            <dd data-testid="focal-point">{img.focalPoint ? `${img.focalPoint.x}, ${img.focalPoint.y}` : 'centre (not set)'}</dd>
            <dt>Version</dt>
            <dd>
              {img.version} · updated {formatTime(img.updatedAt)}
            </dd>
          </dl>
          <AliasForm image={img} onSet={(alias) => update(alias ? `Alias ${alias} set` : 'Alias removed', () => client.images.setAlias(img.id, alias))} />
        </div>
      </div>
      <Section title="Cover crops">
        <ul class="crops">
          {CROPS.map((c) => (
            <li key={c.label}>
              <FreshImage src={variantUrl(img.versionedUrl, c.w * 2, c.h * 2)} refresh={`${img.focalPoint?.x},${img.focalPoint?.y}`} alt={`${c.label} crop`} width={c.w} height={c.h} />
              <span class="small">{c.label}</span>
            </li>
          ))}
        </ul>
      </Section>
      <Section title="URLs">
        <CopyField label="This version (cached for good)" value={img.versionedUrl} />
        <CopyField label="By id (always the current version, revalidated)" value={img.url} />
        {img.alias && <CopyField label={`By alias ${img.alias} (follows the alias)`} value={cdnImageUrl(project, img.alias)} />}
        <CopyField label="Cover crop 1200×630" value={variantUrl(img.versionedUrl, 1200, 630)} />
        <CopyField label="WebP 800 wide" value={`${img.versionedUrl}&w=800&format=webp`} />
      </Section>
    </section>
  );
}

function AliasForm({ image, onSet }: { image: Image; onSet(alias: string | null): Promise<boolean> }) {
  const [draft, setDraft] = useState(image.alias ?? '');
  const submit = async (e: Event) => {
    e.preventDefault();
    const a = draft.trim();
    await onSet(a ? (a.startsWith('@') ? a : `@${a}`) : null);
  };
  return (
    <form class="inline-form" onSubmit={submit}>
      <label for="image-alias">Project alias</label>
      <input id="image-alias" name="alias" placeholder="@hero" value={draft} onInput={(e) => setDraft(e.currentTarget.value)} />
      <button type="submit">Set alias</button>
      {image.alias && (
        <button
          type="button"
          class="secondary"
          onClick={async () => {
            if (await onSet(null)) setDraft('');
          }}
        >
          Remove {image.alias}
        </button>
      )}
    </form>
  );
}

/** Click (or arrow keys then Enter) on the image to choose the point cover crops keep in view. */
function FocalPicker({ image, onSave }: { image: Image; onSave(p: { x: number; y: number }): Promise<boolean> }) {
  const [point, setPoint] = useState(image.focalPoint ?? { x: 0.5, y: 0.5 });
  const save = (p: { x: number; y: number }) => {
    setPoint(p);
    void onSave(p);
  };
  const onClick = (e: MouseEvent) => {
    const box = (e.currentTarget as HTMLElement).getBoundingClientRect();
    save({ x: clamp01((e.clientX - box.left) / box.width), y: clamp01((e.clientY - box.top) / box.height) });
  };
  const onKey = (e: KeyboardEvent) => {
    const moves: Record<string, [number, number]> = { ArrowLeft: [-STEP, 0], ArrowRight: [STEP, 0], ArrowUp: [0, -STEP], ArrowDown: [0, STEP] };
    const m = moves[e.key];
    if (m) {
      e.preventDefault();
      setPoint((p) => ({ x: clamp01(p.x + m[0]), y: clamp01(p.y + m[1]) }));
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      save(point);
    }
  };
  return (
    <figure class="focal">
      <div
        class="focal-picker"
        role="button"
        tabIndex={0}
        aria-label={`Focal point at ${Math.round(point.x * 100)}% across, ${Math.round(point.y * 100)}% down. Click the image, or move with the arrow keys and press Enter to save.`}
        data-testid="focal-picker"
        onClick={onClick}
        onKeyDown={onKey}
      >
        <img src={image.versionedUrl} alt={image.alias ? `Image ${image.alias}` : 'The image'} width={image.width} height={image.height} draggable={false} />
        <span class="focal-marker" style={{ left: `${point.x * 100}%`, top: `${point.y * 100}%` }} aria-hidden="true" />
      </div>
      <figcaption class="small muted">Click where the subject is: cover crops keep that point in view.</figcaption>
    </figure>
  );
}
