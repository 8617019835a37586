// The fault proxy itself (test/support/fault-proxy.ts): each fault does what it says to a real
// HTTP client (Node's fetch) and a real target server on loopback.
import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FaultProxy } from './fault-proxy.js';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly body: string;
}

let target: Server;
let targetOrigin: string;
const seen: Seen[] = [];

beforeAll(async () => {
  target = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      seen.push({ method: req.method ?? '', path: req.url ?? '', body });
      res.writeHead(200, { 'content-type': 'application/json', 'x-target': 'yes' });
      res.end(JSON.stringify({ echo: body, n: seen.length, padding: 'x'.repeat(200) }));
    });
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', () => r()));
  const a = target.address();
  targetOrigin = `http://127.0.0.1:${typeof a === 'object' && a !== null ? a.port : 0}`;
});

afterAll(async () => {
  await new Promise<void>((r) => target.close(() => r()));
});

let proxy: FaultProxy;
afterEach(async () => {
  await proxy.stop();
  seen.length = 0;
});

const post = (body: string, signal?: AbortSignal) =>
  fetch(`${proxy.origin}/api/ingest?x=1`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' }, ...(signal ? { signal } : {}) });

describe('fault proxy', () => {
  it('passes requests and answers through unchanged', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    const res = await post('hello');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-target')).toBe('yes');
    expect(((await res.json()) as { echo: string }).echo).toBe('hello');
    expect(seen).toEqual([{ method: 'POST', path: '/api/ingest?x=1', body: 'hello' }]);
    expect(proxy.events).toEqual([{ method: 'POST', path: '/api/ingest', fault: 'pass', forwarded: 1 }]);
  });

  it('injects a status without forwarding, then follows the script in order', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'status', status: 500 }, { kind: 'status', status: 503, headers: { 'retry-after': '2' } });
    expect((await post('a')).status).toBe(500);
    const r = await post('b');
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('2');
    expect((await post('c')).status).toBe(200);
    expect(seen.map((s) => s.body)).toEqual(['c']);
  });

  it('applies faults only to matching requests', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin, match: { method: 'POST', path: '/api/ingest' } });
    proxy.always({ kind: 'status', status: 500 });
    expect((await fetch(`${proxy.origin}/api/other`, { method: 'POST', body: 'x' })).status).toBe(200);
    expect((await post('y')).status).toBe(500);
  });

  it('hold: never answers, the client times out, the target never sees it', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'hold' });
    await expect(post('held', AbortSignal.timeout(300))).rejects.toThrow();
    expect(seen).toEqual([]);
  });

  it('cut-request: the connection dies mid-request, the target never sees it', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'cut-request', afterBytes: 10 });
    await expect(post('z'.repeat(100_000))).rejects.toThrow();
    expect(seen).toEqual([]);
    expect((await post('after')).status).toBe(200);
  });

  it('cut-response: the target processed it, the client gets headers and a truncated body', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'cut-response', afterBytes: 20 });
    const res = await post('stored');
    expect(res.status).toBe(200);
    await expect(res.json()).rejects.toThrow();
    expect(seen.map((s) => s.body)).toEqual(['stored']);
  });

  it('drop-response: the target processed it, the client gets no answer at all', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'drop-response' });
    await expect(post('lost')).rejects.toThrow();
    expect(seen.map((s) => s.body)).toEqual(['lost']);
  });

  it('duplicate: the target receives the request twice (in turn, or at once); the client one answer', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'duplicate' }, { kind: 'duplicate', concurrent: true });
    const first = (await (await post('twice')).json()) as { n: number };
    expect(first.n).toBe(2);
    await post('at once');
    expect(seen.map((s) => s.body)).toEqual(['twice', 'twice', 'at once', 'at once']);
    expect(proxy.events.map((e) => e.forwarded)).toEqual([2, 2]);
  });

  it('delay: adds latency', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'delay', ms: 250 });
    const t = performance.now();
    expect((await post('slow')).status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(240);
  });

  it('restart: connections are refused for a while, then the same port answers again', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    const origin = proxy.origin;
    const restarting = proxy.restart(400);
    await new Promise((r) => setTimeout(r, 50));
    await expect(post('during')).rejects.toMatchObject({ cause: { code: 'ECONNREFUSED' } });
    await restarting;
    expect(proxy.origin).toBe(origin);
    expect((await post('after')).status).toBe(200);
    expect(seen.map((s) => s.body)).toEqual(['after']);
  });

  it('answers 502 when the target is down', async () => {
    proxy = await FaultProxy.start({ target: 'http://127.0.0.1:1' });
    const res = await post('nobody');
    expect(res.status).toBe(502);
  });

  it('is bounded: a body above the limit gets 413 and is not forwarded', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin, maxBodyBytes: 1_000 });
    expect((await post('q'.repeat(5_000))).status).toBe(413);
    expect(seen).toEqual([]);
  });

  it('forwards to loopback only, and stops by itself', async () => {
    await expect(FaultProxy.start({ target: 'http://example.com' })).rejects.toThrow(RangeError);
    proxy = await FaultProxy.start({ target: targetOrigin, lifetimeMs: 200 });
    await new Promise((r) => setTimeout(r, 400));
    await expect(post('too late')).rejects.toThrow();
  });

  it('heal() ends every fault', async () => {
    proxy = await FaultProxy.start({ target: targetOrigin });
    proxy.script({ kind: 'status', status: 500 }).always({ kind: 'drop-response' });
    proxy.heal();
    expect(proxy.scriptLeft).toBe(0);
    expect((await post('fine')).status).toBe(200);
  });
});
