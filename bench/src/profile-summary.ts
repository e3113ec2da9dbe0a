// Summarises a V8 .cpuprofile (from `npm run bench -- --profile DIR`):
//   node bench/dist/profile-summary.js FILE.cpuprofile [top]
// Self time by package (node_modules package, workspace package, node internals)
// and by function.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node internals';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const workspace = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (workspace) return `${workspace[1]}/${workspace[2]}`;
  return url;
}

function top(map: Map<string, number>, total: number, n: number): string {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${((v / total) * 100).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
}

const [file, count] = process.argv.slice(2);
if (!file) {
  console.error('usage: profile-summary FILE.cpuprofile [top]');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const selfTime = new Map<number, number>();
profile.samples.forEach((id, i) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

const byPackage = new Map<string, number>();
const byFunction = new Map<string, number>();
let total = 0;
for (const [id, us] of selfTime) {
  const { functionName, url, lineNumber } = byId.get(id)!.callFrame;
  if (functionName === '(idle)') continue;
  total += us;
  const pkg = packageOf(url, functionName);
  byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + us);
  const fn = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|apps|packages)\//, '$1/')}:${lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}
// Inclusive time per workspace function (apps/*, packages/*): where the service's own code spends, callees included.
const inclusive = new Map<string, number>();
function walk(id: number, onStack: Set<string>): number {
  const node = byId.get(id)!;
  const { functionName, url } = node.callFrame;
  let sum = functionName === '(idle)' ? 0 : (selfTime.get(id) ?? 0);
  const own = /\/(apps|packages)\/[^/]+\/dist\//.test(url) ? `${functionName || '(anonymous)'} ${url.replace(/^.*\/(apps|packages)\//, '$1/')}` : null;
  const counted = own !== null && !onStack.has(own);
  if (counted) onStack.add(own);
  for (const child of node.children ?? []) sum += walk(child, onStack);
  if (counted) {
    onStack.delete(own);
    inclusive.set(own, (inclusive.get(own) ?? 0) + sum);
  }
  return sum;
}
walk(profile.nodes[0]!.id, new Set());

const n = Number(count ?? 25);
console.log(
  `busy CPU ${(total / 1e6).toFixed(2)} s\n\nself time by package:\n${top(byPackage, total, n)}\n\nself time by function:\n${top(byFunction, total, n)}` +
    `\n\ninclusive time of the project's own functions:\n${top(inclusive, total, n)}`,
);
