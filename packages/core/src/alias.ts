import { ALIAS_PATTERN, RESERVED_ALIASES } from '@banatie/contracts';
import { ValidationError } from './errors.js';

export { ALIAS_PATTERN, RESERVED_ALIASES };

/** null when valid, else the reason (for a VALIDATION_ERROR message). */
export function aliasProblem(alias: string): string | null {
  if (!ALIAS_PATTERN.test(alias)) return 'Invalid alias format: must match @name (letters, digits, _ and -, up to 50 characters)';
  if ((RESERVED_ALIASES as readonly string[]).includes(alias.toLowerCase())) return `Alias ${alias} is reserved`;
  return null;
}

/** `alias` / `flowAlias` of a generation or upload: format, reserved names, and no flow alias without a flow. */
export function checkAssignedAliases(input: { alias?: string; flowAlias?: string; flowId?: string | null }): void {
  for (const [field, value] of [['alias', input.alias], ['flowAlias', input.flowAlias]] as const) {
    if (value === undefined) continue;
    const problem = aliasProblem(value);
    if (problem) throw new ValidationError(problem, { field });
  }
  if (input.flowAlias !== undefined && input.flowId === null) {
    throw new ValidationError('flowAlias cannot be used with flowId: null', { field: 'flowAlias' });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string): boolean => UUID.test(v);
