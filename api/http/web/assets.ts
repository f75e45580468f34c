/**
 * The pages' static files. The CSP allows scripts and styles from 'self' only, so the one script is a file
 * here, never inline; every page works without it (times stay in UTC, countdowns stay as rendered).
 */

/**
 * Shows every `<time datetime>` in the viewer's time zone (the UTC text moves to the hover title) and ticks
 * every `[data-until]` countdown.
 */
export const APP_SCRIPT = `'use strict';
(function () {
  function span(minutes) {
    var d = Math.floor(minutes / 1440), h = Math.floor((minutes % 1440) / 60), m = minutes % 60;
    if (d >= 2) return d + ' days ' + (h ? h + ' h ' : '') + (m ? m + ' min' : '').trim();
    h += d * 24;
    if (minutes < 1) return 'less than a minute';
    return h && m ? h + ' h ' + m + ' min' : h ? h + ' h' : m + ' min';
  }
  function localise() {
    var format;
    try {
      format = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
    } catch (e) {
      return;
    }
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
    document.querySelectorAll('time[datetime]').forEach(function (node) {
      var at = new Date(node.getAttribute('datetime'));
      if (isNaN(at.getTime())) return;
      node.title = node.title || node.textContent;
      node.textContent = format.format(at);
      node.setAttribute('data-zone', zone);
    });
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll('[data-until]').forEach(function (node) {
      var ms = Date.parse(node.getAttribute('data-until')) - now;
      var total = Math.floor(Math.abs(ms) / 60000);
      node.textContent = ms >= 0 ? 'in ' + span(total) : span(total) + ' ago';
    });
  }
  function start() {
    localise();
    tick();
    setInterval(tick, 15000);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;

/** A small broken-glass mark, so the tab is recognisable and browsers stop asking for /favicon.ico. */
export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#102a43"/><path d="M9 6h14v20H9z" fill="none" stroke="#fff" stroke-width="2"/><path d="M16 6l-3 7 5 4-4 9M13 13l-4 2M18 17l5-3" fill="none" stroke="#f0b400" stroke-width="2" stroke-linejoin="round"/></svg>`;
