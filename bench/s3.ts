/**
 * An S3 endpoint for the "build from S3 vs from a local file" comparison: s3rver from
 * test/support/s3.ts (a child process on 127.0.0.1, a port the OS picks, SigV4 checked
 * for S3RVER/S3RVER), with the benchmark images uploaded once per run.
 */
import { createReadStream, statSync } from 'node:fs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { S3RVER_KEY, S3RVER_SECRET, startS3rver, type S3rver } from '../test/support/s3.ts';

export interface BenchS3 {
  /** `http://127.0.0.1:PORT`, for `--s3-endpoint`. */
  endpoint: string;
  /** Credentials s3rver accepts, as the environment the CLI reads. */
  env: Record<string, string>;
  kind: string;
  server: S3rver;
  stop(): Promise<void>;
}

export const BUCKET = 'uai-bench';

export async function startBenchS3(): Promise<BenchS3> {
  const server = await startS3rver([BUCKET]);
  return {
    endpoint: server.endpoint,
    env: { AWS_ACCESS_KEY_ID: S3RVER_KEY, AWS_SECRET_ACCESS_KEY: S3RVER_SECRET, AWS_REGION: 'us-east-1' },
    kind: 's3rver child process (startS3rver() from test/support/s3.ts)',
    server,
    stop: () => server.stop(),
  };
}

/** Streams `path` to s3://BUCKET/key (the SDK client is set up without aws-chunked trailers). */
export async function upload(s3: BenchS3, key: string, path: string, log: (l: string) => void = () => {}): Promise<string> {
  const size = statSync(path).size;
  log(`uploading ${path} (${(size / 2 ** 20).toFixed(1)} MiB) to s3://${BUCKET}/${key}`);
  await s3.server.client.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: createReadStream(path), ContentLength: size }));
  return `s3://${BUCKET}/${key}`;
}
