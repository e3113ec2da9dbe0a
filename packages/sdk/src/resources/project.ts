import type { Project, ProjectSecretKind, UpdateProjectInput } from '@banatie/contracts';
import type { Transport } from '../transport.js';

/** The key's project: settings and secrets. */
export class ProjectResource {
  constructor(private readonly http: Transport) {}

  get(): Promise<Project> {
    return this.http.data('GET', '/project');
  }

  update(settings: UpdateProjectInput): Promise<Project> {
    return this.http.data('PUT', '/project', { json: settings });
  }

  /** Rotates the webhook or the live-URL signing secret; the old one stops working at once. */
  rotateSecret(kind: ProjectSecretKind): Promise<Project> {
    return this.http.data('POST', '/project/secrets/rotate', { json: { secret: kind } });
  }
}
