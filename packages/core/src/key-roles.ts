import { KEY_ROLES, type KeyRole } from '@banatie/contracts';
import { AppError, ValidationError } from './errors.js';

export { KEY_ROLES, type KeyRole };

/** 403 for a standard key on an admin action (SPEC §16); `details.reason` lets clients tell it from other refusals without reading the message. */
export class AdminKeyRequiredError extends AppError {
  constructor() {
    super('forbidden', 'FORBIDDEN', 'This action requires an admin key', { details: { reason: 'ADMIN_KEY_REQUIRED', requiredRole: 'admin' } });
  }
}

/** Throws unless a key of `role` may do what needs `required`. */
export function assertKeyRole(role: KeyRole, required: KeyRole): void {
  if (required === 'admin' && role !== 'admin') throw new AdminKeyRequiredError();
}

/** Only admin keys see the project's signing secrets. */
export function canSeeSecrets(role: KeyRole): boolean {
  return role === 'admin';
}

export function parseKeyRole(value: string): KeyRole {
  if (!(KEY_ROLES as readonly string[]).includes(value)) throw new ValidationError(`role must be one of: ${KEY_ROLES.join(', ')}`);
  return value as KeyRole;
}
