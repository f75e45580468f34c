/**
 * The pages' only stylesheet, served from /assets/app.css because the CSP allows styles from 'self' only
 * (no inline styles). Colours keep at least 4.5:1 contrast; the layout is one column on a phone.
 */
export const STYLESHEET = `
:root { color-scheme: light; --fg: #1a1a1a; --muted: #4a4a4a; --bg: #ffffff; --line: #c8c8c8;
  --accent: #0b4f9c; --ok: #155724; --warn: #7a4d00; --bad: #8a1c1c; --panel: #f4f6f8; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
a:focus-visible, button:focus-visible, input:focus-visible, textarea:focus-visible, select:focus-visible { outline: 3px solid #f0b400; outline-offset: 2px; }
header.top { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; padding: .75rem 1rem; background: #102a43; color: #fff; }
header.top a { color: #fff; }
header.top nav { display: flex; flex-wrap: wrap; gap: .25rem 1rem; align-items: center; }
header.top .brand { font-weight: 700; text-decoration: none; font-size: 1.1rem; }
header.top form { display: inline; margin: 0; }
header.top button { background: transparent; color: #fff; border: 1px solid #fff; padding: .2rem .6rem; }
main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0 1rem; overflow-wrap: anywhere; }
h2 { font-size: 1.2rem; margin: 1.5rem 0 .5rem; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .35rem 1rem; margin: 0; }
dl.facts dt { font-weight: 600; color: var(--muted); }
dl.facts dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 40rem) { dl.facts { grid-template-columns: 1fr; } dl.facts dd { margin-bottom: .5rem; } }
.status { display: inline-block; padding: .1rem .5rem; border-radius: .25rem; font-weight: 700; border: 1px solid currentColor; }
.status-pending, .status-approved { color: var(--warn); }
.status-active { color: var(--ok); }
.status-denied, .status-revoked, .status-failed, .status-timed_out { color: var(--bad); }
.status-expired, .status-cancelled { color: var(--muted); }
.emergency { color: var(--bad); font-weight: 700; }
.notice, .error { padding: .75rem 1rem; border-radius: .25rem; margin: 0 0 1rem; border-left: .35rem solid; background: var(--panel); }
.notice { border-color: var(--ok); }
.error { border-color: var(--bad); }
.actions { display: grid; gap: 1rem; grid-template-columns: repeat(auto-fit, minmax(16rem, 1fr)); margin-top: 1rem; }
.actions form, form.panel { background: var(--panel); padding: 1rem; border-radius: .35rem; border: 1px solid var(--line); }
label { display: block; font-weight: 600; margin: .5rem 0 .25rem; }
input[type=text], input[type=number], input[type=datetime-local], textarea, select { width: 100%; padding: .5rem; font: inherit; border: 1px solid #767676; border-radius: .25rem; background: #fff; color: var(--fg); }
textarea { min-height: 4.5rem; }
button { font: inherit; font-weight: 600; padding: .6rem 1.1rem; border-radius: .3rem; border: 1px solid #0b3a73; background: var(--accent); color: #fff; cursor: pointer; margin-top: .75rem; min-height: 2.75rem; }
button.danger { background: var(--bad); border-color: #5c1010; }
button.secondary { background: #fff; color: var(--accent); }
table { width: 100%; border-collapse: collapse; }
th, td { text-align: left; padding: .4rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
@media (max-width: 40rem) { table.list thead { display: none; } table.list tr { display: block; border-bottom: 1px solid var(--line); padding: .5rem 0; } table.list td { display: block; border: 0; padding: .1rem 0; } }
ol.timeline { list-style: none; padding: 0; margin: 0; border-left: 2px solid var(--line); }
ol.timeline li { padding: .25rem 0 .75rem 1rem; }
ol.timeline time, .muted { color: var(--muted); font-size: .9rem; }
.hint { color: var(--muted); font-size: .9rem; margin: .25rem 0 0; }
.checkbox { display: flex; gap: .5rem; align-items: center; font-weight: 400; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
.risk-high { display: inline-block; padding: .05rem .45rem; border-radius: .25rem; background: var(--bad); color: #fff; font-weight: 700; font-size: .85rem; text-transform: uppercase; letter-spacing: .03em; vertical-align: middle; }
.risk-note { border-left: .35rem solid var(--bad); padding: .5rem .75rem; background: #fdf0f0; margin: 0 0 .75rem; }
button.approve-high { background: var(--bad); border-color: #5c1010; }
p.next { margin: -.5rem 0 .75rem; font-weight: 600; }
.countdown { font-weight: 700; }
.actions { margin: .5rem 0 1rem; }
.actions form { padding: .75rem; }
.actions textarea { min-height: 2.5rem; }
form.filters { display: grid; gap: .25rem 1rem; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); align-items: end; }
form.inline { display: flex; gap: .35rem; align-items: center; margin: 0; }
form.inline input { min-width: 6rem; }
button.small { margin: 0; padding: .3rem .7rem; min-height: 2.25rem; }
ul.history { padding-left: 1.1rem; }
`;
