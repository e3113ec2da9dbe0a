import type { UsageQuery, UsageReport } from '@banatie/contracts';
import type { Transport } from '../transport.js';

/** What the key's project used (SPEC §12): generations, provider calls, tokens and cost. */
export class UsageResource {
  constructor(private readonly http: Transport) {}

  /** `from`/`to`: ISO dates (`2026-12-01`, `to` includes its day) or date-times; default this UTC month. */
  get(query: UsageQuery = {}): Promise<UsageReport> {
    return this.http.data('GET', '/usage', { query });
  }
}
