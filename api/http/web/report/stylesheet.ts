/** The review report's only stylesheet, served as /assets/audit-report.css (the CSP allows styles from 'self' only). */
export const AUDIT_REPORT_CSS = `
:root { color-scheme: light; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1b1b1b; margin: 2rem auto; max-width: 1000px; padding: 0 1rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 1px solid #ccc; padding-bottom: .2rem; }
.meta { color: #555; margin: 0 0 .75rem; }
.status { padding: .5rem .75rem; border-radius: 4px; word-break: break-all; }
.status.good { background: #e8f5e9; border: 1px solid #2e7d32; }
.status.bad { background: #ffebee; border: 1px solid #c62828; font-weight: 600; }
.status.warn-box { background: #fff8e1; border: 1px solid #a15c00; font-weight: 600; }
.good { color: #2e7d32; } .bad { color: #c62828; } .warn { color: #a15c00; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(120px, 1fr)); gap: .5rem; margin-top: 1rem; }
.kpi { border: 1px solid #ddd; border-radius: 4px; padding: .5rem; display: flex; flex-direction: column; }
.kpi .value { font-size: 1.4rem; font-weight: 600; }
.kpi .label { color: #555; font-size: .8rem; }
.chart { width: 100%; height: auto; max-height: 300px; }
.legend { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: 1rem; margin: .25rem 0; }
table { border-collapse: collapse; width: 100%; font-size: .85rem; }
th, td { border: 1px solid #ddd; padding: .25rem .4rem; text-align: left; vertical-align: top; }
th { background: #f4f4f4; }
code { font-size: .8rem; }
.empty { color: #666; font-style: italic; }
footer { margin-top: 2rem; color: #666; font-size: .8rem; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  section { break-inside: avoid; }
  a { color: inherit; text-decoration: none; }
}
`;
