import type { LiveScope } from '@banatie/db';
import { LiveForbiddenError, LiveIpLimitError } from './live-errors.js';
import { clientAddressKey, originAllowed, requestOrigin } from './live-origins.js';
import { verifyLiveSignature } from './live-signing.js';
import { liveSigningSecrets } from './project-secrets.js';
import type { Clock } from './ports.js';
import type { SharedState } from './queue-port.js';
import type { LiveProject, LiveRequest } from './live-types.js';

const HOUR_MS = 3_600_000;

/** Protections 1–4 of SPEC §7, in order, for a MISS on `scope`; throws the first that refuses. */
export function checkScopeAccess(project: LiveProject, scope: LiveScope, req: LiveRequest, now: Date): void {
  if (!scope.allow_new_generations) {
    throw new LiveForbiddenError('SCOPE_CLOSED', `Live scope "${scope.slug}" does not allow new generations`);
  }
  if (scope.current_generations >= scope.new_generations_limit) {
    throw new LiveForbiddenError('SCOPE_LIMIT_REACHED', `Live scope "${scope.slug}" has used all ${scope.new_generations_limit} of its new generations`);
  }
  if (scope.allowed_origins.length > 0) {
    const origin = requestOrigin(req.origin, req.referer);
    if (!origin || !originAllowed(scope.allowed_origins, origin)) {
      throw new LiveForbiddenError('ORIGIN_NOT_ALLOWED', 'This origin may not create new images in this live scope');
    }
  }
  if (scope.require_signature) {
    const check = verifyLiveSignature(liveSigningSecrets(project, now), req.path, [...new URLSearchParams(req.rawQuery)], now);
    if (check === 'missing') throw new LiveForbiddenError('SIGNATURE_REQUIRED', 'This live scope requires a signed URL (sig)');
    if (check === 'invalid') throw new LiveForbiddenError('SIGNATURE_INVALID', 'Invalid live URL signature');
    if (check === 'expired') throw new LiveForbiddenError('SIGNATURE_EXPIRED', 'This signed live URL has expired');
  }
}

/** Protection 5: live MISSes that start a generation, per client address and hour, shared by all instances. */
export class LiveIpLimiter {
  constructor(private readonly deps: { shared: SharedState; clock: Clock; missPerIpPerHour: number }) {}

  async take(ip: string): Promise<void> {
    const limit = this.deps.missPerIpPerHour;
    if (limit === 0) return;
    const w = this.window();
    const count = await this.deps.shared.increment(w.key(ip), HOUR_MS + 60_000);
    if (count > limit) throw new LiveIpLimitError(limit, w.retryAfter);
  }

  private window(): { key: (ip: string) => string; retryAfter: number } {
    const now = this.deps.clock.now().getTime();
    const window = Math.floor(now / HOUR_MS);
    return {
      key: (ip) => `live:ip-misses:${window}:${clientAddressKey(ip)}`,
      retryAfter: Math.max(1, Math.ceil(((window + 1) * HOUR_MS - now) / 1000)),
    };
  }
}
