/** The package version, read from package.json next to the build (cheap enough for `--version`'s fast path). */
import { readFileSync } from 'node:fs';

export function cliVersion(): string {
  // dist/cli/version.js and cli/version.ts both sit below the package root.
  for (const relative of ['../../package.json', '../package.json']) {
    try {
      const manifest = JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === 'breakglass' && manifest.version) return manifest.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}
