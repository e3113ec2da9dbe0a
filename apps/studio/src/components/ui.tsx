import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { announce, onAnnounce } from '../lib/announce.js';
import { variantUrl } from '../lib/format.js';

/** The polite live region every status change is announced in. */
export function Announcer() {
  const [message, setMessage] = useState('');
  useEffect(() => onAnnounce(setMessage), []);
  return (
    <div class="visually-hidden" role="status" aria-live="polite" aria-atomic="true" data-testid="announcer">
      {message}
    </div>
  );
}

export function ErrorText({ error, id }: { error: string | null | undefined; id?: string }) {
  if (!error) return null;
  return (
    <p class="error" role="alert" id={id}>
      {error}
    </p>
  );
}

/** A labelled <select> of fixed choices (plain strings, or value/label pairs). */
export function SelectField<T extends string>({ id, label, value, options, onChange }: { id: string; label: string; value: T; options: ReadonlyArray<T | { value: T; label: string }>; onChange: (value: T) => void }) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.currentTarget.value as T)}>
        {options.map((o) => {
          const { value: v, label: text } = typeof o === 'string' ? { value: o, label: o } : o;
          return (
            <option key={v} value={v}>
              {text}
            </option>
          );
        })}
      </select>
    </div>
  );
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge badge-${status}`} data-status={status}>{status}</span>;
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return <p class="muted" aria-busy="true">{what}…</p>;
}

/** A square cover thumbnail through the CDN variant URL. */
export function Thumb({ url, alt, size = 96 }: { url: string | null | undefined; alt: string; size?: number }) {
  if (!url) return <span class="thumb thumb-empty" style={{ width: `${size}px`, height: `${size}px` }} aria-hidden="true" />;
  return <img class="thumb" src={variantUrl(url, size * 2, size * 2)} alt={alt} width={size} height={size} loading="lazy" decoding="async" />;
}

/** A read-only URL or snippet with a Copy button. */
export function CopyField({ label, value, multiline = false }: { label: string; value: string; multiline?: boolean }) {
  const [copied, setCopied] = useState(false);
  const id = `copy-${label.replace(/\W+/g, '-').toLowerCase()}`;
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
      announce(`${label} copied`);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      (document.getElementById(id) as HTMLInputElement | null)?.select();
      announce('Copying is not allowed here: the text is selected, press Ctrl+C');
    }
  };
  return (
    <div class="copy-field">
      <label for={id}>{label}</label>
      <div class="row">
        {multiline ? (
          <textarea id={id} readOnly rows={3} value={value} onFocus={(e) => e.currentTarget.select()} />
        ) : (
          <input id={id} readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
        )}
        <button type="button" onClick={copy}>
          {copied ? 'Copied' : 'Copy'}
        </button>
      </div>
    </div>
  );
}

/**
 * An image fetched with revalidation (`cache: 'no-cache'`) and shown from a blob:
 * URL. For variants whose bytes change under the same URL (a new focal point).
 */
export function FreshImage({ src, alt, width, height, refresh, class: className, testId }: { src: string; alt: string; width?: number; height?: number; refresh?: unknown; class?: string; testId?: string }) {
  const [blobUrl, setBlobUrl] = useState<string | null>(null);
  useEffect(() => {
    const ctrl = new AbortController();
    let made: string | null = null;
    fetch(src, { cache: 'no-cache', signal: ctrl.signal })
      .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(String(r.status)))))
      .then((b) => {
        made = URL.createObjectURL(b);
        setBlobUrl(made);
      })
      .catch(() => undefined);
    return () => {
      ctrl.abort();
      if (made) URL.revokeObjectURL(made);
    };
  }, [src, refresh]);
  return blobUrl ? <img class={className} src={blobUrl} alt={alt} width={width} height={height} data-testid={testId} /> : <span class="thumb thumb-empty" style={{ width: `${width}px`, height: `${height}px` }} aria-busy="true" />;
}

export function Section({ title, children, actions }: { title: string; children: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <section class="card">
      <div class="card-head">
        <h2>{title}</h2>
        {actions}
      </div>
      {children}
    </section>
  );
}
