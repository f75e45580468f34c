/**
 * Layer rules for `npm run lint` (docs/architecture.md, "Layers"). Domain code depends on nothing of ours but
 * itself; ports on domain; services on ports and domain; adapters on ports and domain; only the composition root
 * (api/compose.ts) and the entry points (api/lambda, api/local) wire concrete adapters to services.
 */
const layer = (name, may) => ({
  name: `${name}-imports`,
  severity: 'error',
  comment: `${name} may import only: ${may.join(', ')}`,
  from: { path: `^api/${name}/` },
  to: { path: '^api/', pathNot: may.map((m) => `^api/${m}`) },
});

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', from: {}, to: { circular: true } },
    layer('domain', ['domain/', 'config/schema.ts']),
    layer('ports', ['ports/', 'domain/']),
    layer('services', ['services/', 'ports/', 'domain/', 'config/']),
    layer('adapters', ['adapters/', 'ports/', 'domain/', 'config/']),
    layer('config', ['config/', 'domain/', 'package-root.ts']),
    layer('http', ['http/', 'services/', 'ports/', 'domain/', 'config/']),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js', '.mjs'] },
  },
};
