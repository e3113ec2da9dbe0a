import { projectSchema, rotateSecretBody, updateProjectBody } from '@banatie/contracts';
import { checkProjectModelDefaults, limitsService, projectService, webhookService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok } from '../../lib/envelope.js';
import { ADMIN_ONLY, keyRoleOf, projectOf } from '../../plugins/auth.js';
import { okDoc } from '../../lib/openapi-docs.js';

export async function projectRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get('/project', { schema: { tags: ['project'], operationId: 'getProject', documentedResponses: okDoc(projectSchema), summary: 'Project, settings and limits with their current usage; the secrets for admin keys' } }, async (request) => {
    const { projectId } = projectOf(request);
    const [project, limits] = await Promise.all([projectService.getProject(deps, projectId, keyRoleOf(request)), limitsService.limitsView(deps, projectId)]);
    return ok({ ...project, limits });
  });

  r.put(
    '/project',
    { config: ADMIN_ONLY, schema: { tags: ['project'], operationId: 'updateProject', documentedResponses: okDoc(projectSchema), summary: 'Update project settings (admin key)', body: updateProjectBody } },
    async (request) => {
      if (request.body.webhookUrl) {
        await webhookService.assertWebhookUrlAllowed(request.body.webhookUrl, { allowPrivate: deps.config.webhook.allowPrivate });
      }
      checkProjectModelDefaults({ allowed: deps.config.gemini.imageModels, defaultModel: deps.config.gemini.imageModel }, request.body);
      return ok(await projectService.updateProjectSettings(deps, projectOf(request).projectId, request.body));
    },
  );

  r.post(
    '/project/secrets/rotate',
    {
      config: ADMIN_ONLY,
      schema: {
        tags: ['project'],
        operationId: 'rotateProjectSecret', documentedResponses: okDoc(projectSchema), summary: 'Rotate the webhook or live-URL signing secret; the old one stays valid for graceSeconds (admin key)',
        body: rotateSecretBody,
      },
    },
    async (request) => ok(await projectService.rotateProjectSecret(deps, projectOf(request).projectId, request.body)),
  );
}
