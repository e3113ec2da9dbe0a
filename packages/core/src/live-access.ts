import { liveRepository, type Db, type Executor, type LiveScope } from '@banatie/db';
import { NotFoundError } from './errors.js';
import { LiveBudgetExhaustedError, LiveDisabledError, LiveForbiddenError, LiveIpLimitError, LiveScopeCountError } from './live-errors.js';
import { resolveLivePolicy, utcDay, type LivePolicy } from './live-policy.js';
import { clientAddressKey, originAllowed, requestOrigin } from './live-origins.js';
import { verifyLiveSignature } from './live-signing.js';
import { liveSigningSecrets } from './project-secrets.js';
import type { Clock } from './ports.js';
import type { SharedState } from './queue-port.js';
import type { LiveProject, LiveRequest } from './live-types.js';

const HOUR_MS = 3_600_000;

/** What the protections of a scope read: an existing scope, or the project's defaults for one a MISS would create. */
export type ScopeRules = Pick<
  LiveScope,
  'slug' | 'allow_new_generations' | 'new_generations_limit' | 'current_generations' | 'allowed_origins' | 'require_signature'
>;

/** Protections 1–4 of SPEC §7, in order, for a MISS on `scope`; throws the first that refuses. */
export function checkScopeAccess(project: LiveProject, scope: ScopeRules, req: LiveRequest, now: Date): void {
  if (!scope.allow_new_generations) {
    throw new LiveForbiddenError('SCOPE_CLOSED');
  }
  if (scope.current_generations >= scope.new_generations_limit) {
    throw scopeBudgetSpent();
  }
  if (scope.allowed_origins.length > 0) {
    const origin = requestOrigin(req.origin, req.referer);
    if (!origin || !originAllowed(scope.allowed_origins, origin)) {
      throw new LiveForbiddenError('ORIGIN_NOT_ALLOWED');
    }
  }
  if (scope.require_signature) {
    const check = verifyLiveSignature(liveSigningSecrets(project, now), req.path, [...new URLSearchParams(req.rawQuery)], now);
    if (check === 'missing') throw new LiveForbiddenError('SIGNATURE_REQUIRED');
    if (check === 'invalid') throw new LiveForbiddenError('SIGNATURE_INVALID');
    if (check === 'expired') throw new LiveForbiddenError('SIGNATURE_EXPIRED');
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

/** A MISS's charges, taken together: the scope it counts in, and how to give them back if the submit fails. */
export interface LiveReservation {
  scope: LiveScope;
  refund(): Promise<void>;
}

export interface LiveAccessDeps {
  db: Db;
  clock: Clock;
  ipLimiter: LiveIpLimiter;
}

/**
 * The owner's protections of a public MISS (SPEC §7 and the project live policy
 * of §11). `check` reads only, so a refused MISS leaves no trace; `reserve`,
 * under the single-flight lock, repeats them in one transaction that creates
 * the scope if needed, spends the scope's and the day's budgets and, last,
 * counts the client address: any refusal rolls everything back.
 */
export class LiveAccessPolicy {
  constructor(private readonly deps: LiveAccessDeps) {}

  /** `live.enabled`: refuses every public MISS, before it joins or starts anything. */
  assertEnabled(project: LiveProject): void {
    if (!resolveLivePolicy(project.settings.live).enabled) throw new LiveDisabledError();
  }

  async check(project: LiveProject, req: LiveRequest): Promise<void> {
    const { db, clock } = this.deps;
    const policy = resolveLivePolicy(project.settings.live);
    const now = clock.now();
    const scope = (await liveRepository.findScope(db, project.id, req.scope)) ?? (await this.scopeToCreate(db, project, req.scope, policy));
    checkScopeAccess(project, scope, req, now);
    if (policy.newGenerationsPerDay !== null && (await liveRepository.findDailyUsage(db, project.id, utcDay(now))) >= policy.newGenerationsPerDay) {
      throw new LiveBudgetExhaustedError();
    }
  }

  async reserve(project: LiveProject, req: LiveRequest): Promise<LiveReservation> {
    const { db, clock } = this.deps;
    const policy = resolveLivePolicy(project.settings.live);
    const now = clock.now();
    const day = utcDay(now);
    const scope = await db.transaction().execute(async (tx) => {
      const scope = await this.findOrCreateScope(tx, project, req.scope, policy, now);
      checkScopeAccess(project, scope, req, now);
      if (!(await liveRepository.consumeScopeBudget(tx, scope.id, now))) throw scopeBudgetSpent();
      if (!(await liveRepository.consumeDailyBudget(tx, project.id, day, policy.newGenerationsPerDay))) throw new LiveBudgetExhaustedError();
      await this.deps.ipLimiter.take(req.ip);
      return scope;
    });
    return {
      scope,
      refund: async () => {
        await liveRepository.refundScopeBudget(db, scope.id);
        await liveRepository.refundDailyBudget(db, project.id, day);
      },
    };
  }

  /** The rules a scope that does not exist yet would get, if the policy lets a MISS create it. */
  private async scopeToCreate(db: Executor, project: LiveProject, slug: string, policy: LivePolicy): Promise<ScopeRules> {
    if (!policy.autoCreateScopes) throw new NotFoundError('Scope not found');
    if ((await liveRepository.countScopes(db, project.id)) >= policy.maxScopes) throw new LiveScopeCountError();
    const d = policy.scopeDefaults;
    return {
      slug,
      allow_new_generations: d.allowNewGenerations,
      new_generations_limit: d.newGenerationsLimit,
      current_generations: 0,
      allowed_origins: d.allowedOrigins,
      require_signature: d.requireSignature,
    };
  }

  private async findOrCreateScope(tx: Executor, project: LiveProject, slug: string, policy: LivePolicy, now: Date): Promise<LiveScope> {
    const existing = await liveRepository.findScope(tx, project.id, slug);
    if (existing) return existing;
    await liveRepository.lockProjectForScopeCreation(tx, project.id);
    const rules = await this.scopeToCreate(tx, project, slug, policy);
    const created = await liveRepository.insertScope(tx, project.id, slug, {
      allow_new_generations: rules.allow_new_generations,
      new_generations_limit: rules.new_generations_limit,
      allowed_origins: JSON.stringify(rules.allowed_origins),
      require_signature: rules.require_signature,
      meta: '{}',
      created_at: now,
      updated_at: now,
    });
    return created ?? (await liveRepository.findScope(tx, project.id, slug))!;
  }
}

function scopeBudgetSpent(): LiveForbiddenError {
  return new LiveForbiddenError('SCOPE_LIMIT_REACHED');
}
