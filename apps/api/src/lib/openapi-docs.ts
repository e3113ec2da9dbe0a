import { errorEnvelopeSchema, okEnvelope, pageEnvelope } from '@banatie/contracts';
import { z } from 'zod';

/**
 * Response schemas for the OpenAPI document only. Routes declare them as
 * `documentedResponses`, not `response`: a `response` schema would make every
 * answer go through zod's serializer (parse, then stringify), which the hot
 * paths cannot afford. The docs transform moves them into place; the
 * contract-drift tests check that real answers match these schemas.
 */
type ZodSchema = z.ZodType;
export interface ContentResponse {
  description: string;
  content: Record<string, { schema: ZodSchema }>;
}
export type DocumentedResponses = Record<number, ZodSchema | ContentResponse>;

declare module 'fastify' {
  interface FastifySchema {
    documentedResponses?: DocumentedResponses;
  }
}

/** `{success: true, data}` with the given status. */
export const okDoc = (schema: ZodSchema, status = 200): DocumentedResponses => ({ [status]: okEnvelope(schema) });
/** A page: `{success: true, data: [...], pagination}`. */
export const pageDoc = (item: ZodSchema): DocumentedResponses => ({ 200: pageEnvelope(item) });
/** A (re)queued generation: 202, or 200 once terminal under `Prefer: wait`. */
export const queuedDoc = (schema: ZodSchema): DocumentedResponses => ({ 200: okEnvelope(schema), 202: okEnvelope(schema) });

const binary = z.string().meta({ format: 'binary' });
/** Image bytes (PNG, JPEG or WebP); 304 for a matching `If-None-Match`. */
export const imageBytesDoc: DocumentedResponses = {
  200: { description: 'Image bytes', content: { 'image/png': { schema: binary }, 'image/jpeg': { schema: binary }, 'image/webp': { schema: binary } } },
  304: z.null().describe('Not modified (If-None-Match matched): no body'),
};
/** A Server-Sent Events stream of `status` events, each a full generation. */
export const eventStreamDoc: DocumentedResponses = {
  200: { description: 'Server-Sent Events: `event: status`, `data: <generation JSON>`', content: { 'text/event-stream': { schema: z.string() } } },
};

/** Every documented route may answer the error envelope (SPEC §3). */
export const ERROR_RESPONSE = { description: 'Error envelope (see the status table of the API docs)', content: { 'application/json': { schema: errorEnvelopeSchema } } };
