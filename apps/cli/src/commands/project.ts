// `project show`: ids, settings and both secrets, straight from the database (SPEC §2 "CLI").
import { projectService } from '@banatie/core';
import { defineCommand, LOCAL_GLOBALS, type CommandGroup } from '../command.js';
import { print, printJson } from '../io.js';
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
    const p = await withDatabase(io, (db) => projectService.getProjectBySlugs(db, org, slug));
    if (values.json) {
      const { id: projectId, organizationId, orgSlug, slug: projectSlug, webhookSecret, liveSigningSecret, settings } = p;
      return printJson(io, { projectId, organizationId, orgSlug, projectSlug, webhookSecret, liveSigningSecret, settings });
    }
    print(
      io,
      `Project ${p.orgSlug}/${p.slug}\n  id: ${p.id}\n  webhook secret: ${p.webhookSecret}\n  live signing secret: ${p.liveSigningSecret}\n  settings: ${JSON.stringify(p.settings)}`,
    );
  },
});

export const project: CommandGroup = { kind: 'group', name: 'project', summary: "Show a project's ids, settings and secrets", commands: [show] };
