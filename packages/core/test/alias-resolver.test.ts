import type { ImageRow } from '@banatie/db';
import { describe, expect, it } from 'vitest';
import { aliasesInPrompt, resolveAliasWith, technicalAliasKind, type AliasLookups } from '../src/alias-resolver.js';
import { focalCoverCrop } from '../src/image-variants.js';

const image = (id: string) => ({ id }) as ImageRow;

/** Lookups backed by plain maps, recording what was asked. */
function lookups(data: { technical?: Record<string, string>; flow?: Record<string, Record<string, string>>; project?: Record<string, string> }) {
  const calls: string[] = [];
  const l: AliasLookups = {
    technical: async (kind, ctx) => {
      calls.push(`technical:${kind}:${ctx.flowId ?? '-'}`);
      const id = data.technical?.[`${kind}:${ctx.flowId ?? '-'}`];
      return id ? image(id) : undefined;
    },
    flowAlias: async (flowId, alias) => {
      calls.push(`flow:${flowId}:${alias}`);
      const id = data.flow?.[flowId]?.[alias];
      return id ? image(id) : undefined;
    },
    projectAlias: async (alias) => {
      calls.push(`project:${alias}`);
      const id = data.project?.[alias];
      return id ? image(id) : undefined;
    },
  };
  return { l, calls };
}

describe('resolveAliasWith', () => {
  it('technical aliases never consult flow or project aliases, and are scoped to the flow in context', async () => {
    const { l, calls } = lookups({ technical: { 'last:f1': 'in-flow', 'last:-': 'in-project' }, project: { '@last': 'never' } });
    expect(await resolveAliasWith(l, '@last', { flowId: 'f1' })).toEqual({ image: image('in-flow'), alias: '@last', scope: 'technical', flowId: 'f1' });
    expect(await resolveAliasWith(l, '@LAST', { flowId: null })).toEqual({ image: image('in-project'), alias: '@LAST', scope: 'technical', flowId: null });
    expect(await resolveAliasWith(l, '@first', { flowId: 'f1' })).toBeNull();
    expect(calls).toEqual(['technical:last:f1', 'technical:last:-', 'technical:first:f1']);
  });

  it('a flow alias shadows the project alias; without a flow only the project is asked', async () => {
    const { l, calls } = lookups({ flow: { f1: { '@logo': 'flow-logo' } }, project: { '@logo': 'project-logo' } });
    expect((await resolveAliasWith(l, '@logo', { flowId: 'f1' }))?.image.id).toBe('flow-logo');
    expect((await resolveAliasWith(l, '@logo', { flowId: 'f2' }))).toMatchObject({ image: { id: 'project-logo' }, scope: 'project', flowId: null });
    expect((await resolveAliasWith(l, '@logo', { flowId: null }))?.scope).toBe('project');
    expect(calls).toEqual(['flow:f1:@logo', 'flow:f2:@logo', 'project:@logo', 'project:@logo']);
  });

  it('unknown everywhere → null', async () => {
    const { l } = lookups({});
    expect(await resolveAliasWith(l, '@ghost', { flowId: 'f1' })).toBeNull();
  });
});

describe('helpers', () => {
  it('technicalAliasKind', () => {
    expect(['@last', '@first', '@upload', '@Upload', '@lastest', 'last'].map(technicalAliasKind)).toEqual(['last', 'first', 'upload', 'upload', null, null]);
  });

  it('aliasesInPrompt finds @name tokens, not e-mail addresses, once each, in order', () => {
    expect(aliasesInPrompt('a mug with @logo and @bg-2, by me@example.com, again @logo; (@x_y).')).toEqual(['@logo', '@bg-2', '@x_y']);
    expect(aliasesInPrompt(`@${'a'.repeat(51)} is too long`)).toEqual([]);
    expect(aliasesInPrompt('no aliases @ all')).toEqual([]);
  });

  it('focalCoverCrop keeps the window inside the scaled image', () => {
    expect(focalCoverCrop({ width: 200, height: 100 }, { w: 50, h: 50 }, { x: 1, y: 1 })).toEqual({ scaledWidth: 100, scaledHeight: 50, left: 50, top: 0 });
    expect(focalCoverCrop({ width: 200, height: 100 }, { w: 50, h: 50 }, { x: 0, y: 0 })).toEqual({ scaledWidth: 100, scaledHeight: 50, left: 0, top: 0 });
    expect(focalCoverCrop({ width: 200, height: 100 }, { w: 50, h: 50 }, { x: 0.5, y: 0.5 })).toEqual({ scaledWidth: 100, scaledHeight: 50, left: 25, top: 0 });
  });
});
