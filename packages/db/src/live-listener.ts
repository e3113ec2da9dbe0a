import pg from 'pg';

export const LIVE_CHANNEL = 'banatie_live';

export interface LiveChangeListener {
  /** Resolves once the first LISTEN is in place (or the first attempt failed). */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * LISTENs on the live invalidation channel (migration 0005) with a dedicated
 * session connection (DATABASE_DIRECT_URL: a transaction-mode pooler would hand
 * the LISTEN's server connection to other clients), reconnecting after errors. `onReset` runs after a reconnect:
 * notifications may have been missed, so the caller drops its whole cache.
 */
export function listenForLiveChanges(
  connectionString: string,
  handlers: { onChange(payload: string): void; onReset(): void; onError?(err: Error): void },
  retryMs = 1000,
): LiveChangeListener {
  let client: pg.Client | null = null;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let attempts = 0;

  const schedule = () => {
    if (closed || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, retryMs);
    timer.unref();
  };

  const connect = async () => {
    attempts++;
    // query_timeout: a LISTEN the server does not answer drops the connection and reconnects.
    const c = new pg.Client({ connectionString, connectionTimeoutMillis: 5000, query_timeout: 10_000 });
    client = c;
    const lost = (err?: Error) => {
      if (client !== c) return;
      client = null;
      if (err) handlers.onError?.(err);
      c.end().catch(() => undefined);
      schedule();
    };
    c.on('error', lost);
    c.on('end', () => lost());
    c.on('notification', (msg) => {
      if (msg.channel === LIVE_CHANNEL && msg.payload) handlers.onChange(msg.payload);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${LIVE_CHANNEL}`);
      // Anything cached since the first attempt may have missed a notification.
      if (attempts > 1) handlers.onReset();
      if (closed) await c.end();
    } catch (err) {
      lost(err as Error);
    }
  };
  const ready = connect();

  return {
    ready,
    close: async () => {
      closed = true;
      clearTimeout(timer);
      await ready;
      const c = client;
      client = null;
      await c?.end().catch(() => undefined);
    },
  };
}
