import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A minimal Chrome DevTools Protocol client over `--remote-debugging-pipe` (fd 3 in, fd 4 out,
 * NUL-separated JSON): no WebSocket and no npm dependency. Enough to load a page, evaluate a script,
 * collect console errors and failed or outgoing network requests, and take a screenshot.
 */

export const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p));

export interface PageResult {
  /** Result of `expression`, evaluated after the load event. */
  value: unknown;
  /** Console errors, uncaught exceptions and error log entries. */
  errors: string[];
  /** URLs requested other than the page itself (file:, data:, about: excluded). */
  requests: string[];
  /** The full-page screenshot, PNG. */
  png: Buffer;
}

export async function renderPage(url: string, expression: string, opts: { width?: number; height?: number; timeoutMs?: number } = {}): Promise<PageResult> {
  if (!CHROMIUM) throw new Error('no chromium');
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--remote-debugging-pipe',
      'about:blank',
    ],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
  );
  const input = child.stdio[3] as NodeJS.WritableStream;
  const output = child.stdio[4] as NodeJS.ReadableStream;
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: Record<string, unknown>) => void; reject: (e: Error) => void }>();
  const listeners: ((m: { method: string; params: Record<string, unknown>; sessionId?: string }) => void)[] = [];
  let buf = '';
  output.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buf.slice(0, i)) as {
        id?: number;
        result?: Record<string, unknown>;
        error?: { message: string };
        method?: string;
        params?: Record<string, unknown>;
        sessionId?: string;
      };
      buf = buf.slice(i + 1);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result ?? {});
      } else if (msg.method) for (const l of listeners) l({ method: msg.method, params: msg.params ?? {}, sessionId: msg.sessionId });
    }
  });
  const send = (method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  const timeout = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  try {
    const { targetId } = (await send('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
    const { sessionId } = (await send('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
    const errors: string[] = [];
    const requests: string[] = [];
    let loaded!: () => void;
    const load = new Promise<void>((r) => (loaded = r));
    listeners.push((m) => {
      if (m.sessionId !== sessionId) return;
      const p = m.params as Record<string, any>;
      if (m.method === 'Runtime.consoleAPICalled' && (p.type === 'error' || p.type === 'assert'))
        errors.push(`console.${p.type}: ${JSON.stringify(p.args?.map((a: any) => a.value ?? a.description))}`);
      if (m.method === 'Runtime.exceptionThrown') errors.push(`exception: ${p.exceptionDetails?.exception?.description ?? p.exceptionDetails?.text}`);
      if (m.method === 'Log.entryAdded' && p.entry?.level === 'error') errors.push(`log: ${p.entry.text} ${p.entry.url ?? ''}`);
      if (m.method === 'Network.requestWillBeSent' && !/^(file|data|about):/.test(p.request?.url ?? '')) requests.push(p.request.url);
      if (m.method === 'Page.loadEventFired') loaded();
    });
    for (const d of ['Page.enable', 'Runtime.enable', 'Log.enable', 'Network.enable']) await send(d, {}, sessionId);
    await send('Emulation.setDeviceMetricsOverride', { width: opts.width ?? 940, height: opts.height ?? 900, deviceScaleFactor: 1, mobile: false }, sessionId);
    await send('Page.navigate', { url }, sessionId);
    await load;
    const ev = (await send('Runtime.evaluate', { expression, returnByValue: true }, sessionId)) as { result: { value: unknown }; exceptionDetails?: unknown };
    if (ev.exceptionDetails) errors.push(`evaluate: ${JSON.stringify(ev.exceptionDetails)}`);
    const lm = (await send('Page.getLayoutMetrics', {}, sessionId)) as { cssContentSize: { width: number; height: number } };
    const clip = { x: 0, y: 0, width: Math.ceil(lm.cssContentSize.width), height: Math.ceil(lm.cssContentSize.height), scale: 1 };
    const shot = (await send('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true, clip }, sessionId)) as { data: string };
    await send('Browser.close').catch(() => undefined);
    return { value: ev.result.value, errors, requests, png: Buffer.from(shot.data, 'base64') };
  } finally {
    clearTimeout(timeout);
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
