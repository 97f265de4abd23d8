/**
 * A fault-injecting HTTP proxy in front of a test registry (plain HTTP upstream). It
 * forwards every request (keeping the client's Host header, so the registry's absolute
 * Locations point back at the proxy) unless a fault rule matches:
 *
 *   const proxy = await startFaultProxy(reg.url);
 *   proxy.fault({ method: 'PATCH', action: { type: 'reset', afterBytes: 100_000 } });
 *   proxy.fault({ method: 'PUT', path: /\/blobs\/uploads\//, action: { type: 'forward-then-respond', status: 400, body: ... } });
 *   new RegistryClient(proxy.host, ...); ... proxy.requests  // what came through
 *
 * Rules match on method and path (RegExp on path+query), fire `times` times (default 1)
 * after skipping `skip` matches, and are tried in the order they were added.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultAction =
  /** Answer without forwarding. */
  | { type: 'respond'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward the request body up to `afterBytes` bytes, then cut both connections. */
  | { type: 'reset'; afterBytes?: number }
  /** Forward the whole request (the registry acts on it), then answer this instead. */
  | { type: 'forward-then-respond'; status: number; headers?: Record<string, string>; body?: string }
  /** Forward, and rewrite an absolute Location in the answer to a relative one (query kept). */
  | { type: 'relative-location' }
  /** Forward, and answer with the Location passed through before this one (a stale upload state). */
  | { type: 'stale-location' }
  /** Forward, and replace the answer's Location with `map(location)`. */
  | { type: 'rewrite-location'; map: (location: string) => string }
  /** Forward, and add these headers to the answer. */
  | { type: 'add-headers'; headers: Record<string, string> }
  /** Answer with a redirect to `to(path)` (e.g. another server) without forwarding. */
  | { type: 'redirect'; status?: number; to: (pathAndQuery: string) => string };

export interface FaultRule {
  method?: string;
  path?: RegExp;
  times?: number;
  skip?: number;
  action: FaultAction;
}

export interface ProxiedRequest {
  method: string;
  /** Path and query as received. */
  path: string;
  headers: IncomingMessage['headers'];
  /** The fault applied, if any. */
  fault?: FaultAction['type'];
  /** The status sent back (undefined when the connection was cut). */
  status?: number;
  at: number;
}

export interface FaultProxy {
  /** `127.0.0.1:PORT` */
  host: string;
  url: string;
  requests: ProxiedRequest[];
  fault(rule: FaultRule): void;
  /** Rules that have not fired as often as asked (a test can assert this is empty). */
  pending(): FaultRule[];
  stop(): Promise<void>;
}

interface LiveRule {
  rule: FaultRule;
  seen: number;
  fired: number;
}

export async function startFaultProxy(upstreamUrl: string): Promise<FaultProxy> {
  const upstream = new URL(upstreamUrl);
  if (upstream.protocol !== 'http:') throw new Error('the fault proxy forwards to plain-HTTP registries only');
  const rules: LiveRule[] = [];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  const locations: string[] = [];

  const pick = (req: IncomingMessage): FaultAction | undefined => {
    for (const live of rules) {
      const { rule } = live;
      if (rule.method !== undefined && rule.method !== req.method) continue;
      if (rule.path !== undefined && !rule.path.test(req.url ?? '')) continue;
      if (live.fired >= (rule.times ?? 1)) continue;
      live.seen++;
      if (live.seen <= (rule.skip ?? 0)) continue;
      live.fired++;
      return rule.action;
    }
    return undefined;
  };

  const forward = (
    req: IncomingMessage,
    res: ServerResponse,
    record: ProxiedRequest,
    onResponse: (upRes: IncomingMessage) => void,
    cutAfter?: number,
  ): void => {
    const up = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      onResponse,
    );
    up.on('error', () => {
      if (!res.headersSent) {
        record.status = 502;
        res.writeHead(502).end();
      } else res.destroy();
    });
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      if (cutAfter !== undefined && sent + chunk.length >= cutAfter) {
        up.write(chunk.subarray(0, Math.max(0, cutAfter - sent)));
        sent = cutAfter;
        // Cut mid-body: the registry sees a broken upload, the client a reset.
        up.destroy();
        req.socket.destroy();
        return;
      }
      sent += chunk.length;
      up.write(chunk);
    });
    req.on('end', () => up.end());
  };

  const server = createServer((req, res) => {
    const record: ProxiedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, at: Date.now() };
    requests.push(record);
    const action = pick(req);
    if (action !== undefined) record.fault = action.type;
    const passThrough = (upRes: IncomingMessage, rewrite?: (h: IncomingMessage['headers']) => void): void => {
      const headers = { ...upRes.headers };
      if (typeof headers.location === 'string') locations.push(headers.location);
      rewrite?.(headers);
      record.status = upRes.statusCode ?? 502;
      res.writeHead(record.status, headers);
      upRes.pipe(res);
    };
    switch (action?.type) {
      case undefined:
        forward(req, res, record, (upRes) => passThrough(upRes));
        return;
      case 'respond':
      case 'redirect': {
        req.resume();
        req.on('end', () => {
          if (action.type === 'respond') {
            record.status = action.status;
            res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
            res.end(action.body ?? '');
          } else {
            record.status = action.status ?? 307;
            res.writeHead(record.status, { location: action.to(req.url ?? '/') });
            res.end();
          }
        });
        return;
      }
      case 'reset':
        forward(req, res, record, (upRes) => passThrough(upRes), action.afterBytes ?? 0);
        if ((action.afterBytes ?? 0) === 0) req.socket.destroy();
        return;
      case 'forward-then-respond':
        forward(req, res, record, (upRes) => {
          upRes.resume();
          upRes.on('end', () => {
            record.status = action.status;
            res.writeHead(action.status, { 'content-type': 'application/json', ...action.headers });
            res.end(action.body ?? '');
          });
        });
        return;
      case 'stale-location':
        forward(req, res, record, (upRes) =>
          passThrough(upRes, (headers) => {
            const previous = locations.at(-2);
            if (previous !== undefined) headers.location = previous;
          }),
        );
        return;
      case 'rewrite-location':
        forward(req, res, record, (upRes) =>
          passThrough(upRes, (headers) => {
            if (typeof headers.location === 'string') headers.location = action.map(headers.location);
          }),
        );
        return;
      case 'add-headers':
        forward(req, res, record, (upRes) => passThrough(upRes, (headers) => Object.assign(headers, action.headers)));
        return;
      case 'relative-location':
        forward(req, res, record, (upRes) =>
          passThrough(upRes, (headers) => {
            const loc = headers.location;
            if (typeof loc === 'string' && /^https?:\/\//.test(loc)) {
              const u = new URL(loc);
              headers.location = `${u.pathname}${u.search}`;
            }
          }),
        );
        return;
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    requests,
    fault: (rule) => rules.push({ rule, seen: 0, fired: 0 }),
    pending: () => rules.filter((l) => l.fired < (l.rule.times ?? 1)).map((l) => l.rule),
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
