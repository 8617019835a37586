/**
 * A fault-injecting HTTP proxy for loopback tests of sync (issue 6 §3, docs/sync.md §6).
 *
 * It forwards every request to one target and, by a script (the next matching requests, in order)
 * or a standing rule, injects what real networks and servers do to an upload:
 *
 * - `status`: answers by itself (500, 503 with Retry-After, 429 …) without forwarding;
 * - `hold`: never answers (the client must time out) — released when the proxy stops;
 * - `cut-request`: reads part of the body, then drops the connection (the server never sees it);
 * - `cut-response`: forwards, then sends the headers and part of the body and drops the connection
 *   (the server stored the batch; the client lost the answer);
 * - `drop-response`: forwards, then drops the connection without a byte of answer;
 * - `duplicate`: forwards the same request twice (one after the other, or at once) and answers
 *   with the second answer;
 * - `delay`: latency before forwarding;
 * - `restart(ms)`: "the server restarted": open connections are cut and new ones refused for a
 *   while, then the same port listens again.
 *
 * Bounded and safe by construction: it listens on 127.0.0.1 only, forwards only to a loopback
 * target, buffers at most `maxBodyBytes` per request, holds a request at most `maxHoldMs`, and
 * stops by itself after `lifetimeMs` (its timers are unref'd, so it never keeps a test process up).
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export type FaultRule =
  | { readonly kind: 'pass' }
  | { readonly kind: 'status'; readonly status: number; readonly headers?: Record<string, string>; readonly body?: string }
  | { readonly kind: 'hold' }
  | { readonly kind: 'cut-request'; readonly afterBytes: number }
  | { readonly kind: 'cut-response'; readonly afterBytes: number }
  | { readonly kind: 'drop-response' }
  | { readonly kind: 'duplicate'; readonly concurrent?: boolean }
  | { readonly kind: 'delay'; readonly ms: number };

export interface FaultMatch {
  readonly method?: string;
  /** Exact path (query ignored) or a pattern. */
  readonly path?: string | RegExp;
}

export interface FaultProxyOptions {
  /** Where to forward: a loopback origin (`http://127.0.0.1:port`). */
  readonly target: string;
  /** Which requests faults apply to (default: all); others always pass. */
  readonly match?: FaultMatch;
  /** Port to listen on (default: any free one). */
  readonly port?: number;
  readonly maxBodyBytes?: number;
  readonly maxHoldMs?: number;
  readonly lifetimeMs?: number;
}

export interface ProxyEvent {
  readonly method: string;
  readonly path: string;
  readonly fault: FaultRule['kind'];
  /** Times the request reached the target. */
  readonly forwarded: number;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'content-length'];

interface Upstream {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export class FaultProxy {
  readonly events: ProxyEvent[] = [];
  private readonly target: URL;
  private readonly queue: FaultRule[] = [];
  private standing: FaultRule = { kind: 'pass' };
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly holds = new Set<ServerResponse>();
  private port = 0;
  private stopped = false;
  private lifetime: NodeJS.Timeout | undefined;
  private readonly maxBodyBytes: number;
  private readonly maxHoldMs: number;

  private constructor(private readonly options: FaultProxyOptions) {
    this.target = new URL(options.target);
    if (this.target.protocol !== 'http:' || !LOOPBACK.has(this.target.hostname)) throw new RangeError('the fault proxy forwards to a loopback http target only');
    this.maxBodyBytes = options.maxBodyBytes ?? 16 * 1024 * 1024;
    this.maxHoldMs = options.maxHoldMs ?? 120_000;
  }

  static async start(options: FaultProxyOptions): Promise<FaultProxy> {
    const proxy = new FaultProxy(options);
    await proxy.listen(options.port ?? 0);
    proxy.lifetime = setTimeout(() => void proxy.stop(), options.lifetimeMs ?? 10 * 60_000);
    proxy.lifetime.unref();
    return proxy;
  }

  /** The proxy's origin, for the client to use instead of the target's. */
  get origin(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Faults for the next matching requests, in order (appended to what is left). */
  script(...rules: FaultRule[]): this {
    this.queue.push(...rules);
    return this;
  }

  /** The rule for every matching request once the script is used up (`pass` to stop faults). */
  always(rule: FaultRule): this {
    this.standing = rule;
    return this;
  }

  /** Stops all faults: clears the script, passes everything, and is up. */
  heal(): this {
    this.queue.length = 0;
    this.standing = { kind: 'pass' };
    return this;
  }

  get scriptLeft(): number {
    return this.queue.length;
  }

  /** "The server restarted": cuts open connections and refuses new ones for `downMs`. */
  async restart(downMs: number): Promise<void> {
    await this.down();
    await new Promise<void>((r) => setTimeout(r, downMs).unref());
    if (!this.stopped) await this.listen(this.port);
  }

  /** Refuses connections (the port is closed) until `up()`. */
  async down(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.cutAll();
    if (server !== undefined) await new Promise<void>((r) => server.close(() => r()));
  }

  async up(): Promise<void> {
    if (this.server === undefined && !this.stopped) await this.listen(this.port);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.lifetime);
    await this.down();
  }

  private cutAll(): void {
    for (const res of this.holds) res.socket?.destroy();
    this.holds.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  private async listen(port: number): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    server.maxConnections = 256;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    this.port = typeof address === 'object' && address !== null ? address.port : port;
    this.server = server;
  }

  private nextRule(req: IncomingMessage): FaultRule {
    const m = this.options.match;
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const matches = (m?.method === undefined || m.method === req.method) && (m?.path === undefined || (typeof m.path === 'string' ? m.path === path : m.path.test(path)));
    if (!matches) return { kind: 'pass' };
    return this.queue.shift() ?? this.standing;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const rule = this.nextRule(req);
    const event = { method: req.method ?? 'GET', path: (req.url ?? '/').split('?')[0] ?? '/', fault: rule.kind, forwarded: 0 };
    this.events.push(event);
    const body = await this.readBody(req, res, rule.kind === 'cut-request' ? rule.afterBytes : undefined);
    if (body === undefined) return; // cut, or too large (answered)
    switch (rule.kind) {
      case 'status':
        res.writeHead(rule.status, { 'content-type': 'application/json', ...rule.headers });
        return void res.end(rule.body ?? JSON.stringify({ error: { code: 'injected', message: 'Injected by the fault proxy.' } }));
      case 'hold': {
        this.holds.add(res);
        const t = setTimeout(() => res.socket?.destroy(), this.maxHoldMs);
        t.unref();
        res.on('close', () => {
          clearTimeout(t);
          this.holds.delete(res);
        });
        return;
      }
      case 'delay':
        await new Promise<void>((r) => setTimeout(r, rule.ms).unref());
        break;
      default:
        break;
    }
    let answer: Upstream;
    try {
      if (rule.kind === 'duplicate' && rule.concurrent === true) {
        const both = await Promise.all([this.forward(req, body), this.forward(req, body)]);
        event.forwarded += 2;
        answer = both[1];
      } else {
        answer = await this.forward(req, body);
        event.forwarded++;
        if (rule.kind === 'duplicate') {
          answer = await this.forward(req, body);
          event.forwarded++;
        }
      }
    } catch {
      if (!res.headersSent && !res.destroyed) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { code: 'bad-gateway', message: 'The server behind the proxy did not answer.' } }));
      }
      return;
    }
    if (rule.kind === 'drop-response') return void res.socket?.destroy();
    const headers: Record<string, string | string[] | undefined> = { ...answer.headers, 'content-length': String(answer.body.length) };
    for (const h of HOP_BY_HOP.filter((x) => x !== 'content-length')) delete headers[h];
    res.writeHead(answer.status, headers);
    if (rule.kind === 'cut-response') {
      // Headers and part of the body, then the connection dies: the client sees a truncated answer.
      res.flushHeaders();
      res.write(answer.body.subarray(0, Math.min(rule.afterBytes, Math.max(0, answer.body.length - 1))), () => res.socket?.destroy());
      return;
    }
    res.end(answer.body);
  }

  /** Reads the whole body (bounded); with `cutAfter`, drops the connection after that many bytes. */
  private readBody(req: IncomingMessage, res: ServerResponse, cutAfter: number | undefined): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let done = false;
      const finish = (value: Buffer | undefined) => {
        if (done) return;
        done = true;
        resolve(value);
      };
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        size += chunk.length;
        chunks.push(chunk);
        if (cutAfter !== undefined && size >= cutAfter) {
          req.socket.destroy();
          return finish(undefined);
        }
        if (size > this.maxBodyBytes) {
          res.writeHead(413, { 'content-type': 'application/json', connection: 'close' });
          res.end(JSON.stringify({ error: { code: 'payload-too-large', message: 'Too large for the fault proxy.' } }));
          req.resume();
          return finish(undefined);
        }
      });
      req.on('end', () => {
        if (cutAfter !== undefined) {
          // The whole body arrived before the cut point: cut now, before forwarding.
          req.socket.destroy();
          return finish(undefined);
        }
        finish(Buffer.concat(chunks));
      });
      req.on('error', () => finish(undefined));
      req.on('aborted', () => finish(undefined));
    });
  }

  private forward(req: IncomingMessage, body: Buffer): Promise<Upstream> {
    const headers: Record<string, string | string[] | undefined> = { ...req.headers, 'content-length': String(body.length) };
    for (const h of HOP_BY_HOP.filter((x) => x !== 'content-length')) delete headers[h];
    return new Promise((resolve, reject) => {
      const upstream = httpRequest(
        { host: this.target.hostname.replace(/^\[|\]$/g, ''), port: this.target.port, method: req.method, path: req.url, headers, timeout: this.maxHoldMs },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (c: Buffer) => chunks.push(c));
          response.on('end', () => resolve({ status: response.statusCode ?? 502, headers: response.headers, body: Buffer.concat(chunks) }));
          response.on('error', reject);
        },
      );
      upstream.on('timeout', () => upstream.destroy(new Error('upstream timeout')));
      upstream.on('error', reject);
      upstream.end(body);
    });
  }
}
