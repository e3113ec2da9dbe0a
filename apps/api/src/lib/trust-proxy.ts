import type { TrustProxy } from '@banatie/config';

type FastifyTrustProxy = boolean | string[] | ((address: string, hop: number) => boolean);

/**
 * TRUST_PROXY as Fastify takes it. A hop count becomes "believe the first n
 * hops" (proxy-addr's meaning, as Express has it): this Fastify trusts no hop
 * for a bare number. It assumes every connection comes through those proxies;
 * when the API is reachable directly, list the proxies' addresses instead.
 */
export function fastifyTrustProxy(trustProxy: TrustProxy): FastifyTrustProxy {
  if (typeof trustProxy !== 'number') return trustProxy;
  const hops = trustProxy;
  return (_address, hop) => hop < hops;
}
