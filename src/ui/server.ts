import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { RunError } from '../core/diagnostics.js';
import { loadReportInput } from '../report/load.js';
import { renderReport, REPORT_CSS } from '../report/html.js';
import { esc } from '../report/svg.js';
import { readLiveRun } from '../runtime/live.js';
import { comparePage, errorPage, liveMessage, modelsPage, runErrorPage, runPage, runsPage, sweepPage, type Page } from './pages.js';
import { StoreSnapshot } from './snapshot.js';

/**
 * `fxflow ui`'s server: node:http, pages rendered here (./pages.ts), a fixed set of static assets
 * (the page script and stylesheet shipped in the package's `assets/ui/`, and the report's
 * stylesheet), a run's live state as server-sent events. Read-only: it reads a private copy of
 * the store (./snapshot.ts) and the runs' live files, and never writes the store.
 */

export interface UiOptions {
  storeDir: string;
  /** Default 4173; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface UiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const DEFAULT_PORT = 4173;
export const DEFAULT_HOST = '127.0.0.1';
/** How often a live stream looks at its run's live file. */
const LIVE_POLL_MS = 150;

const ASSET_DIR = fileURLToPath(new URL('../../assets/ui/', import.meta.url));
/** The only files served: name → content type. Nothing outside this list is read from disk. */
const ASSET_FILES: Record<string, string> = { 'app.js': 'text/javascript; charset=utf-8', 'app.css': 'text/css; charset=utf-8' };

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'";
/** The embedded report is the self-contained file `fxflow report` writes: inline styles, no script. */
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'";

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function loadAssets(): Map<string, { type: string; body: Buffer }> {
  const assets = new Map<string, { type: string; body: Buffer }>();
  for (const [name, type] of Object.entries(ASSET_FILES)) assets.set(name, { type, body: readFileSync(`${ASSET_DIR}${name}`) });
  assets.set('report.css', { type: 'text/css; charset=utf-8', body: Buffer.from(REPORT_CSS) });
  return assets;
}

function shell(page: Page, storeDir: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(page.title)} · fxflow</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/assets/report.css"><link rel="stylesheet" href="/assets/app.css"><script src="/assets/app.js" defer></script></head>
<body><header class="top"><a class="brand" href="/">fxflow</a><nav><a href="/">Runs</a><a href="/models">Models</a></nav><span class="store" title="the store">${esc(storeDir)}</span></header>
<main>${page.body}</main></body></html>`;
}

/** A request path that tries to leave its folder (`..`, encoded or not, a backslash, a NUL). */
function escapes(rawPath: string): boolean {
  let p: string;
  try {
    p = decodeURIComponent(rawPath);
  } catch {
    return true;
  }
  return /(^|[/\\])\.\.([/\\]|$)/.test(p) || p.includes('\\') || p.includes('\0');
}

export async function startUi(opts: UiOptions): Promise<UiServer> {
  const snapshot = new StoreSnapshot(opts.storeDir);
  const assets = loadAssets();
  const host = opts.host ?? DEFAULT_HOST;
  const loopback = isLoopback(host);
  const streams = new Set<http.ServerResponse>();

  const send = (res: http.ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void => {
    res.writeHead(status, {
      'Content-Type': type,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-store',
      ...extra,
    });
    res.end(body);
  };
  const sendPage = (res: http.ServerResponse, page: Page): void =>
    send(res, page.status, 'text/html; charset=utf-8', shell(page, opts.storeDir), { 'Content-Security-Policy': CSP, 'X-Frame-Options': 'DENY' });

  const liveStream = (req: http.IncomingMessage, res: http.ServerResponse, runId: string): void => {
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Content-Type-Options': 'nosniff',
    });
    streams.add(res);
    let last = -1;
    const tick = (): void => {
      const live = readLiveRun(opts.storeDir, runId);
      if (!live) {
        // Recorded (or gone): the page reloads to read the run from the store.
        res.write('event: end\ndata: {}\n\n');
        stop();
        return;
      }
      if (live.updatedAt !== last) {
        last = live.updatedAt;
        res.write(`event: state\ndata: ${JSON.stringify(liveMessage(live))}\n\n`);
      }
    };
    const timer = setInterval(tick, LIVE_POLL_MS);
    const stop = (): void => {
      clearInterval(timer);
      streams.delete(res);
      res.end();
    };
    req.on('close', stop);
    tick();
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const raw = req.url ?? '/';
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return send(res, 405, 'text/plain; charset=utf-8', 'the UI is read-only: GET only\n', { Allow: 'GET, HEAD' });
    // Bound to this machine, the app answers only to its own names: a web page cannot reach it through a DNS name it controls.
    const hostName = (req.headers.host ?? '').replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (loopback && !isLoopback(hostName)) return send(res, 403, 'text/plain; charset=utf-8', `refused: host \`${hostName}\` is not this machine\n`);
    const rawPath = raw.split('?')[0];
    if (escapes(rawPath))
      return sendPage(res, errorPage(403, 'refused: the path leaves the app (`..`)', 'pages are /, /runs/ID, /compare, /sweeps/ID, /models'));
    const url = new URL(raw, 'http://localhost');
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (parts[0] === 'assets') {
      const asset = parts.length === 2 ? assets.get(parts[1]) : undefined;
      if (!asset) return send(res, 404, 'text/plain; charset=utf-8', 'no such asset\n');
      return send(res, 200, asset.type, asset.body, { 'Cache-Control': 'no-cache' });
    }
    if (parts[0] === 'api' && parts[1] === 'runs' && parts.length === 4 && parts[3] === 'live') return liveStream(req, res, parts[2]);
    if (parts[0] === 'runs' && parts.length === 3 && parts[2] === 'report') {
      const step = url.searchParams.get('step') ?? undefined;
      const html = await snapshot.read(async (store) => {
        try {
          return renderReport(await loadReportInput(store, parts[1], step));
        } catch (e) {
          return runErrorPage(e);
        }
      });
      if (typeof html !== 'string') return sendPage(res, html);
      return send(res, 200, 'text/html; charset=utf-8', html, { 'Content-Security-Policy': REPORT_CSP, 'X-Frame-Options': 'SAMEORIGIN' });
    }
    let page: Page;
    if (parts.length === 0) page = await snapshot.read((s) => runsPage(s, opts.storeDir, url.searchParams));
    else if (parts[0] === 'runs' && parts.length === 2) page = await snapshot.read((s) => runPage(s, opts.storeDir, parts[1]));
    else if (parts[0] === 'compare' && parts.length === 1) page = await snapshot.read((s) => comparePage(s, url.searchParams));
    else if (parts[0] === 'sweeps' && parts.length === 2) page = await snapshot.read((s) => sweepPage(s, parts[1], url.searchParams));
    else if (parts[0] === 'models' && parts.length === 1) page = await snapshot.read((s) => modelsPage(s));
    else page = errorPage(404, `no page at ${url.pathname}`, 'pages are /, /runs/ID, /compare?run=A&run=B, /sweeps/ID, /models');
    sendPage(res, page);
  };

  const server = http.createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const page =
        e instanceof RunError
          ? errorPage(503, e.message, e.hint)
          : errorPage(500, `the UI failed on this page: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`, 'FXFLOW_DEBUG=1 prints the stack trace');
      if (!(e instanceof RunError) && process.env.FXFLOW_DEBUG && e instanceof Error) process.stderr.write(`${e.stack}\n`);
      if (res.headersSent) res.end();
      else sendPage(res, page);
    });
  });
  const port = opts.port ?? DEFAULT_PORT;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    await snapshot.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE')
      throw new RunError(`port ${port} on ${host} is already in use (another fxflow ui, or another program)`, {
        hint: 'stop it, or pick another port: `fxflow ui --port 4174` (`--port 0` picks a free one)',
      });
    if (code === 'EACCES')
      throw new RunError(`not allowed to listen on port ${port}`, { hint: 'ports below 1024 need privileges: pick one above, e.g. `--port 4173`' });
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND')
      throw new RunError(`cannot listen on host \`${host}\`: it is not an address of this machine`, {
        hint: '`--host 127.0.0.1` (default) or `--host 0.0.0.0` for every interface',
      });
    throw e;
  }
  const bound = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shownHost}:${bound}/`,
    port: bound,
    close: async () => {
      for (const s of streams) s.end();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
      await snapshot.close();
    },
  };
}
