/**
 * The layer rules of `npm run lint` (.dependency-cruiser.cjs) catch what they exist for: a service importing a
 * concrete adapter, an adapter importing a service, a port importing anything but domain, and import circles.
 * Runs the real rule set over a planted tree, then over the repository itself.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { cruise } from 'dependency-cruiser';
import { afterAll, describe, expect, it } from 'vitest';

const ruleSet = createRequire(import.meta.url)('../../.dependency-cruiser.cjs');

async function violations(baseDir: string, paths: string[]) {
  const result = await cruise(paths, {
    ...ruleSet.options,
    ruleSet,
    baseDir,
    validate: true,
    tsConfig: undefined,
  });
  const output = typeof result.output === 'string' ? JSON.parse(result.output) : result.output;
  return output.summary.violations.map((v: { rule: { name: string }; from: string; to: string }) => ({
    rule: v.rule.name,
    from: v.from,
    to: v.to,
  }));
}

const planted = mkdtempSync(join(tmpdir(), 'bg-layers-'));
afterAll(() => rmSync(planted, { recursive: true, force: true }));

function plant(files: Record<string, string>) {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(planted, path)), { recursive: true });
    writeFileSync(join(planted, path), text);
  }
}

describe('layer rules', () => {
  it('refuse wrong-direction imports and circles in a planted tree', async () => {
    plant({
      'api/domain/types.ts': 'export type Id = string;\n',
      'api/ports/store.ts':
        "import type { Id } from '../domain/types.js';\nexport interface Store { get(id: Id): void }\n",
      'api/ports/bad-port.ts':
        "import { Service } from '../services/service.js';\nexport const x = Service;\n",
      'api/adapters/dynamo.ts':
        "import type { Store } from '../ports/store.js';\nexport class Dynamo implements Store { get() {} }\n",
      'api/adapters/bad-adapter.ts':
        "import { Service } from '../services/service.js';\nexport const y = Service;\n",
      'api/services/service.ts':
        "import { Dynamo } from '../adapters/dynamo.js';\nexport class Service { store = new Dynamo(); }\n",
      'api/services/to-http.ts': "import { route } from '../http/route.js';\nexport const z = route;\n",
      'api/http/route.ts': 'export const route = 1;\n',
      'api/services/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'api/services/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    const found = await violations(planted, ['api']);
    const pairs = found.map(
      (v: { rule: string; from: string; to: string }) => `${v.rule}: ${v.from} → ${v.to}`,
    );
    console.log(`planted violations:\n  ${pairs.join('\n  ')}`);
    expect(pairs).toEqual(
      expect.arrayContaining([
        'services-imports: api/services/service.ts → api/adapters/dynamo.ts',
        'services-imports: api/services/to-http.ts → api/http/route.ts',
        'adapters-imports: api/adapters/bad-adapter.ts → api/services/service.ts',
        'ports-imports: api/ports/bad-port.ts → api/services/service.ts',
      ]),
    );
    expect(found.some((v: { rule: string }) => v.rule === 'no-circular')).toBe(true);
    // The allowed directions stay quiet.
    expect(pairs.filter((p: string) => p.includes('api/adapters/dynamo.ts → api/ports'))).toEqual([]);
  });

  it('pass on the repository itself', async () => {
    const found = await violations(process.cwd(), ['api', 'cli']);
    expect(found).toEqual([]);
  });
});
