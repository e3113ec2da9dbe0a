import { livePublicParams, livePublicQuery } from '@banatie/contracts';
import type { FastifyInstance, FastifySchemaCompiler } from 'fastify';
import { validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AppDeps } from '../../deps.js';
import { sendLiveImage } from '../../lib/live-reply.js';
import { publicErrorHandler } from '../../plugins/errors.js';
import { quickLivePublicParams, quickLivePublicQuery } from './live-quick-checks.js';
import { imageBytesDoc } from '../../lib/openapi-docs.js';

const QUICK_CHECKS: Partial<Record<string, (data: Record<string, unknown>) => unknown>> = {
  params: quickLivePublicParams,
  querystring: quickLivePublicQuery,
};

/** A HIT is checked by hand; zod (and its error messages) only sees what the quick checks do not accept. */
const quickThenZod: FastifySchemaCompiler<unknown> = (route) => {
  const zod = validatorCompiler(route as Parameters<typeof validatorCompiler>[0]);
  const quick = QUICK_CHECKS[route.httpPart ?? ''];
  return (data) => {
    const value = quick?.(data as Record<string, unknown>);
    return value === undefined ? zod(data) : { value };
  };
};

/** Public live URLs (SPEC §7): no key; HITs are served from memory, MISSes pass the owner's protections. */
export async function liveCdnRoutes(app: FastifyInstance, deps: AppDeps): Promise<void> {
  const r = app.withTypeProvider<ZodTypeProvider>();

  r.get(
    '/cdn/:org/:project/live/:scope',
    {
      schema: { tags: ['live'], operationId: 'getLiveUrlImage', documentedResponses: imageBytesDoc, summary: 'Live URL: image for a prompt, generated once and cached', params: livePublicParams, querystring: livePublicQuery, security: [] },
      validatorCompiler: quickThenZod,
      errorHandler: publicErrorHandler,
    },
    async (request, reply) => {
      const { org, project, scope } = request.params;
      const q = request.query;
      const at = request.url.indexOf('?');
      const image = await deps.live.serve({
        orgSlug: org,
        projectSlug: project,
        scope,
        query: { prompt: q.prompt, aspectRatio: q.aspectRatio, autoEnhance: q.autoEnhance, template: q.template, model: q.model, imageSize: q.imageSize },
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
