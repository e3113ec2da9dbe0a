import { useState } from 'preact/hooks';
import { ErrorText } from '../components/ui.js';
import { describeError } from '../lib/errors.js';

export function SignIn({ onSignIn, initialError }: { onSignIn(apiKey: string): Promise<void>; initialError: string | null }) {
  const [apiKey, setApiKey] = useState('');
  const [error, setError] = useState<string | null>(initialError);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    const key = apiKey.trim();
    if (!key) {
      setError('Enter your project API key');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      await onSignIn(key);
    } catch (err) {
      setError(describeError(err));
      setBusy(false);
    }
  };
  return (
    <main class="sign-in" id="main">
      <h1>Banatie Studio</h1>
      <p>Sign in with a project API key. It is kept in this tab only (sessionStorage) and sent only to this server.</p>
      <form onSubmit={submit} noValidate aria-describedby={error ? 'sign-in-error' : undefined}>
        <label for="api-key">Project API key</label>
        <input
          id="api-key"
          name="apiKey"
          type="password"
          autocomplete="off"
          spellcheck={false}
          placeholder="bnt_…"
          value={apiKey}
          aria-invalid={error ? true : undefined}
          onInput={(e) => setApiKey(e.currentTarget.value)}
        />
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorText error={error} id="sign-in-error" />
      </form>
    </main>
  );
}
