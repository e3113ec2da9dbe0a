import { useMemo, useState } from 'preact/hooks';
import { PromptInput } from '../components/prompt-input.js';
import { ErrorText, SelectField, StatusBadge, Thumb } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { formatDuration, queuePlace, shortId } from '../lib/format.js';
import { ASPECT_RATIOS, PROMPT_TEMPLATES, TECHNICAL_ALIASES, type AspectRatio, type Generation, type PromptTemplate } from '../lib/types.js';
import { useAsync } from '../lib/use-async.js';

/** `Cancel-After` choices; '' leaves the server's deadline (GENERATION_DEADLINE_MS). */
const CANCEL_AFTER_OPTIONS = [
  { value: '', label: "Server's default" },
  { value: '30s', label: '30 seconds' },
  { value: '1m', label: '1 minute' },
  { value: '2m', label: '2 minutes' },
  { value: '5m', label: '5 minutes' },
];

/** References allowed before the models are known (the smallest limit of any model). */
const MIN_REFERENCES = 3;

export function NewGenerationView() {
  const { client, project } = useSession();
  const images = useAsync(() => client.images.list({ limit: 100 }), []);
  const models = useAsync(() => client.models.list(), []);
  // '' leaves the choice to the server: the project's default, else the operator's.
  const [model, setModel] = useState(project.settings.defaultModel ?? '');
  const [imageSize, setImageSize] = useState('');
  const [groundWithSearch, setGroundWithSearch] = useState(false);
  const [prompt, setPrompt] = useState('');
  const [aspectRatio, setAspectRatio] = useState<AspectRatio>((project.settings.defaultAspectRatio as AspectRatio | null) ?? '1:1');
  const [template, setTemplate] = useState<PromptTemplate>('general');
  const [autoEnhance, setAutoEnhance] = useState(project.settings.autoEnhanceDefault ?? true);
  const [references, setReferences] = useState<string[]>([]);
  const [alias, setAlias] = useState('');
  const [cancelAfter, setCancelAfter] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [current, setCurrent] = useState<Generation | null>(null);
  const [warnings, setWarnings] = useState<string[]>([]);

  const aliases = useMemo(
    () => [...TECHNICAL_ALIASES, ...new Set((images.data?.data ?? []).map((i) => i.alias).filter((a): a is string => !!a))].sort(),
    [images.data],
  );

  const chosen = (models.data ?? []).find((m) => m.id === model) ?? (models.data ?? []).find((m) => m.default);
  const MAX_REFERENCES = chosen?.maxReferenceImages ?? MIN_REFERENCES;
  const sizes = chosen?.imageSizes ?? [];
  const pickModel = (id: string) => {
    setModel(id);
    const next = (models.data ?? []).find((m) => m.id === id) ?? (models.data ?? []).find((m) => m.default);
    if (imageSize && !next?.imageSizes.includes(imageSize as never)) setImageSize('');
    if (!next?.searchGrounding) setGroundWithSearch(false);
    if (next) setReferences((refs) => refs.slice(0, next.maxReferenceImages));
  };

  const toggleReference = (id: string) =>
    setReferences((refs) => (refs.includes(id) ? refs.filter((r) => r !== id) : refs.length < MAX_REFERENCES ? [...refs, id] : refs));

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!prompt.trim()) {
      setError('Prompt is required');
      return;
    }
    setBusy(true);
    setError(null);
    setWarnings([]);
    setCurrent(null);
    try {
      const body = {
        prompt,
        aspectRatio,
        autoEnhance,
        enhancementOptions: { template },
        ...(model ? { model } : {}),
        ...(imageSize ? { imageSize: imageSize as (typeof sizes)[number] } : {}),
        ...(groundWithSearch ? { groundWithSearch } : {}),
        ...(references.length ? { referenceImages: references } : {}),
        ...(alias.trim() ? { alias: alias.trim().startsWith('@') ? alias.trim() : `@${alias.trim()}` } : {}),
      };
      // Submit (short wait), then follow the generation until it ends.
      const { generation, warnings: w } = await client.generations.create(body, { wait: 2, ...(cancelAfter ? { cancelAfter } : {}) });
      setWarnings(w);
      setCurrent(generation);
      announce(`Generation ${generation.status}`);
      let last = generation;
      if (!['success', 'failed', 'cancelled'].includes(last.status)) {
        for await (const g of client.generations.events(generation.id)) {
          last = g;
          setCurrent(g);
          announce(`Generation ${g.status}`);
        }
      }
      if (last.status !== 'success') announce(`Generation ${last.status}${last.error ? `: ${last.error.message}` : ''}`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section>
      <h1>New generation</h1>
      <form class="stack" onSubmit={submit} noValidate>
        <div class="field">
          <label for="prompt">Prompt</label>
          <PromptInput id="prompt" value={prompt} onChange={setPrompt} aliases={aliases} describedBy="prompt-help" />
          <p id="prompt-help" class="small muted">
            Type @ to use an image by its alias as a reference (at most {MAX_REFERENCES} references in all).
          </p>
        </div>
        <fieldset>
          <legend>Aspect ratio</legend>
          <div class="ratio-picker">
            {ASPECT_RATIOS.map((r) => {
              const [w, h] = r.split(':').map(Number) as [number, number];
              const scale = 28 / Math.max(w, h);
              return (
                <label key={r} class="ratio">
                  <input type="radio" name="aspectRatio" value={r} checked={aspectRatio === r} onChange={() => setAspectRatio(r)} />
                  <span class="ratio-shape" style={{ width: `${w * scale}px`, height: `${h * scale}px` }} aria-hidden="true" />
                  <span>{r}</span>
                </label>
              );
            })}
          </div>
        </fieldset>
        <div class="row wrap">
          <SelectField
            id="model"
            label="Model"
            value={model}
            options={[{ value: '', label: 'Default' }, ...(models.data ?? []).map((m) => ({ value: m.id, label: m.displayName }))]}
            onChange={pickModel}
          />
          <SelectField id="image-size" label="Image size" value={imageSize} options={[{ value: '', label: `Default${sizes[0] ? ` (${sizes[0]})` : ''}` }, ...sizes.map((sz) => ({ value: sz, label: sz }))]} onChange={setImageSize} />
          <label class="check">
            <input type="checkbox" checked={groundWithSearch} disabled={!chosen?.searchGrounding} onChange={(e) => setGroundWithSearch(e.currentTarget.checked)} />
            Ground with Google Search
          </label>
        </div>
        <div class="row wrap">
          <SelectField id="template" label="Template" value={template} options={PROMPT_TEMPLATES} onChange={setTemplate} />
          <div class="field">
            <label for="output-alias">Alias for the result (optional)</label>
            <input id="output-alias" placeholder="@hero" value={alias} onInput={(e) => setAlias(e.currentTarget.value)} />
          </div>
          <label class="check">
            <input type="checkbox" checked={autoEnhance} onChange={(e) => setAutoEnhance(e.currentTarget.checked)} />
            Auto-enhance the prompt
          </label>
          <SelectField id="cancel-after" label="Cancel after (optional)" value={cancelAfter} options={CANCEL_AFTER_OPTIONS} onChange={setCancelAfter} />
        </div>
        <fieldset>
          <legend>
            Reference images ({references.length}/{MAX_REFERENCES})
          </legend>
          {images.data?.data.length === 0 && <p class="muted small">No images yet: upload some under Images.</p>}
          <ul class="reference-picker">
            {images.data?.data.slice(0, 24).map((img) => {
              const checked = references.includes(img.id);
              return (
                <li key={img.id}>
                  <label class={checked ? 'picked' : ''}>
                    <input type="checkbox" checked={checked} disabled={!checked && references.length >= MAX_REFERENCES} onChange={() => toggleReference(img.id)} />
                    <Thumb url={img.versionedUrl} alt="" size={64} />
                    <span class="small">{img.alias ?? shortId(img.id)}</span>
                  </label>
                </li>
              );
            })}
          </ul>
        </fieldset>
        <button type="submit" disabled={busy}>
          {busy ? 'Generating…' : 'Generate'}
        </button>
        <ErrorText error={error} />
      </form>
      {current && <Result generation={current} warnings={warnings} />}
    </section>
  );
}

function Result({ generation: g, warnings }: { generation: Generation; warnings: string[] }) {
  return (
    <section class="card result" aria-labelledby="result-title" data-testid="generation-result" data-status={g.status}>
      <div class="card-head">
        <h2 id="result-title">
          Result <a href={`#/generations/${g.id}`}>{shortId(g.id)}</a>
        </h2>
        <StatusBadge status={g.status} />
      </div>
      {warnings.length > 0 && <p class="warning">Not found, left as text: {warnings.join(', ')}</p>}
      {g.outputImage ? (
        <a href={`#/images/${g.outputImage.id}`}>
          <img class="output" src={g.outputImage.versionedUrl} alt={`Generated: ${g.originalPrompt}`} width={g.outputImage.width} height={g.outputImage.height} data-testid="result-image" />
        </a>
      ) : g.error ? (
        <p class="error" role="alert">
          <code>{g.error.code}</code> {g.error.message}
        </p>
      ) : (
        <p class="muted" aria-busy="true">
          {g.status}…{queuePlace(g) !== null && <> Queue position: {queuePlace(g)}</>}
        </p>
      )}
      {g.processingTimeMs != null && <p class="small muted">Took {formatDuration(g.processingTimeMs)}</p>}
    </section>
  );
}
