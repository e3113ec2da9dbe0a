import { rotateSecretBody, updateProjectBody } from '@banatie/contracts';
import { projectService, webhookService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok } from '../../lib/envelope.js';
import { projectOf } from '../../plugins/auth.js';

export async function projectRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/project', { schema: { tags: ['project'], summary: 'Project, settings and secrets' } }, async (request) =>
    ok(await projectService.getProject(deps.db, projectOf(request).projectId)),
  );

  r.put('/project', { schema: { tags: ['project'], summary: 'Update project settings', body: updateProjectBody } }, async (request) => {
    if (request.body.webhookUrl) {
      await webhookService.assertWebhookUrlAllowed(request.body.webhookUrl, { allowPrivate: deps.config.webhook.allowPrivate });
    }
    return ok(await projectService.updateProjectSettings(deps.db, projectOf(request).projectId, request.body));
  });

  r.post(
    '/project/secrets/rotate',
    { schema: { tags: ['project'], summary: 'Rotate the webhook or live-URL signing secret', body: rotateSecretBody } },
    async (request) => ok(await projectService.rotateProjectSecret(deps.db, projectOf(request).projectId, request.body.secret)),
  );
}
