import type { Project, ProjectSecretKind, RotateSecretInput, UpdateProjectInput } from '@banatie/contracts';
import type { CallOptions, Transport } from '../transport.js';

/**
 * The key's project: settings, and for an admin key the secrets
 * (`webhookSecret`, `liveSigningSecret`, `secrets`); a standard key gets the
 * project without them, and `403 FORBIDDEN` from `update` and `rotateSecret`.
 */
export class ProjectResource {
  constructor(private readonly http: Transport) {}

  get(opts: CallOptions = {}): Promise<Project> {
    return this.http.data('GET', '/project', opts);
  }

  /** Admin key. */
  update(settings: UpdateProjectInput, opts: CallOptions = {}): Promise<Project> {
    return this.http.data('PUT', '/project', { ...opts, json: settings });
  }

  /**
   * Rotates the webhook or the live-URL signing secret (admin key). The new
   * secret signs from now on; the replaced one stays valid for `graceSeconds`
   * (default one day, at most 30 days, 0 ends it at once), shown as
   * `secrets.<kind>.previousSecretExpiresAt`. A bare kind (`'webhook'`) uses the default grace.
   */
  rotateSecret(input: RotateSecretInput | ProjectSecretKind, opts: CallOptions = {}): Promise<Project> {
    // Not retried after a network error: a second rotation would end the secret the first one kept valid.
    return this.http.data('POST', '/project/secrets/rotate', { ...opts, json: typeof input === 'string' ? { secret: input } : input });
  }
}
