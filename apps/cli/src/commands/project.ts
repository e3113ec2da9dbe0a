// `project show`: ids, settings and both secrets, straight from the database (SPEC §2 "CLI").
import { projectService, systemClock } from '@banatie/core';
import { defineCommand, LOCAL_GLOBALS, type CommandGroup, print, printJson } from '@banatie/cli';
import { splitTarget, withDatabase } from './database.js';

const show = defineCommand({
  name: 'project show',
  summary: "Show a project's ids, settings, webhook signing secret and live-URL signing secret",
  synopsis: '<org>/<project>',
  args: { min: 1, max: 1 },
  options: {},
  globals: LOCAL_GLOBALS,
  async run({ args, values, io }) {
    const [org, slug] = splitTarget(args[0]);
    const p = await withDatabase(io, (db) => projectService.getProjectBySlugs({ db, clock: systemClock }, org, slug));
    if (values.json) {
      const { id: projectId, organizationId, orgSlug, slug: projectSlug, webhookSecret, liveSigningSecret, secrets, settings } = p;
      return printJson(io, { projectId, organizationId, orgSlug, projectSlug, webhookSecret, liveSigningSecret, secrets, settings });
    }
    // A rotation's grace period: the replaced secret still signs webhooks / still opens live URLs until then.
    const grace = (at: string | null | undefined) => (at ? ` (the previous one is accepted until ${at})` : '');
    print(
      io,
      `Project ${p.orgSlug}/${p.slug}\n  id: ${p.id}\n  webhook secret: ${p.webhookSecret}${grace(p.secrets?.webhook.previousSecretExpiresAt)}\n  live signing secret: ${p.liveSigningSecret}${grace(p.secrets?.live.previousSecretExpiresAt)}\n  settings: ${JSON.stringify(p.settings)}`,
    );
  },
});

export const project: CommandGroup = { kind: 'group', name: 'project', summary: "Show a project's ids, settings and secrets", commands: [show] };
