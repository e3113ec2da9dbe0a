import type * as C from '@banatie/contracts';
import type { ApiKeyView, CreatedKey, FlowDto, GenerationDto, ImageDto, LiveScopeDto, ProjectDto, ResolvedImageDto, WebhookAttemptDto } from '@banatie/core';
import { describe, expectTypeOf, it } from 'vitest';

/**
 * Compile-time half of the drift check (tsc -p tsconfig.tests.json): the server's
 * DTO types and the contract's response types have the same fields. The runtime
 * half is the SDK tests parsing every answer with the strict schemas.
 */
describe('contracts match the server DTOs', () => {
  it('field names', () => {
    expectTypeOf<keyof ImageDto>().toEqualTypeOf<keyof C.Image>();
    expectTypeOf<keyof GenerationDto>().toEqualTypeOf<keyof C.SubmittedGeneration>();
    expectTypeOf<keyof FlowDto>().toEqualTypeOf<keyof C.Flow>();
    expectTypeOf<keyof LiveScopeDto>().toEqualTypeOf<keyof C.LiveScope>();
    expectTypeOf<keyof ProjectDto>().toEqualTypeOf<keyof C.Project>();
    expectTypeOf<keyof ProjectDto['settings']>().toEqualTypeOf<keyof C.ProjectSettings>();
    expectTypeOf<keyof WebhookAttemptDto>().toEqualTypeOf<keyof C.WebhookAttempt>();
    expectTypeOf<keyof ResolvedImageDto>().toEqualTypeOf<keyof C.ResolvedImage>();
    expectTypeOf<keyof CreatedKey>().toEqualTypeOf<keyof C.CreatedKey>();
    expectTypeOf<keyof ApiKeyView>().toEqualTypeOf<keyof C.ApiKey>();
  });

  it('types, where the server is as precise as the contract', () => {
    expectTypeOf<ImageDto>().toExtend<C.Image>();
    expectTypeOf<FlowDto>().toExtend<C.Flow>();
    expectTypeOf<LiveScopeDto>().toExtend<C.LiveScope>();
    expectTypeOf<WebhookAttemptDto>().toExtend<C.WebhookAttempt>();
    expectTypeOf<ResolvedImageDto>().toExtend<C.ResolvedImage>();
  });
});
