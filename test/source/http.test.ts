import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveSource } from '../../src/build/resolve-source.ts';
import { HttpSource, ReadAheadSource } from '../../src/source/index.ts';

const data = randomBytes(300_000);
let server: Server;
let base: string;
let etag = '"v1"';
let failNext = 0;
const log: Array<{ path: string; range?: string; auth?: string }> = [];

/** A small static server: Range support on /file, none on /norange, 404 elsewhere. */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  log.push({ path, ...(req.headers.range ? { range: req.headers.range } : {}), ...(req.headers.authorization ? { auth: req.headers.authorization } : {}) });
  if (path === '/redirect') {
    res.writeHead(302, { location: '/file?X-Amz-Signature=secret' });
    return void res.end();
  }
  if (path !== '/file' && path !== '/norange') {
    res.writeHead(404);
    return void res.end('not here');
  }
  if (failNext > 0) {
    failNext--;
    res.writeHead(503);
    return void res.end('busy');
  }
  const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
  if (path === '/norange' || !range) {
    res.writeHead(200, { 'content-length': data.length });
    return void res.end(data);
  }
  if (req.headers['if-match'] && req.headers['if-match'] !== etag) {
    res.writeHead(412);
    return void res.end();
  }
  const start = Number(range[1]);
  const end = Math.min(Number(range[2]), data.length - 1);
  res.writeHead(206, { 'content-range': `bytes ${start}-${end}/${data.length}`, 'content-length': end - start + 1, etag });
  res.end(data.subarray(start, end + 1));
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

describe('HttpSource', () => {
  it('reads ranges from a server with Range support', async () => {
    const src = await HttpSource.open(`${base}/file`);
    expect(src.size).toBe(data.length);
    expect(Buffer.from(await src.read(12_345, 6789)).equals(data.subarray(12_345, 12_345 + 6789))).toBe(true);
    expect(log.at(-1)?.range).toBe('bytes=12345-19133');
    await src.close();
  });

  it('follows redirects and keeps secrets out of its name', async () => {
    const src = await HttpSource.open(`http://user:pw@127.0.0.1:${new URL(base).port}/redirect?token=abc`, { headers: { authorization: 'Bearer xyz' } });
    expect(src.name).not.toContain('pw');
    expect(src.name).not.toContain('abc');
    expect(Buffer.from(await src.read(0, 4)).equals(data.subarray(0, 4))).toBe(true);
    await src.close();
  });

  it('refuses a server that ignores Range, and names a 404', async () => {
    await expect(HttpSource.open(`${base}/norange`)).rejects.toMatchObject({ code: 'UAI_SOURCE_HTTP', message: expect.stringContaining('ignores Range') });
    await expect(HttpSource.open(`${base}/missing`)).rejects.toMatchObject({ code: 'UAI_SOURCE_NOT_FOUND', details: { status: 404 } });
  });

  it('notices a file replaced while it is read (If-Match → 412)', async () => {
    const src = await HttpSource.open(`${base}/file`);
    etag = '"v2"';
    try {
      await expect(src.read(0, 10)).rejects.toMatchObject({ code: 'UAI_SOURCE_HTTP', details: { status: 412 } });
    } finally {
      etag = '"v1"';
      await src.close();
    }
  });

  it('retries 503s under the read-ahead wrapper', async () => {
    const src = new ReadAheadSource(await HttpSource.open(`${base}/file`), { windowSize: 50_000, retryDelayMs: 1 });
    failNext = 2;
    expect(Buffer.from(await src.read(60_000, 100_000)).equals(data.subarray(60_000, 160_000))).toBe(true);
    expect(src.stats.retries).toBe(2);
    await src.close();
  });

  it('--download copies an https source to a local file first', async () => {
    const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'uai-http-dl-'));
    try {
      const r = await resolveSource(`${base}/file`, { download: join(dir, 'copy.bin') });
      expect(r.plan).toMatchObject({ kind: 'https', access: 'download', download: join(dir, 'copy.bin') });
      expect(readFileSync(join(dir, 'copy.bin')).equals(data)).toBe(true);
      expect(Buffer.from(await r.source.read(1000, 10)).equals(data.subarray(1000, 1010))).toBe(true);
      await r.source.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is what resolveSource gives for an http(s) URL, read-ahead wrapped', async () => {
    const r = await resolveSource(`${base}/file`);
    expect(r.plan).toMatchObject({ kind: 'https', access: 'in-place', size: data.length });
    expect(r.source).toBeInstanceOf(ReadAheadSource);
    const before = log.length;
    for (let o = 0; o < 100_000; o += 1000) await r.source.read(o, 1000);
    // 100 reads, one 4 MiB window.
    expect(log.length - before).toBe(1);
    await r.source.close();
  });
});
