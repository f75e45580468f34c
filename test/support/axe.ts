/** axe-core run inside a Chromium page (evaluated over CDP, so the page's CSP stays as served). */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

export interface AxeViolation {
  id: string;
  impact: string | null;
  nodes: unknown[];
}

/** Every violation axe finds in the page, and a one-line summary for the test output. */
export async function runAxe(page: Page, label: string): Promise<{ serious: AxeViolation[]; line: string }> {
  await page.evaluate(AXE_SOURCE);
  const violations = (await page.evaluate(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target) })))`,
  )) as AxeViolation[];
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  const line = `  ${label}: ${violations.length} violation(s), ${serious.length} serious/critical${
    violations.length ? ` [${violations.map((v) => `${v.id}:${v.impact}`).join(', ')}]` : ''
  }`;
  return { serious, line };
}
