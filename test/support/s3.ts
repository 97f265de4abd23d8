/**
 * A real S3 server for tests: s3rver (npm), run as a child process on 127.0.0.1 on a
 * port the OS picks, with its data in a temporary directory. It checks SigV4
 * signatures for the key pair S3RVER / S3RVER.
 *
 *   const s3 = await startS3rver(['boot-images']);          // or { tls: { key, cert } } for https
 *   await s3.put('boot-images', 'id/rootfs', bytes);
 *   ...; await s3.stop();
 */
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent as HttpsAgent } from 'node:https';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawnTied } from './registry.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const S3RVER_KEY = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

export interface S3rver {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** A client with the accepted keys, path-style. */
  client: S3Client;
  /** The s3rver process. */
  pid: number;
  put(bucket: string, key: string, body: Uint8Array | string, metadata?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

const CHILD = `
const S3rver = require('s3rver');
const fs = require('fs');
const buckets = JSON.parse(process.argv[2]);
const tls = process.argv[3] ? JSON.parse(process.argv[3]) : undefined;
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: process.argv[1], silent: true,
  ...(tls ? { key: fs.readFileSync(tls.key), cert: fs.readFileSync(tls.cert) } : {}),
  configureBuckets: buckets.map((name) => ({ name })) });
server.run().then((addr) => process.stdout.write(JSON.stringify(addr) + '\\n'), (err) => { console.error(err); process.exit(1); });
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
`;

export interface S3rverOptions {
  /** Serve HTTPS with this key and certificate (PEM file paths); the helper's client trusts `cert`. */
  tls?: { key: string; cert: string };
}

export async function startS3rver(buckets: string[], options: S3rverOptions = {}): Promise<S3rver> {
  const dir = await mkdtemp(join(tmpdir(), 'uai-s3rver-'));
  const args = ['-e', CHILD, dir, JSON.stringify(buckets), ...(options.tls ? [JSON.stringify(options.tls)] : [])];
  // Tied to this process: s3rver must not outlive a killed test worker.
  const child: ChildProcess = spawnTied(process.execPath, args, {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolvePort, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolvePort((JSON.parse(line) as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${stderr}`)));
  });
  const endpoint = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const client = new S3Client({
    ...(options.tls ? { requestHandler: { httpsAgent: new HttpsAgent({ ca: readFileSync(options.tls.cert) }) } } : {}),
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: S3RVER_KEY, secretAccessKey: S3RVER_SECRET },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  return {
    endpoint,
    client,
    pid: child.pid!,
    async put(bucket, key, body, metadata) {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...(metadata ? { Metadata: metadata } : {}) }));
    },
    async stop() {
      client.destroy();
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An S3 "credential gate" in front of s3rver (which checks neither signatures nor
 * expiry): it reads the access key from each SigV4 Authorization header, answers
 * 403 ExpiredToken for keys that are revoked or past `expiryOf(key)`, and forwards the
 * rest to s3rver with the key rewritten to the one s3rver knows. So STS can hand out
 * many short-lived keys and the test sees which were used after they expired.
 */
export interface S3Gate {
  endpoint: string;
  readonly revoked: Set<string>;
  /** Requests refused as expired, by key. */
  readonly refused: string[];
  /** Requests forwarded, by key. */
  readonly forwarded: string[];
  /** ETag to report instead of s3rver's, by request path (`/bucket/key`): multipart-style or wrong ones. */
  readonly etags: Map<string, string>;
  stop(): Promise<void>;
}

export async function startS3Gate(target: string, expiryOf: (key: string) => number | undefined): Promise<S3Gate> {
  const { createServer, request } = await import('node:http');
  const upstream = new URL(target);
  const revoked = new Set<string>();
  const refused: string[] = [];
  const forwarded: string[] = [];
  const etags = new Map<string, string>();
  const server = createServer((req, res) => {
    const auth = req.headers.authorization ?? '';
    const key = /Credential=([^/]+)\//.exec(auth)?.[1] ?? '';
    const exp = expiryOf(key);
    if (revoked.has(key) || (exp !== undefined && exp <= Date.now())) {
      refused.push(key);
      const body = '<?xml version="1.0" encoding="UTF-8"?><Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>';
      req.resume();
      res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      return void res.end(body);
    }
    forwarded.push(key);
    const headers = { ...req.headers, authorization: auth.replace(/Credential=[^/]+\//, `Credential=${S3RVER_KEY}/`) };
    const etag = etags.get(new URL(req.url ?? '/', 'http://x').pathname);
    const out = request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, etag ? { ...up.headers, etag: `"${etag}"` } : up.headers);
      up.pipe(res);
    });
    out.on('error', () => {
      res.destroy();
    });
    req.pipe(out);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    revoked,
    refused,
    forwarded,
    etags,
    async stop() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
