// fxflow ui: the only script of the app's pages (served from the package, no network). It keeps a
// running run's graph and steps table current from the server's events, and reloads the page when
// the run has been recorded. Text goes in with textContent, never as HTML.
'use strict';

function updateStep(s) {
  const sel = `[data-step="${CSS.escape(s.id)}"]`;
  for (const el of document.querySelectorAll(sel)) {
    el.setAttribute('data-state', s.state);
    if (el.tagName.toLowerCase() === 'g') {
      el.setAttribute('data-cached', String(s.cached));
      const line = el.querySelector('text.state');
      if (line) line.textContent = s.line;
      const bar = el.querySelector('rect.bar');
      const box = el.querySelector('rect.box');
      if (bar && box) {
        const w = Number(box.getAttribute('width')) - 2;
        bar.setAttribute('width', String(s.state === 'running' && s.fraction !== null ? Math.round(w * s.fraction) : 0));
      }
    } else {
      const st = el.querySelector('td.st .status');
      if (st) {
        st.textContent = s.state;
        st.className = `status s-${s.state.replace(/[^a-z]/g, '')}`;
      }
      const line = el.querySelector('td.line');
      if (line) line.textContent = s.line.replace(/^[^·]*· /, '');
      const summary = el.querySelector('td.summary');
      if (summary) summary.textContent = s.summary || s.message;
    }
  }
}

function follow(panel) {
  const id = panel.getAttribute('data-live');
  const events = new EventSource(`/api/runs/${encodeURIComponent(id)}/live`);
  events.addEventListener('state', (e) => {
    const msg = JSON.parse(e.data);
    for (const s of msg.steps) updateStep(s);
    const log = document.querySelector('.live-log');
    if (log) {
      log.replaceChildren(
        ...msg.logs.map((l) => {
          const li = document.createElement('li');
          li.textContent = l;
          return li;
        }),
      );
    }
    document.body.setAttribute('data-live-events', String(Number(document.body.getAttribute('data-live-events') || 0) + 1));
  });
  events.addEventListener('end', () => {
    events.close();
    location.reload();
  });
}

const live = document.querySelector('[data-live]');
if (live) follow(live);

// Compare: at most six runs.
const form = document.querySelector('form.compare-form');
if (form) {
  form.addEventListener('submit', (e) => {
    const n = form.querySelectorAll('input[name="run"]:checked').length;
    if (n < 2 || n > 6) {
      e.preventDefault();
      alert(`pick 2 to 6 runs to compare (${n} picked)`);
    }
  });
}
