import { useState } from 'preact/hooks';
import { CopyField, ErrorText, SelectField } from '../components/ui.js';
import { announce } from '../lib/announce.js';
import { useSession } from '../lib/context.js';
import { describeError } from '../lib/errors.js';
import { formatTime } from '../lib/format.js';
import { ASPECT_RATIOS, type AspectRatio, type Project } from '../lib/types.js';

const ADMIN_ONLY_NOTE = 'Needs an admin key: this is a standard key, which can generate, upload, browse and sign live URLs, but not see the secrets, change settings or manage live scopes.';

/** Project settings and signing secrets; what a standard key cannot do is shown disabled, with the reason. */
export function ProjectView() {
  const { isAdmin } = useSession();
  return (
    <section>
      <h1>Project</h1>
      {!isAdmin && (
        <p class="notice" data-testid="admin-needed">
          {ADMIN_ONLY_NOTE}
        </p>
      )}
      <Settings />
      <Secrets />
    </section>
  );
}

type Toggle = '' | 'on' | 'off';

function Settings() {
  const { client, project, isAdmin, setProject } = useSession();
  const s = project.settings;
  const [stylePrompt, setStylePrompt] = useState(s.stylePrompt ?? '');
  const [ratio, setRatio] = useState<AspectRatio | ''>(s.defaultAspectRatio ?? '');
  const [webhookUrl, setWebhookUrl] = useState(s.webhookUrl ?? '');
  const [autoEnhance, setAutoEnhance] = useState<Toggle>(s.autoEnhanceDefault === null ? '' : s.autoEnhanceDefault ? 'on' : 'off');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const updated = await client.project.update({
        stylePrompt: stylePrompt.trim() || null,
        defaultAspectRatio: ratio || null,
        webhookUrl: webhookUrl.trim() || null,
        autoEnhanceDefault: autoEnhance === '' ? null : autoEnhance === 'on',
      });
      setProject(updated);
      announce('Settings saved');
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <form class="stack" onSubmit={save} noValidate>
        <fieldset disabled={!isAdmin || busy} aria-describedby={isAdmin ? undefined : 'settings-admin-only'}>
          <legend>Defaults for every generation</legend>
          <div class="field">
            <label for="style-prompt">Style prompt (appended to every prompt)</label>
            <textarea id="style-prompt" rows={2} value={stylePrompt} onInput={(e) => setStylePrompt(e.currentTarget.value)} />
          </div>
          <div class="row wrap">
            <SelectField
              id="default-ratio"
              label="Default aspect ratio"
              value={ratio}
              options={[{ value: '' as const, label: 'None (1:1)' }, ...ASPECT_RATIOS.map((r) => ({ value: r, label: r }))]}
              onChange={setRatio}
            />
            <SelectField
              id="default-enhance"
              label="Auto-enhance by default"
              value={autoEnhance}
              options={[
                { value: '' as const, label: 'Not set (on)' },
                { value: 'on' as const, label: 'On' },
                { value: 'off' as const, label: 'Off' },
              ]}
              onChange={setAutoEnhance}
            />
          </div>
          <div class="field">
            <label for="webhook-url">Default webhook URL</label>
            <input id="webhook-url" type="url" placeholder="https://example.com/hooks/banatie" value={webhookUrl} onInput={(e) => setWebhookUrl(e.currentTarget.value)} />
          </div>
        </fieldset>
        {isAdmin ? (
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : 'Save settings'}
          </button>
        ) : (
          <p class="small muted" id="settings-admin-only">
            Changing settings needs an admin key.
          </p>
        )}
        <ErrorText error={error} />
      </form>
    </section>
  );
}

const SECRETS = [
  { kind: 'webhook', label: 'Webhook signing secret', value: (p: Project) => p.webhookSecret, help: 'Receivers verify webhook-signature with it (Standard Webhooks).' },
  { kind: 'live', label: 'Live URL signing secret', value: (p: Project) => p.liveSigningSecret, help: 'Signs live URLs for scopes that require a signature.' },
] as const;

const GRACE = [
  { value: '0', label: 'at once' },
  { value: '3600', label: 'after 1 hour' },
  { value: '86400', label: 'after 1 day' },
  { value: '604800', label: 'after 7 days' },
  { value: '2592000', label: 'after 30 days' },
];

function Secrets() {
  const { project, isAdmin } = useSession();
  return (
    <section class="card" aria-labelledby="secrets-title">
      <h2 id="secrets-title">Signing secrets</h2>
      {isAdmin ? (
        SECRETS.map((s) => <SecretRow key={s.kind} kind={s.kind} label={s.label} help={s.help} value={s.value(project) ?? ''} />)
      ) : (
        <p class="muted" data-testid="secrets-hidden">
          The webhook and live URL signing secrets are shown to admin keys only.
        </p>
      )}
    </section>
  );
}

function SecretRow({ kind, label, help, value }: { kind: 'webhook' | 'live'; label: string; help: string; value: string }) {
  const { client, project, setProject } = useSession();
  const [grace, setGrace] = useState('86400');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const previousUntil = project.secrets?.[kind].previousSecretExpiresAt ?? null;

  const rotate = async () => {
    setBusy(true);
    setError(null);
    try {
      const updated = await client.project.rotateSecret({ secret: kind, graceSeconds: Number(grace) });
      setProject(updated);
      announce(`${label} rotated`);
    } catch (err) {
      setError(describeError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="stack secret" data-testid={`secret-${kind}`}>
      <CopyField label={label} value={value} />
      <p class="small muted">{help}</p>
      {previousUntil && (
        <p class="small" data-testid={`previous-${kind}`}>
          The previous secret is still accepted until {formatTime(previousUntil)}.
        </p>
      )}
      <div class="row wrap">
        <SelectField id={`grace-${kind}`} label="The current secret stops working" value={grace} options={GRACE} onChange={setGrace} />
        <button type="button" class="secondary" disabled={busy} onClick={rotate}>
          {busy ? 'Rotating…' : `Rotate ${kind} secret`}
        </button>
      </div>
      <ErrorText error={error} />
    </div>
  );
}
