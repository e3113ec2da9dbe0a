export const ALIAS_PATTERN = /^@[A-Za-z0-9][A-Za-z0-9_-]{0,49}$/;
export const RESERVED_ALIASES = ['@last', '@first', '@upload'] as const;

/** null when valid, else the reason (for a VALIDATION_ERROR message). */
export function aliasProblem(alias: string): string | null {
  if (!ALIAS_PATTERN.test(alias)) return 'Invalid alias format: must match @name (letters, digits, _ and -, up to 50 characters)';
  if ((RESERVED_ALIASES as readonly string[]).includes(alias.toLowerCase())) return `Alias ${alias} is reserved`;
  return null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string): boolean => UUID.test(v);
