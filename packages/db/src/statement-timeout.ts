import { connect, type Socket } from 'node:net';
import type { PostgresCursor, PostgresPool, PostgresPoolClient, PostgresQueryResult } from 'kysely';
import type pg from 'pg';

/** A statement ran longer than DATABASE_STATEMENT_TIMEOUT_MS: it was cancelled and its connection dropped. */
export class DatabaseTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`Database statement timed out after ${timeoutMs} ms`);
    this.name = 'DatabaseTimeoutError';
  }
}

/** How long a cancelled statement may take to end before its connection is dropped anyway. */
const CANCEL_DEADLINE_MS = 2000;
/** CancelRequest code of the PostgreSQL wire protocol (1234 << 16 | 5678). */
const CANCEL_REQUEST_CODE = 80877102;

/**
 * Asks the server to cancel what the connection of `client` is running: the
 * protocol's CancelRequest (its backend key, on a connection of its own), which
 * PgBouncer forwards to the server connection its client is using at that
 * moment. Best effort: resolves when the server has closed the request's
 * connection (or it failed), within CANCEL_DEADLINE_MS.
 */
function sendCancelRequest(client: pg.PoolClient): Promise<void> {
  // Set from the server's BackendKeyData; undocumented members of pg's Client (Kysely reads processID too).
  const { processID, secretKey } = client as unknown as { processID?: number | null; secretKey?: number | null };
  if (!processID || secretKey === null || secretKey === undefined) return Promise.resolve();
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  return new Promise((resolve) => {
    let socket: Socket;
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve();
    };
    const timer = setTimeout(done, CANCEL_DEADLINE_MS);
    socket = client.host.startsWith('/') ? connect(`${client.host}/.s.PGSQL.${client.port}`) : connect(client.port, client.host);
    // Written, not ended: the server closes the socket once it has acted on the request
    // (PgBouncer drops a cancel whose sender hung up before it was forwarded).
    socket.once('connect', () => socket.write(packet));
    socket.once('close', done);
    socket.once('error', done);
  });
}

/** Resolves when `promise` settles or after `ms`, whichever comes first; never rejects. */
function settledWithin(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}

/**
 * One checked-out connection with a deadline on every statement. At the
 * deadline the caller gets DatabaseTimeoutError at once, the server is asked to
 * cancel the statement, and the connection is destroyed on release (never
 * reused: its state is unknown). Works the same through PgBouncer in
 * transaction mode, where a `statement_timeout` startup parameter is refused
 * and a `SET` would leak to other clients.
 */
class TimedPoolClient implements PostgresPoolClient {
  private timedOut = false;
  private cancelled: Promise<void> | null = null;

  constructor(
    private readonly client: pg.PoolClient,
    private readonly timeoutMs: number,
  ) {}

  query<R>(sql: string, parameters: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>>;
  query<R>(cursor: PostgresCursor<R>): PostgresCursor<R>;
  query<R>(sql: string | PostgresCursor<R>, parameters?: ReadonlyArray<unknown>): Promise<PostgresQueryResult<R>> | PostgresCursor<R> {
    // Cursors (streaming) are not used by the repositories; passed through untimed.
    if (typeof sql !== 'string') return this.client.query(sql as never) as unknown as PostgresCursor<R>;
    // After a timeout (Kysely then sends ROLLBACK on the same connection): fail at once, with the same error.
    if (this.timedOut) return Promise.reject(new DatabaseTimeoutError(this.timeoutMs));
    const running = this.client.query(sql, parameters as unknown[] | undefined) as unknown as Promise<PostgresQueryResult<R>>;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.timedOut = true;
        // The connection is released once the server has answered the cancel (or the deadline passed):
        // closing it first would, through PgBouncer, drop the cancel and leave the statement running.
        void sendCancelRequest(this.client);
        this.cancelled = settledWithin(running, CANCEL_DEADLINE_MS);
        reject(new DatabaseTimeoutError(this.timeoutMs));
      }, this.timeoutMs);
      running.then(
        (result) => {
          clearTimeout(timer);
          resolve(result);
        },
        (err: unknown) => {
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }

  release(destroy?: boolean): void {
    if (!this.timedOut) {
      this.client.release(destroy);
      return;
    }
    void (this.cancelled ?? Promise.resolve()).then(() => this.client.release(true));
  }
}

/** Kysely's view of a pg.Pool whose statements time out after `timeoutMs`. */
export function withStatementTimeout(pool: pg.Pool, timeoutMs: number): PostgresPool {
  return {
    options: pool.options,
    connect: async () => new TimedPoolClient(await pool.connect(), timeoutMs),
    end: () => pool.end(),
  };
}
