import type { Batch, CreateBatchInput, Page, PageQuery } from '@banatie/contracts';
import type { Transport } from '../transport.js';

/** Batches of generations (SPEC §13): each item is an ordinary generation with `batchId` set. */
export class Batches {
  constructor(private readonly http: Transport) {}

  /** One bad item refuses the whole batch (400 naming its index); `idempotencyKey` replays the first batch. */
  create(input: CreateBatchInput, opts: { idempotencyKey?: string } = {}): Promise<Batch> {
    return this.http.data('POST', '/batches', { json: input, headers: opts.idempotencyKey ? { 'idempotency-key': opts.idempotencyKey } : undefined });
  }

  get(id: string): Promise<Batch> {
    return this.http.data('GET', `/batches/${encodeURIComponent(id)}`);
  }

  list(query: PageQuery = {}): Promise<Page<Batch>> {
    return this.http.page('/batches', query);
  }

  /** Cancels every item that has not finished. */
  cancel(id: string): Promise<Batch> {
    return this.http.data('POST', `/batches/${encodeURIComponent(id)}/cancel`);
  }
}
