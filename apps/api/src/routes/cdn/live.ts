import { livePublicParams, livePublicQuery } from '@banatie/contracts';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { noStoreOnError, sendLiveImage } from '../../lib/live-reply.js';

/** Public live URLs (SPEC §7): no key; HITs are served from memory, MISSes pass the owner's protections. */
export async function liveCdnRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();
  app.addHook('onSend', noStoreOnError);

  r.get(
    '/cdn/:org/:project/live/:scope',
    { schema: { tags: ['live'], summary: 'Live URL: image for a prompt, generated once and cached', params: livePublicParams, querystring: livePublicQuery, security: [] } },
    async (request, reply) => {
      const { org, project, scope } = request.params;
      const q = request.query;
      const at = request.url.indexOf('?');
      const image = await deps.live.serve({
        orgSlug: org,
        projectSlug: project,
        scope,
        query: { prompt: q.prompt, aspectRatio: q.aspectRatio, autoEnhance: q.autoEnhance, template: q.template },
        path: at >= 0 ? request.url.slice(0, at) : request.url,
        rawQuery: at >= 0 ? request.url.slice(at + 1) : '',
        origin: request.headers.origin,
        referer: request.headers.referer,
        ip: request.ip,
        headOnly: request.method === 'HEAD',
      });
      return sendLiveImage(request, reply, image);
    },
  );
}
