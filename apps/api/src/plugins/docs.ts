import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { generationSchema, imageSchema } from '@banatie/contracts';
import { jsonSchemaTransform } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** OpenAPI generated from the zod schemas that validate requests. */
export async function registerDocs(app: FastifyInstance, publicBaseUrl: string): Promise<void> {
  await app.register(swagger, {
    openapi: {
      info: { title: 'Banatie API', version: '1.0.0', description: 'Image generation API: prompts in, stored images on stable URLs out.' },
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
    transform: jsonSchemaTransform,
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
