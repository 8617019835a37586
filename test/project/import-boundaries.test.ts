/**
 * The dependency arrows of the architecture (docs: architecture §6) are enforced by ESLint, and
 * `npm test` runs the linter. These cases prove the rules bite: each forbidden import is
 * reported, each allowed one is not.
 */
import { ESLint } from 'eslint';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? [])
    .filter((m) => m.ruleId === 'import-x/no-restricted-paths' || m.ruleId === 'no-restricted-imports' || m.ruleId === 'no-restricted-globals')
    .map((m) => m.ruleId as string);
}

describe('import boundaries', () => {
  const forbidden: [string, string, string][] = [
    ['core imports the sensor', 'src/core/zz-probe.ts', "import { SensorDevice } from '../../sensor/device.js';\nexport const x = SensorDevice;\n"],
    ['core imports a Node built-in', 'src/core/zz-probe.ts', "import { readFileSync } from 'node:fs';\nexport const x = readFileSync;\n"],
    ['core imports a package other than @noble', 'src/core/zz-probe.ts', "import { describe } from 'vitest';\nexport const x = describe;\n"],
    ['core touches the platform', 'src/core/zz-probe.ts', 'export const x = () => globalThis.setTimeout ?? console.log(1);\n'],
    ['the sensor imports the tests', 'sensor/zz-probe.ts', "import { Sim } from '../test/support/sim.js';\nexport const x = Sim;\n"],
    ['the sensor imports the benchmarks', 'sensor/zz-probe.ts', "import * as b from '../bench/run.js';\nexport const x = b;\n"],
    ['a worker imports the sensor', 'workers/zz-probe.ts', "import { SensorDevice } from '../sensor/device.js';\nexport const x = SensorDevice;\n"],
    ['the server imports the sensor', 'server/zz-probe.ts', "import { SensorDevice } from '../sensor/device.js';\nexport const x = SensorDevice;\n"],
  ];
  for (const [name, file, code] of forbidden) {
    it(`refuses: ${name}`, async () => {
      expect((await boundaryErrors(file, code)).length).toBeGreaterThan(0);
    });
  }

  const allowed: [string, string, string][] = [
    ['core imports @noble and itself', 'src/core/zz-probe.ts', "import { sha256 } from '@noble/hashes/sha2.js';\nimport { toHex } from './bytes.js';\nexport const x = toHex(sha256(new Uint8Array(1)));\n"],
    ['the sensor imports core', 'sensor/zz-probe.ts', "import { toHex } from '../src/core/bytes.js';\nexport const x = toHex;\n"],
    ['tests import the sensor and core', 'test/zz-probe.ts', "import { SensorDevice } from '../sensor/device.js';\nimport { toHex } from '../src/core/bytes.js';\nexport const x = [SensorDevice, toHex];\n"],
  ];
  for (const [name, file, code] of allowed) {
    it(`allows: ${name}`, async () => {
      expect(await boundaryErrors(file, code)).toEqual([]);
    });
  }
});
