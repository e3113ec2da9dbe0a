import { useMemo, useRef, useState } from 'preact/hooks';

/** The `@word` being typed just before the caret, if any. */
function aliasAtCaret(text: string, caret: number): { start: number; word: string } | null {
  const m = /(^|[^\w@])(@[A-Za-z0-9_-]*)$/.exec(text.slice(0, caret));
  return m ? { start: caret - m[2]!.length, word: m[2]! } : null;
}

/**
 * A prompt textarea that completes `@alias` tokens (ARIA combobox with a listbox):
 * arrows choose, Enter or Tab accepts, Escape closes.
 */
export function PromptInput({ id, value, onChange, aliases, describedBy }: { id: string; value: string; onChange(v: string): void; aliases: string[]; describedBy?: string }) {
  const ref = useRef<HTMLTextAreaElement>(null);
  const [caret, setCaret] = useState(0);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);
  const token = aliasAtCaret(value, caret);
  const options = useMemo(
    () => (token ? aliases.filter((a) => a.toLowerCase().startsWith(token.word.toLowerCase()) && a !== token.word).slice(0, 8) : []),
    [token?.word, aliases],
  );
  const open = options.length > 0 && !dismissed;
  const listId = `${id}-aliases`;

  const accept = (alias: string) => {
    if (!token) return;
    const next = `${value.slice(0, token.start)}${alias} ${value.slice(caret)}`;
    const pos = token.start + alias.length + 1;
    onChange(next);
    setCaret(pos);
    requestAnimationFrame(() => ref.current?.setSelectionRange(pos, pos));
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (!open) return;
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      setActive((i) => (i + (e.key === 'ArrowDown' ? 1 : options.length - 1)) % options.length);
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      e.preventDefault();
      accept(options[Math.min(active, options.length - 1)]!);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      setDismissed(true);
    }
  };

  const sync = (e: Event) => {
    const t = e.currentTarget as HTMLTextAreaElement;
    setCaret(t.selectionStart ?? t.value.length);
  };

  return (
    <div class="combo">
      <textarea
        id={id}
        ref={ref}
        rows={4}
        value={value}
        required
        maxLength={4000}
        {...({ role: 'combobox' } as Record<string, string>)}
        aria-autocomplete="list"
        aria-expanded={open}
        aria-controls={listId}
        aria-activedescendant={open ? `${listId}-${Math.min(active, options.length - 1)}` : undefined}
        aria-describedby={describedBy}
        onInput={(e) => {
          onChange(e.currentTarget.value);
          setDismissed(false);
          setActive(0);
          sync(e);
        }}
        onKeyDown={onKeyDown}
        onKeyUp={sync}
        onClick={sync}
        onBlur={() => setTimeout(() => setDismissed(true), 150)}
        onFocus={() => setDismissed(false)}
      />
      <ul id={listId} role="listbox" class="combo-list" hidden={!open} aria-label="Aliases">
        {open &&
          options.map((a, i) => (
            <li
              key={a}
              id={`${listId}-${i}`}
              role="option"
              aria-selected={i === Math.min(active, options.length - 1)}
              onMouseDown={(e) => {
                e.preventDefault();
                accept(a);
              }}
            >
              {a}
            </li>
          ))}
      </ul>
    </div>
  );
}
