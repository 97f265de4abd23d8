/**
 * A real S3 server for tests: s3rver (npm), run as a child process on 127.0.0.1 on a
 * port the OS picks, with its data in a temporary directory. It checks SigV4
 * signatures for the key pair S3RVER / S3RVER.
 *
 *   const s3 = await startS3rver(['boot-images']);
 *   await s3.put('boot-images', 'id/rootfs', bytes);
 *   ...; await s3.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

export const S3RVER_KEY = 'S3RVER';
export const S3RVER_SECRET = 'S3RVER';

export interface S3rver {
  /** `http://127.0.0.1:PORT`. */
  endpoint: string;
  /** A client with the accepted keys, path-style. */
  client: S3Client;
  put(bucket: string, key: string, body: Uint8Array | string, metadata?: Record<string, string>): Promise<void>;
  stop(): Promise<void>;
}

const CHILD = `
const S3rver = require('s3rver');
const buckets = JSON.parse(process.argv[2]);
const server = new S3rver({ address: '127.0.0.1', port: 0, directory: process.argv[1], silent: true,
  configureBuckets: buckets.map((name) => ({ name })) });
server.run().then((addr) => process.stdout.write(JSON.stringify(addr) + '\\n'), (err) => { console.error(err); process.exit(1); });
process.on('SIGTERM', () => server.close().finally(() => process.exit(0)));
`;

export async function startS3rver(buckets: string[]): Promise<S3rver> {
  const dir = await mkdtemp(join(tmpdir(), 'uai-s3rver-'));
  const child: ChildProcess = spawn(process.execPath, ['-e', CHILD, dir, JSON.stringify(buckets)], {
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
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new S3Client({
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
