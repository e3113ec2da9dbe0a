import { createScopeBody, deletedSchema, listScopesQuery, liveScopeSchema, liveSeedQuery, scopeParams, signLiveBody, signedUrlSchema, updateScopeBody } from '@banatie/contracts';
import { liveScopeService } from '@banatie/core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { ok, page } from '../../lib/envelope.js';
import { noStoreOnError, sendLiveImage } from '../../lib/live-reply.js';
import { ADMIN_ONLY, projectOf } from '../../plugins/auth.js';
import { imageBytesDoc, okDoc, pageDoc } from '../../lib/openapi-docs.js';

/** Live URL seed endpoint, signing and scopes API (SPEC §7). */
export async function liveRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  const svc = { db: deps.db, clock: deps.clock, publicBaseUrl: deps.config.publicBaseUrl };
  app.addHook('onSend', noStoreOnError);

  r.get(
    '/live',
    { schema: { tags: ['live'], operationId: 'getLiveImage', documentedResponses: imageBytesDoc, summary: 'Image for a prompt, cached (scope "api"; the owner\'s request, no live protections)', querystring: liveSeedQuery } },
    async (request, reply) => {
      // A hit is a read (charged on arrival); a miss starts work, charged to the write bucket too (SPEC §17).
      const image = await deps.live.serveForOwner(projectOf(request), request.query, {
        beforeMiss: () => app.rateLimits.charge(request, reply, 'write', 1),
      });
      return sendLiveImage(request, reply, image);
    },
  );

  r.post('/live/sign', { schema: { tags: ['live'], operationId: 'signLiveUrl', documentedResponses: okDoc(signedUrlSchema), summary: 'A signed public live URL', body: signLiveBody } }, async (request) =>
    ok(await liveScopeService.signUrl(svc, projectOf(request), request.body)),
  );

  // Managing scopes (create, update, delete) needs an admin key; reading them and signing URLs does not.
  r.post('/live/scopes', { config: ADMIN_ONLY, schema: { tags: ['live'], operationId: 'createLiveScope', documentedResponses: okDoc(liveScopeSchema, 201), summary: 'Create a live scope (admin key)', body: createScopeBody } }, async (request, reply) =>
    reply.code(201).send(ok(await liveScopeService.createScope(svc, projectOf(request), request.body))),
  );

  r.get('/live/scopes', { schema: { tags: ['live'], operationId: 'listLiveScopes', documentedResponses: pageDoc(liveScopeSchema), summary: 'List live scopes with statistics', querystring: listScopesQuery } }, async (request) => {
    const q = request.query;
    const { items, total } = await liveScopeService.listScopes(svc, projectOf(request), q);
    return page(items, total, q.limit, q.offset);
  });

  r.get('/live/scopes/:slug', { schema: { tags: ['live'], operationId: 'getLiveScope', documentedResponses: okDoc(liveScopeSchema), summary: 'A live scope with statistics', params: scopeParams } }, async (request) =>
    ok(await liveScopeService.getScope(svc, projectOf(request), request.params.slug)),
  );

  r.put('/live/scopes/:slug', { config: ADMIN_ONLY, schema: { tags: ['live'], operationId: 'updateLiveScope', documentedResponses: okDoc(liveScopeSchema), summary: 'Update a live scope (admin key)', params: scopeParams, body: updateScopeBody } }, async (request) =>
    ok(await liveScopeService.updateScope(svc, projectOf(request), request.params.slug, request.body)),
  );

  r.delete('/live/scopes/:slug', { config: ADMIN_ONLY, schema: { tags: ['live'], operationId: 'deleteLiveScope', documentedResponses: okDoc(deletedSchema), summary: 'Delete a live scope and its cache entries (admin key)', params: scopeParams } }, async (request) =>
    ok(await liveScopeService.deleteScope(svc, projectOf(request), request.params.slug)),
  );
}
