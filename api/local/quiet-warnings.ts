/**
 * Silences warnings we know about and have decided on, so real ones stand out: the Node 20 runtime notices
 * of the AWS SDK and oidc-provider (Node 20 is supported; Lambda runs 22), and oidc-provider's reminders that
 * its in-memory adapter and development login pages are for development — which is all the local stack is.
 */
const KNOWN = [
  'oidc-provider WARNING: Unsupported runtime',
  'oidc-provider WARNING: a quick start development-only in-memory adapter',
  'oidc-provider WARNING: a quick start development-only feature devInteractions',
];

export function quietKnownWarnings(): void {
  const originalWarn = console.warn.bind(console);
  console.warn = (...args: unknown[]) => {
    const first = typeof args[0] === 'string' ? args[0] : '';
    if (KNOWN.some((prefix) => first.includes(prefix))) return;
    originalWarn(...args);
  };
  const originalEmit = process.emitWarning.bind(process);
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    if (text.startsWith('NodeVersionSupportWarning')) return;
    (originalEmit as (...args: unknown[]) => void)(warning, ...rest);
  }) as typeof process.emitWarning;
}

quietKnownWarnings();
