import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, type AnyNode } from 'acorn';
import { fullAncestor } from 'acorn-walk';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');

/** The compiled JavaScript a browser bundle of each package reaches, and the packages it may import. */
const PACKAGES = [
  { dist: 'packages/sdk/dist', allowed: ['@banatie/contracts'] },
  { dist: 'packages/contracts/dist', allowed: ['zod'] },
];

/** Node-only globals that do not exist in a browser. */
const NODE_GLOBALS = new Set(['Buffer', 'process', 'require', '__dirname', '__filename', 'global', 'setImmediate']);
const BUILTINS = new Set(builtinModules);

function jsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? jsFiles(join(dir, e.name)) : e.name.endsWith('.js') ? [join(dir, e.name)] : [],
  );
}

/** Every module specifier (static, re-export, dynamic import, require) and every use of a Node-only global. */
function scan(file: string): { specifiers: string[]; nodeGlobals: string[] } {
  const source = readFileSync(file, 'utf8');
  const program = parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true });
  const specifiers: string[] = [];
  const nodeGlobals: string[] = [];
  const literal = (node: AnyNode | null | undefined): string => (node?.type === 'Literal' && typeof node.value === 'string' ? node.value : '<computed>');
  fullAncestor(program, (node, _state, ancestors) => {
    if ((node.type === 'ImportDeclaration' || node.type === 'ExportNamedDeclaration' || node.type === 'ExportAllDeclaration') && node.source) {
      specifiers.push(literal(node.source));
    }
    if (node.type === 'ImportExpression') specifiers.push(literal(node.source));
    if (node.type === 'CallExpression' && node.callee.type === 'Identifier' && node.callee.name === 'require') specifiers.push(literal(node.arguments[0] as AnyNode));
    if (node.type === 'Identifier' && NODE_GLOBALS.has(node.name)) {
      const parent = ancestors[ancestors.length - 2];
      const isPropertyName =
        (parent?.type === 'MemberExpression' && parent.property === node && !parent.computed) || (parent?.type === 'Property' && parent.key === node && !parent.computed);
      if (!isPropertyName) nodeGlobals.push(`${node.name} at ${relative(root, file)}:${node.loc?.start.line}`);
    }
  });
  return { specifiers, nodeGlobals };
}

describe('browser safety of the compiled SDK and contracts', () => {
  for (const pkg of PACKAGES) {
    it(`${pkg.dist} imports only ${pkg.allowed.join(', ')} and relative files, and uses no Node-only globals`, () => {
      const dir = join(root, pkg.dist);
      expect(existsSync(dir), `${pkg.dist} is missing: run npx tsc -b first`).toBe(true);
      const files = jsFiles(dir);
      expect(files.length).toBeGreaterThan(0);
      const offending: string[] = [];
      for (const file of files) {
        const { specifiers, nodeGlobals } = scan(file);
        for (const s of specifiers) {
          const ok = s.startsWith('./') || s.startsWith('../') || pkg.allowed.includes(s);
          if (!ok || s.startsWith('node:') || BUILTINS.has(s)) offending.push(`import "${s}" in ${relative(root, file)}`);
        }
        offending.push(...nodeGlobals);
      }
      expect(offending).toEqual([]);
    });
  }

  it('the check itself catches a node: import, a bare builtin, another package and Buffer', () => {
    const tmp = join(root, 'packages/sdk/test/.browser-safety-probe.js');
    writeFileSync(tmp, "import { createHmac } from 'node:crypto';\nimport fs from 'fs';\nexport { x } from 'lodash';\nconst b = Buffer.from('x');\nconst o = { Buffer: 1 };\n");
    try {
      const { specifiers, nodeGlobals } = scan(tmp);
      expect(specifiers).toEqual(['node:crypto', 'fs', 'lodash']);
      expect(nodeGlobals).toHaveLength(1);
    } finally {
      rmSync(tmp, { force: true });
    }
  });
});

