// The part of `kustomize build` that deploy/kubernetes uses, so CI renders the
// manifests without a kustomize binary (neither npm nor Debian ships one).
// Anything outside this subset throws rather than being ignored, and
// e2e/kubernetes.test.ts checks the result against `kubectl kustomize` wherever
// kubectl is installed.
//
// Supported kustomization keys: resources (files and directories), namespace,
// images (name → newName/newTag/digest), patches ({path} strategic-merge patches
// whose lists are left alone: maps merge, scalars replace, null deletes).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; [k: string]: unknown }; [k: string]: unknown };

const KNOWN_KEYS = new Set(['apiVersion', 'kind', 'resources', 'namespace', 'images', 'patches']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'ClusterTriggerAuthentication']);

interface ImageRule {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every YAML document of a file (empty documents skipped). */
export function readYamlDocuments(path: string): unknown[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${path}: ${doc.errors[0]!.message}`);
      return doc.toJS() as unknown;
    })
    .filter((doc) => doc !== null && doc !== undefined);
}

const idOf = (m: { apiVersion: string; kind: string; metadata: { name: string } }) => `${m.apiVersion}/${m.kind}/${m.metadata.name}`;

function strategicMerge(target: Record<string, unknown>, patch: Record<string, unknown>, at: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete target[key];
    else if (Array.isArray(value)) throw new Error(`${at}.${key}: lists in patches are outside this renderer's subset`);
    else if (isObject(value) && isObject(target[key])) strategicMerge(target[key] as Record<string, unknown>, value, `${at}.${key}`);
    else target[key] = structuredClone(value);
  }
}

function applyImage(reference: string, rules: ImageRule[]): string {
  const match = /^(?<name>[^@]+?)(?::(?<tag>[^:/@]+))?(?:@(?<digest>.+))?$/.exec(reference);
  const rule = rules.find((r) => r.name === match?.groups?.name);
  if (!rule || !match?.groups) return reference;
  const name = rule.newName ?? match.groups.name;
  if (rule.digest) return `${name}@${rule.digest}`;
  const tag = rule.newTag ?? match.groups.tag;
  return tag ? `${name}:${tag}` : name;
}

function setImages(node: unknown, rules: ImageRule[]): void {
  if (Array.isArray(node)) {
    for (const item of node) setImages(item, rules);
    return;
  }
  if (!isObject(node)) return;
  for (const [key, value] of Object.entries(node)) {
    if ((key === 'containers' || key === 'initContainers') && Array.isArray(value)) {
      for (const c of value) if (isObject(c) && typeof c.image === 'string') c.image = applyImage(c.image, rules);
    }
    setImages(value, rules);
  }
}

/** Renders the kustomization in `dir` (a directory holding kustomization.yaml). */
export function kustomizeBuild(dir: string): Manifest[] {
  const root = resolve(dir);
  const file = join(root, 'kustomization.yaml');
  const [k] = readYamlDocuments(file) as Array<Record<string, unknown>>;
  if (!k || k.kind !== 'Kustomization') throw new Error(`${file}: not a Kustomization`);
  for (const key of Object.keys(k)) if (!KNOWN_KEYS.has(key)) throw new Error(`${file}: '${key}' is outside this renderer's subset`);

  const out: Manifest[] = [];
  for (const entry of (k.resources as string[] | undefined) ?? []) {
    const path = resolve(root, entry);
    if (statSync(path).isDirectory()) out.push(...kustomizeBuild(path));
    else out.push(...(readYamlDocuments(path) as Manifest[]));
  }
  const ids = new Set<string>();
  for (const m of out) {
    if (ids.has(idOf(m))) throw new Error(`${file}: ${idOf(m)} appears twice`);
    ids.add(idOf(m));
  }

  for (const patch of (k.patches as Array<Record<string, unknown>> | undefined) ?? []) {
    if (Object.keys(patch).join() !== 'path') throw new Error(`${file}: only {path} patches are supported`);
    const patchFile = resolve(root, patch.path as string);
    for (const p of readYamlDocuments(patchFile) as Manifest[]) {
      const target = out.find((m) => idOf(m) === idOf(p));
      if (!target) throw new Error(`${patchFile}: no resource ${idOf(p)} to patch`);
      strategicMerge(target, p, idOf(p));
    }
  }

  if (typeof k.namespace === 'string') {
    for (const m of out) {
      if (CLUSTER_SCOPED.has(m.kind)) throw new Error(`${file}: ${m.kind} is cluster-scoped, outside this renderer's subset`);
      m.metadata.namespace = k.namespace;
    }
  }
  const images = (k.images as ImageRule[] | undefined) ?? [];
  if (images.length) for (const m of out) setImages(m, images);
  return out;
}

/** Where the kustomization lives, relative to the repository. */
export const KUBERNETES_DIR = resolve(dirname(new URL(import.meta.url).pathname), '../../deploy/kubernetes');
