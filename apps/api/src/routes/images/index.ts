import { aliasParams, deletedSchema, imageIdParams, imageSchema, listImagesQuery, resolveQuery, resolvedImageSchema, setAliasBody, updateImageBody } from '@banatie/contracts';
import multipart from '@fastify/multipart';
import { imageService, uploadService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok, page } from '../../lib/envelope.js';
import { serviceDeps } from '../../lib/service-deps.js';
import { projectOf } from '../../plugins/auth.js';
import { WRITE_ROUTE } from '../../plugins/rate-limit.js';
import { readUploadForm, uploadLimits } from './upload-form.js';
import { okDoc, pageDoc } from '../../lib/openapi-docs.js';

/** Images, uploads and aliases (SPEC §6). */
export async function imageRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  await app.register(multipart, { limits: uploadLimits });
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = serviceDeps(deps);

  r.post(
    '/images/upload',
    { config: WRITE_ROUTE, schema: { tags: ['images'], operationId: 'uploadImage', documentedResponses: okDoc(imageSchema, 201), summary: 'Upload an image (multipart: file, alias, flowId, flowAlias, meta)', consumes: ['multipart/form-data'] } },
    async (request, reply) => {
      const input = await readUploadForm(request);
      return reply.code(201).send(ok(await uploadService.uploadImage(svc, projectOf(request), input)));
    },
  );

  r.get('/images', { schema: { tags: ['images'], operationId: 'listImages', documentedResponses: pageDoc(imageSchema), summary: 'List images', querystring: listImagesQuery } }, async (request) => {
    const q = request.query;
    const { items, total } = await imageService.listImages(svc, projectOf(request), q);
    return page(items, total, q.limit, q.offset);
  });

  r.get(
    '/images/resolve/:alias',
    { schema: { tags: ['images'], operationId: 'resolveImageAlias', documentedResponses: okDoc(resolvedImageSchema), summary: 'Resolve an alias (technical → flow → project)', params: aliasParams, querystring: resolveQuery } },
    async (request) => ok(await imageService.resolveImageAlias(svc, projectOf(request), request.params.alias, request.query.flowId)),
  );

  r.get('/images/:id', { schema: { tags: ['images'], operationId: 'getImage', documentedResponses: okDoc(imageSchema), summary: 'Get an image', params: imageIdParams } }, async (request) =>
    ok(await imageService.getImage(svc, projectOf(request), request.params.id)),
  );

  r.put(
    '/images/:id',
    { schema: { tags: ['images'], operationId: 'updateImage', documentedResponses: okDoc(imageSchema), summary: 'Update focal point, meta, alias', params: imageIdParams, body: updateImageBody } },
    async (request) => ok(await imageService.updateImage(svc, projectOf(request), request.params.id, request.body)),
  );

  r.put(
    '/images/:id/alias',
    { schema: { tags: ['images'], operationId: 'setImageAlias', documentedResponses: okDoc(imageSchema), summary: 'Set (string) or remove (null) the project alias', params: imageIdParams, body: setAliasBody } },
    async (request) => ok(await imageService.updateImage(svc, projectOf(request), request.params.id, { alias: request.body.alias })),
  );

  r.delete('/images/:id', { schema: { tags: ['images'], operationId: 'deleteImage', documentedResponses: okDoc(deletedSchema), summary: 'Hard-delete an image', params: imageIdParams } }, async (request) =>
    ok(await imageService.deleteImage(svc, projectOf(request), request.params.id)),
  );
}
