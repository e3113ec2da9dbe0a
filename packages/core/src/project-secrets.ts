import type { ProjectWithOrg } from '@banatie/db';

/**
 * A project's signing secrets over time (SPEC §16): the current one, plus the
 * one a rotation replaced while its grace period lasts. Everything that signs
 * or verifies reads them from PostgreSQL when it needs them, so every API
 * instance and worker sees a rotation at once.
 */
type WebhookSecretColumns = Pick<ProjectWithOrg, 'webhookSecret' | 'previousWebhookSecret' | 'previousWebhookSecretExpiresAt'>;
type LiveSecretColumns = Pick<ProjectWithOrg, 'liveSigningSecret' | 'previousLiveSigningSecret' | 'previousLiveSigningSecretExpiresAt'>;
type SecretColumns = WebhookSecretColumns & LiveSecretColumns;

/** The replaced secret's expiry, or null when there is none or its grace period is over. */
function graceEnd(expiresAt: Date | null, now: Date): Date | null {
  return expiresAt && expiresAt > now ? expiresAt : null;
}

function validSecrets(current: string, previous: string | null, previousExpiresAt: Date | null, now: Date): string[] {
  return previous && graceEnd(previousExpiresAt, now) ? [current, previous] : [current];
}

/** Secrets a webhook sent now is signed with: the current one first. */
export function webhookSigningSecrets(p: WebhookSecretColumns, now: Date): string[] {
  return validSecrets(p.webhookSecret, p.previousWebhookSecret, p.previousWebhookSecretExpiresAt, now);
}

/** Secrets a live URL signature is accepted with now: the current one first. */
export function liveSigningSecrets(p: LiveSecretColumns, now: Date): string[] {
  return validSecrets(p.liveSigningSecret, p.previousLiveSigningSecret, p.previousLiveSigningSecretExpiresAt, now);
}

export interface SecretRotationState {
  /** When the secret replaced by the last rotation stops being accepted; null when nothing but the current secret is valid. */
  previousSecretExpiresAt: string | null;
}

export interface ProjectSecretsView {
  webhook: SecretRotationState;
  live: SecretRotationState;
}

export function secretsView(p: SecretColumns, now: Date): ProjectSecretsView {
  const iso = (d: Date | null) => graceEnd(d, now)?.toISOString() ?? null;
  return {
    webhook: { previousSecretExpiresAt: p.previousWebhookSecret ? iso(p.previousWebhookSecretExpiresAt) : null },
    live: { previousSecretExpiresAt: p.previousLiveSigningSecret ? iso(p.previousLiveSigningSecretExpiresAt) : null },
  };
}
