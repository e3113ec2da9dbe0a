import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { generationSchema, imageSchema } from '@banatie/contracts';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { ERROR_RESPONSE } from '../lib/openapi-docs.js';

type TransformInput = Parameters<typeof jsonSchemaTransform>[0];

/** Puts a route's `documentedResponses` where the OpenAPI generator reads responses, plus the error envelope. */
function withDocumentedResponses(document: TransformInput): ReturnType<typeof jsonSchemaTransform> {
  const { documentedResponses, ...schema } = (document.schema ?? {}) as NonNullable<TransformInput['schema']> & { documentedResponses?: Record<string, unknown> };
  if (!documentedResponses) return jsonSchemaTransform({ ...document, schema });
  return jsonSchemaTransform({ ...document, schema: { ...schema, response: { ...documentedResponses, '4XX': ERROR_RESPONSE, '5XX': ERROR_RESPONSE } } });
}

/** OpenAPI 3.1 generated from the zod schemas that validate requests and describe responses. */
export async function registerDocs(app: FastifyInstance, publicBaseUrl: string, version: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Banatie API', version, description: 'Image generation API: prompts in, stored images on stable URLs out.', license: { name: 'MIT', identifier: 'MIT' } },
      servers: [{ url: publicBaseUrl }],
      components: {
        securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
        // The objects responses carry (`data` of the envelope), from the same zod schemas the SDK's types come from.
        schemas: {
          Image: z.toJSONSchema(imageSchema, { target: 'openapi-3.0' }) as Record<string, unknown>,
          Generation: z.toJSONSchema(generationSchema, { target: 'openapi-3.0' }) as Record<string, unknown>,
        },
      },
      security: [{ apiKey: [] }],
    },
    transform: withDocumentedResponses,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
