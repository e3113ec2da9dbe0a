// deploy/kubernetes (SPEC §14): the kustomize base and the example overlay are
// rendered (e2e/helpers/kustomize.ts; compared with `kubectl kustomize` where
// kubectl is installed) and validated offline against the Kubernetes and KEDA
// schemas (kubernetes-models, @kubernetes-models/keda); the validation is shown
// to catch broken manifests; and what the manifests promise is checked against
// the code: the configuration the pods get loads, the probes hit real
// endpoints, KEDA reads the list BullMQ really fills, the grace periods outlast
// the processes' own shutdown.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { Job } from 'kubernetes-models/batch/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { ConfigMap, Service } from 'kubernetes-models/v1';
import { parseAllDocuments } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { SECRET_VARIABLES, loadConfig } from '@banatie/config';
import { createGenerationQueue, createRedis, enqueueGeneration, queueDepth } from '@banatie/queue';
import { TEST_REDIS_URL, testQueuePrefix } from '@banatie/testing';
import { WORKER_SHUTDOWN_DEADLINE_MS } from '../apps/worker/src/runtime.js';
import { KUBERNETES_DIR, kustomizeBuild, type Manifest } from './helpers/kustomize.js';

type Obj = Record<string, any>;

const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'batch/v1/Job': Job,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
};

function validate(m: Manifest): void {
  const Model = MODELS[`${m.apiVersion}/${m.kind}`];
  if (!Model) throw new Error(`no schema for ${m.apiVersion} ${m.kind}: add its model to MODELS`);
  new Model(structuredClone(m)).validate();
}

const base = kustomizeBuild(join(KUBERNETES_DIR, 'base'));
const overlay = kustomizeBuild(join(KUBERNETES_DIR, 'overlays/example'));

const find = (objects: Manifest[], kind: string, name: string): Obj => {
  const found = objects.find((m) => m.kind === kind && m.metadata.name === name);
  if (!found) throw new Error(`${kind} ${name} is missing`);
  return found;
};
const configData = (objects: Manifest[]): Record<string, string> => find(objects, 'ConfigMap', 'banatie').data;
/** Every pod template: the Deployments' and the Job's. */
const podTemplates = (objects: Manifest[]): Array<[string, Obj]> =>
  objects.filter((m) => m.kind === 'Deployment' || m.kind === 'Job').map((m) => [`${m.kind} ${m.metadata.name}`, (m as Obj).spec.template]);

describe('rendering', () => {
  it('the overlay is the base in its namespace, with its image and values', () => {
    const names = (objects: Manifest[]) => objects.map((m) => `${m.kind}/${m.metadata.name}`).sort();
    expect(names(overlay)).toEqual(names(base));
    expect(names(base)).toEqual([
      'ConfigMap/banatie',
      'Deployment/banatie-api',
      'Deployment/banatie-worker',
      'HorizontalPodAutoscaler/banatie-api',
      'Job/banatie-migrate',
      'PodDisruptionBudget/banatie-api',
      'PodDisruptionBudget/banatie-worker',
      'ScaledObject/banatie-worker',
      'Service/banatie-api',
      'Service/banatie-worker-metrics',
    ]);
    expect(new Set(overlay.map((m) => m.metadata.namespace))).toEqual(new Set(['banatie']));
    for (const [what, template] of podTemplates(overlay)) {
      expect(template.spec.containers.map((c: Obj) => c.image), what).toEqual(['registry.example.com/banatie:0.1.0']);
    }
    expect(configData(overlay)).toMatchObject({ PUBLIC_BASE_URL: 'https://images.example.com', S3_ENDPOINT: 's3.eu-west-1.amazonaws.com', QUEUE_PREFIX: 'banatie' });
    expect(find(overlay, 'HorizontalPodAutoscaler', 'banatie-api').spec).toMatchObject({ minReplicas: 3, maxReplicas: 12, metrics: [{ type: 'Resource' }] });
    // A patch of the ScaledObject keeps its triggers.
    expect(find(overlay, 'ScaledObject', 'banatie-worker').spec).toMatchObject({ minReplicaCount: 2, maxReplicaCount: 30 });
    expect(find(overlay, 'ScaledObject', 'banatie-worker').spec.triggers).toHaveLength(2);
  });

  const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  it.runIf(kubectl.status === 0)('matches `kubectl kustomize` (kustomize itself) object for object', () => {
    for (const [dir, ours] of [['base', base], ['overlays/example', overlay]] as const) {
      const r = spawnSync('kubectl', ['kustomize', join(KUBERNETES_DIR, dir)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const theirs = parseAllDocuments(r.stdout).map((d) => d.toJS() as Manifest);
      const byId = (objects: Manifest[]) =>
        Object.fromEntries(objects.map((m) => [`${m.apiVersion}/${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`, m]));
      expect(byId(ours), dir).toEqual(byId(theirs));
    }
  });
});

describe('validation against the Kubernetes and KEDA schemas', () => {
  it.each([
    ['base', base],
    ['overlays/example', overlay],
  ])('every object of %s is valid', (_dir, objects) => {
    for (const m of objects) expect(() => validate(m), `${m.kind} ${m.metadata.name}`).not.toThrow();
  });

  // One field broken at a time: the same object validates before, and fails after.
  const mutations: Array<[string, string, string, (o: Obj) => void, RegExp]> = [
    ['Deployment', 'banatie-api', 'replicas as a string', (o) => (o.spec.replicas = 'two'), /replicas must be integer/],
    ['Deployment', 'banatie-worker', 'no containers', (o) => delete o.spec.template.spec.containers, /required property containers/],
    ['Deployment', 'banatie-api', 'a probe port as a list', (o) => (o.spec.template.spec.containers[0].readinessProbe.httpGet.port = [3000]), /port/],
    ['Deployment', 'banatie-worker', 'a memory limit that is no quantity', (o) => (o.spec.template.spec.containers[0].resources.limits.memory = { gi: 1 }), /memory/],
    ['Job', 'banatie-migrate', 'backoffLimit as a string', (o) => (o.spec.backoffLimit = '4'), /backoffLimit must be integer/],
    ['HorizontalPodAutoscaler', 'banatie-api', 'no scaleTargetRef', (o) => delete o.spec.scaleTargetRef, /required property scaleTargetRef/],
    ['PodDisruptionBudget', 'banatie-worker', 'maxUnavailable as a boolean', (o) => (o.spec.maxUnavailable = true), /maxUnavailable/],
    ['Service', 'banatie-api', 'a port without its number', (o) => delete o.spec.ports[0].port, /required property port/],
    ['ScaledObject', 'banatie-worker', 'targetValue as a number (KEDA wants strings)', (o) => (o.spec.triggers[0].metadata.targetValue = 8), /targetValue must be string/],
    ['ScaledObject', 'banatie-worker', 'a trigger without its type', (o) => delete o.spec.triggers[1].type, /required property type/],
  ];
  it.each(mutations)('%s %s with %s fails', (kind, name, _what, mutate, message) => {
    const object = structuredClone(find(overlay, kind, name)) as Manifest;
    expect(() => validate(object)).not.toThrow();
    mutate(object);
    expect(() => validate(object)).toThrow(message);
  });
});

describe('what the manifests promise', () => {
  it.each(podTemplates(overlay))('%s runs locked down, with resources and a writable /tmp only', (_what, template) => {
    const pod = template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } });
    expect(pod.securityContext.runAsUser).toBeGreaterThan(0);
    for (const c of pod.containers) {
      expect(c.securityContext, c.name).toEqual({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } });
      for (const kind of ['requests', 'limits']) expect(Object.keys(c.resources[kind]).sort(), `${c.name} ${kind}`).toEqual(['cpu', 'memory']);
      const tmp = c.volumeMounts.find((v: Obj) => v.mountPath === '/tmp');
      expect(pod.volumes.find((v: Obj) => v.name === tmp?.name)?.emptyDir, `${c.name}: /tmp is an emptyDir`).toBeDefined();
      expect(c.volumeMounts.filter((v: Obj) => !v.readOnly).map((v: Obj) => v.mountPath), `${c.name}: writable mounts`).toEqual(['/tmp']);
    }
  });

  it.each(podTemplates(overlay))('%s gets a valid configuration, with every secret from the Secret and none in the manifest', (_what, template) => {
    const dir = mkdtempSync(join(tmpdir(), 'banatie-k8s-secrets-'));
    try {
      const container = template.spec.containers[0];
      const secretVolumes = template.spec.volumes.filter((v: Obj) => v.secret);
      const secretMounts = container.volumeMounts.filter((m: Obj) => secretVolumes.some((v: Obj) => v.name === m.name));
      expect(secretVolumes.map((v: Obj) => v.secret.secretName)).toEqual(['banatie']);
      // What the Secret holds in this test (the operator's real one has real values).
      const fakeSecret: Record<string, string> = {
        DATABASE_URL: 'postgres://banatie:pw@pgbouncer:6432/banatie',
        DATABASE_DIRECT_URL: 'postgres://banatie:pw@postgres:5432/banatie',
        REDIS_URL: 'redis://:pw@redis:6379',
        S3_ACCESS_KEY: 'access',
        S3_SECRET_KEY: 'secret',
        GEMINI_API_KEY: 'gemini-key',
      };
      for (const [key, value] of Object.entries(fakeSecret)) writeFileSync(join(dir, key), `${value}\n`);

      const env: Record<string, string> = { ...configData(overlay) };
      for (const e of container.env as Obj[]) {
        expect(SECRET_VARIABLES as readonly string[], `${e.name} is a secret given as a plain value`).not.toContain(e.value === undefined ? '' : e.name);
        if (e.name.endsWith('_FILE')) {
          expect(SECRET_VARIABLES as readonly string[]).toContain(e.name.replace(/_FILE$/, ''));
          const mount = secretMounts.find((m: Obj) => e.value.startsWith(`${m.mountPath}/`));
          expect(mount, `${e.name} points into the mounted Secret`).toBeDefined();
          env[e.name] = join(dir, e.value.slice(mount.mountPath.length + 1));
        } else if (e.valueFrom?.secretKeyRef) {
          expect(e.valueFrom.secretKeyRef.name).toBe('banatie');
          env[e.name] = fakeSecret[e.valueFrom.secretKeyRef.key]!;
        } else {
          env[e.name] = e.value;
        }
      }
      // Every secret variable the service needs here is given one way or the other.
      for (const name of SECRET_VARIABLES) expect(name in env || `${name}_FILE` in env, name).toBe(true);
      const config = loadConfig(env);
      expect(config).toMatchObject({
        databaseUrl: fakeSecret.DATABASE_URL,
        databaseDirectUrl: fakeSecret.DATABASE_DIRECT_URL,
        redisUrl: fakeSecret.REDIS_URL,
        publicBaseUrl: 'https://images.example.com',
        imageProvider: 'gemini',
        storage: { driver: 's3', s3: { endPoint: 's3.eu-west-1.amazonaws.com', accessKey: 'access', secretKey: 'secret', useSSL: true } },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the API: /health for liveness, /ready for readiness, a preStop that outlives endpoint removal, a grace period that covers it', () => {
    const pod = find(overlay, 'Deployment', 'banatie-api').spec.template.spec;
    const api = pod.containers[0];
    const port = api.ports.find((p: Obj) => p.name === 'http');
    expect(String(port.containerPort)).toBe(configData(overlay).PORT);
    expect(api.livenessProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(api.startupProbe.httpGet).toEqual({ path: '/health', port: 'http' });
    expect(api.readinessProbe.httpGet).toEqual({ path: '/ready', port: 'http' });
    // /ready gives each dependency 2 s.
    expect(api.readinessProbe.timeoutSeconds).toBeGreaterThan(2);
    const [sleep, seconds] = api.lifecycle.preStop.exec.command as string[];
    expect(sleep).toBe('sleep');
    // The API exits by itself within 10 s of SIGTERM (apps/api/src/server.ts).
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(Number(seconds) + 10);
    const service = find(overlay, 'Service', 'banatie-api');
    expect(service.spec.selector).toEqual(find(overlay, 'Deployment', 'banatie-api').spec.template.metadata.labels);
    expect(service.spec.ports[0].targetPort).toBe('http');
    expect(find(overlay, 'HorizontalPodAutoscaler', 'banatie-api').spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'banatie-api' });
  });

  it('the worker: liveness on its /health at WORKER_METRICS_PORT, a grace period longer than a job and its own shutdown', () => {
    const pod = find(overlay, 'Deployment', 'banatie-worker').spec.template.spec;
    const worker = pod.containers[0];
    expect(worker.command).toEqual(['node', 'apps/worker/dist/main.js']);
    const metrics = worker.ports.find((p: Obj) => p.name === 'metrics');
    expect(String(metrics.containerPort)).toBe(configData(overlay).WORKER_METRICS_PORT);
    expect(worker.livenessProbe.httpGet).toEqual({ path: '/health', port: 'metrics' });
    // One attempt at worst: enhancement + image call (each GEMINI_TIMEOUT_MS) + a 30 s storage write.
    const oneAttemptSeconds = (2 * Number(configData(overlay).GEMINI_TIMEOUT_MS)) / 1000 + 30;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(oneAttemptSeconds);
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(WORKER_SHUTDOWN_DEADLINE_MS / 1000);
    expect(find(overlay, 'Job', 'banatie-migrate').spec.template.spec.containers[0].command).toEqual(['node', 'apps/cli/dist/main.js', 'migrate']);
  });

  it('PodDisruptionBudgets select the pods they protect', () => {
    for (const name of ['banatie-api', 'banatie-worker']) {
      const labels = find(overlay, 'Deployment', name).spec.template.metadata.labels;
      expect(find(overlay, 'PodDisruptionBudget', name).spec.selector.matchLabels).toEqual(labels);
    }
  });

  describe('KEDA scales workers on the queue depth the workers report', () => {
    it('the triggers read backlog and running from /queue-depth on the worker metrics Service, target WORKER_CONCURRENCY', () => {
      const scaled = find(overlay, 'ScaledObject', 'banatie-worker');
      const config = configData(overlay);
      expect(scaled.spec.scaleTargetRef.name).toBe('banatie-worker');
      expect(scaled.spec.minReplicaCount).toBeGreaterThanOrEqual(1);
      const service = find(overlay, 'Service', 'banatie-worker-metrics');
      const url = `http://${service.metadata.name}.${service.metadata.namespace}.svc.cluster.local:${service.spec.ports[0].port}/queue-depth`;
      expect(scaled.spec.triggers.map((t: Obj) => [t.type, t.metadata.url, t.metadata.valueLocation, t.metadata.targetValue])).toEqual([
        ['metrics-api', url, 'backlog', config.WORKER_CONCURRENCY],
        ['metrics-api', url, 'running', config.WORKER_CONCURRENCY],
      ]);
      const worker = find(overlay, 'Deployment', 'banatie-worker');
      expect(service.spec.selector).toEqual(worker.spec.template.metadata.labels);
      const metricsPort = worker.spec.template.spec.containers[0].ports.find((p: Obj) => p.name === service.spec.ports[0].targetPort);
      expect(metricsPort.containerPort).toBe(Number(config.WORKER_METRICS_PORT ?? 9464));
    });

    it('a generation queued the way the API queues it (fair priority) counts in the backlog', async () => {
      const redis = createRedis({ redisUrl: TEST_REDIS_URL }, 'producer');
      const queue = createGenerationQueue(redis, testQueuePrefix(), 1);
      try {
        expect(await queueDepth(queue)).toEqual({ backlog: 0, running: 0 });
        await enqueueGeneration(queue, { generationId: '00000000-0000-4000-8000-000000000000', run: 0, projectId: '00000000-0000-4000-8000-000000000001' });
        expect(await queue.getJobCounts('waiting', 'prioritized')).toMatchObject({ waiting: 0, prioritized: 1 });
        expect(await queueDepth(queue)).toEqual({ backlog: 1, running: 0 });
      } finally {
        await queue.obliterate({ force: true });
        await queue.close();
        redis.disconnect();
      }
    });
  });

});
