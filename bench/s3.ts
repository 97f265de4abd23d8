/**
 * An S3 endpoint for the "build from S3 vs from a local file" comparison: s3rver on
 * 127.0.0.1 (a port the OS picks), its store kept under bench/work/<scale>/s3rver so the
 * benchmark image is uploaded once and reused.
 */
import { createReadStream, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { createRequire } from 'node:module';

interface S3rverServer {
  run(): Promise<{ port: number }>;
  close(): Promise<void>;
}
// s3rver ships no types; this is the part of its API the harness uses.
const S3rver = createRequire(import.meta.url)('s3rver') as new (options: object) => S3rverServer;

export interface BenchS3 {
  /** `http://127.0.0.1:PORT`, for `--s3-endpoint`. */
  endpoint: string;
  /** Credentials s3rver accepts, as the environment the CLI reads. */
  env: Record<string, string>;
  kind: string;
  stop(): Promise<void>;
}

export const BUCKET = 'uai-bench';
const CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export async function startBenchS3(dir: string): Promise<BenchS3> {
  mkdirSync(dir, { recursive: true });
  const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
  const address = await server.run();
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    env: {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    },
    kind: 's3rver (bench/s3.ts, in the harness process)',
    stop: () => server.close(),
  };
}

/** Puts `path` at s3://BUCKET/key unless an object of the same size is already there. */
export async function uploadOnce(s3: BenchS3, key: string, path: string, log: (l: string) => void = () => {}): Promise<string> {
  // WHEN_REQUIRED: no aws-chunked body with a trailing checksum, which s3rver would store verbatim.
  const client = new S3Client({
    endpoint: s3.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  const size = statSync(path).size;
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));
    if (head.ContentLength === size) return `s3://${BUCKET}/${key}`;
  } catch {
    // not there yet
  }
  log(`uploading ${path} to s3://${BUCKET}/${key}`);
  await client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(path), ContentLength: size }));
  client.destroy();
  return `s3://${BUCKET}/${key}`;
}

export function s3Dir(workDir: string, scale: string): string {
  return join(workDir, scale, 's3rver');
}
