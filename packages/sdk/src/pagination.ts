import type { Page } from '@banatie/contracts';

type Query = { limit?: number; offset?: number } & Record<string, string | number | boolean | null | undefined>;

/** Page size used when iterating and the caller gave no `limit` (the API's maximum). */
export const ITERATION_PAGE_SIZE = 100;

/**
 * The answer of a list method: awaiting it gives one page (as the API
 * returns it); iterating it with `for await` yields every item of every page,
 * fetching the next page when the current one is used up.
 *
 *   const first = await client.generations.list({ limit: 10 });
 *   for await (const g of client.generations.list({ status: 'success' })) console.log(g.id);
 *
 * Pages are read by offset, newest first: items created while iterating
 * shift later pages (an item may be seen twice); the API caps `offset`.
 */
export class PageList<T> implements Promise<Page<T>>, AsyncIterable<T> {
  readonly [Symbol.toStringTag] = 'PageList';
  private first: Promise<Page<T>> | undefined;

  constructor(
    private readonly fetchPage: (query: Query) => Promise<Page<T>>,
    private readonly query: Query,
  ) {}

  /** The requested page, fetched once, on first use. */
  private firstPage(): Promise<Page<T>> {
    this.first ??= this.fetchPage(this.query);
    return this.first;
  }

  then<R1 = Page<T>, R2 = never>(
    onfulfilled?: ((value: Page<T>) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.firstPage().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.firstPage().catch(onrejected);
  }

  finally(onfinally?: (() => void) | null): Promise<Page<T>> {
    return this.firstPage().finally(onfinally);
  }

  /** Every page from the requested offset on, one request each. */
  async *pages(): AsyncGenerator<Page<T>> {
    const limit = this.query.limit ?? ITERATION_PAGE_SIZE;
    let offset = this.query.offset ?? 0;
    for (;;) {
      const page = await this.fetchPage({ ...this.query, limit, offset });
      yield page;
      if (!page.pagination.hasMore || page.data.length === 0) return;
      offset += page.data.length;
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for await (const page of this.pages()) yield* page.data;
  }
}
