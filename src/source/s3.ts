/**
 * A ByteSource over one S3 object, read in place with ranged GETs (no download). The
 * S3 client is built here from an endpoint and a credentials provider (static keys, the
 * standard AWS environment, or CSM's STS via src/cray): path-style addressing (Ceph RGW
 * has no per-bucket DNS), TLS as configured, and checksums only when required (RGW
 * does not know the newer SDK checksum headers).
 *
 * The AWS SDK is loaded on first use (`createS3Client`), not when this module is: it costs
 * ~35 MB of RSS and ~0.1 s, and every command that imports the CSM context (e.g. `build`
 * of a local file) would pay for it otherwise.
 */
import { createRequire } from 'node:module';
import { Agent as HttpsAgent } from 'node:https';
import { rootCertificates } from 'node:tls';
import type { S3Client } from '@aws-sdk/client-s3';
import type { ByteSource, ReadOptions } from './byte-source.ts';
import { checkRange } from './check-range.ts';
import { SourceError, type SourceErrorCode } from './errors.ts';
import { throwIfAborted } from '../errors.ts';

/** AWS-style credentials; `expiration` makes the SDK ask the provider again before then. */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export interface S3ClientOptions {
  /** e.g. `https://rgw-vip.nmn` or STS's `EndpointURL`, used verbatim. */
  endpoint: string;
  /** Keys, or a provider called again before `expiration`; default: the standard AWS environment. */
  credentials?: S3Credentials | (() => Promise<S3Credentials>);
  /** Extra trusted CA certificates (PEM) for an https endpoint; the system roots stay trusted. */
  ca?: string | Buffer;
  /** Default `us-east-1` (RGW ignores it, the SDK needs one). */
  region?: string;
  /** Parallel sockets to the endpoint (default 16). */
  maxSockets?: number;
}

type AwsSdk = typeof import('@aws-sdk/client-s3');
let sdk: AwsSdk | undefined;

/** The AWS SDK's S3 module, required on first use (its CommonJS build is what `import` gives too). */
function awsSdk(): AwsSdk {
  sdk ??= createRequire(import.meta.url)('@aws-sdk/client-s3') as AwsSdk;
  return sdk;
}

/** An S3 client for RGW-like endpoints: path-style, checksums only when required. */
export function createS3Client(options: S3ClientOptions): S3Client {
  const httpsAgent = new HttpsAgent({
    keepAlive: true,
    maxSockets: options.maxSockets ?? 16,
    ...(options.ca ? { ca: [...rootCertificates, options.ca.toString()] } : {}),
  });
  return new (awsSdk().S3Client)({
    endpoint: options.endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    requestHandler: { httpsAgent },
    ...(options.credentials ? { credentials: options.credentials } : {}),
  });
}

/** `s3://bucket/key` → its parts; undefined if it is not such a URL. */
export function parseS3Url(url: string): { bucket: string; key: string } | undefined {
  const m = /^s3:\/\/([^/]+)\/(.+)$/.exec(url);
  return m ? { bucket: m[1]!, key: m[2]! } : undefined;
}

interface SdkError {
  name?: string;
  message?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

/** Maps an SDK failure to a SourceError naming the object, the status and S3's error code. */
export function s3Error(err: unknown, name: string, action: string, extra: Record<string, unknown> = {}): SourceError {
  const e = err as SdkError;
  const status = e.$metadata?.httpStatusCode;
  // A HEAD answer has no body, so the SDK knows no S3 code: name the status instead.
  const named = e.Code ?? e.name;
  const s3Code = named && named !== 'Unknown' ? named : status === 403 ? 'Forbidden' : status === 404 ? 'NotFound' : named;
  let code: SourceErrorCode = 'UAI_SOURCE_HTTP';
  if (status === 404 || s3Code === 'NoSuchKey' || s3Code === 'NoSuchBucket' || s3Code === 'NotFound') code = 'UAI_SOURCE_NOT_FOUND';
  else if (status === 403 || status === 401) code = 'UAI_SOURCE_DENIED';
  const tls = status === undefined && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|certificate/i.test(`${(err as { code?: string }).code ?? ''} ${e.message ?? ''}`);
  const transient = status === undefined ? !(err instanceof SourceError) && !tls : status >= 500 || status === 429;
  const what =
    status !== undefined ? `S3 ${status}${s3Code ? ` ${s3Code}` : ''}` : `${e.message ?? String(err)}${tls ? ' (is the endpoint\'s CA trusted? give it with --ca-file)' : ''}`;
  return new SourceError(code, `${name}: ${action}: ${what}`, {
    cause: err,
    details: { source: name, ...(status !== undefined ? { status } : {}), ...(s3Code ? { s3Code } : {}), transient, ...extra },
  });
}

/**
 * Copies a ranged GET's body into `target` as the socket's chunks arrive (the SDK's
 * `transformToByteArray` keeps every chunk and then copies them into a second buffer:
 * twice the memory per request in flight, twice the bytes for the GC). Returns the body's
 * length; reading stops at the first chunk that would overflow `target`.
 */
async function readBodyInto(body: { transformToByteArray(): Promise<Uint8Array> }, target: Uint8Array): Promise<number> {
  if (!(Symbol.asyncIterator in body)) {
    const bytes = await body.transformToByteArray();
    if (bytes.length === target.length) target.set(bytes);
    return bytes.length;
  }
  let got = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    if (got + chunk.length > target.length) return got + chunk.length;
    target.set(chunk, got);
    got += chunk.length;
  }
  return got;
}

export interface S3SourceOptions {
  signal?: AbortSignal;
  /** Destroy the client on close (default false: the caller owns it). */
  ownsClient?: boolean;
}

/** A ByteSource over `s3://bucket/key`: HEAD for size and ETag, then `Range` GETs with If-Match. */
export class S3Source implements ByteSource {
  readonly size: number;
  readonly name: string;
  readonly bucket: string;
  readonly key: string;
  /** The object's ETag (quotes stripped) when the source was opened. */
  readonly etag: string | undefined;
  #client: S3Client | undefined;
  readonly #owns: boolean;

  private constructor(client: S3Client, bucket: string, key: string, size: number, etag: string | undefined, owns: boolean) {
    this.#client = client;
    this.bucket = bucket;
    this.key = key;
    this.size = size;
    this.etag = etag;
    this.#owns = owns;
    this.name = `s3://${bucket}/${key}`;
  }

  static async open(client: S3Client, bucket: string, key: string, options: S3SourceOptions = {}): Promise<S3Source> {
    throwIfAborted(options.signal);
    const name = `s3://${bucket}/${key}`;
    let head;
    try {
      head = await client.send(new (awsSdk().HeadObjectCommand)({ Bucket: bucket, Key: key }), options.signal ? { abortSignal: options.signal } : {});
    } catch (err) {
      throwIfAborted(options.signal);
      throw s3Error(err, name, 'HEAD');
    }
    const size = head.ContentLength;
    if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new SourceError('UAI_SOURCE_HTTP', `${name}: HEAD gave no Content-Length`, { details: { source: name } });
    }
    const etag = head.ETag?.replace(/^"|"$/g, '');
    return new S3Source(client, bucket, key, size, etag, options.ownsClient ?? false);
  }

  async read(offset: number, length: number, options?: ReadOptions): Promise<Uint8Array> {
    throwIfAborted(options?.signal);
    checkRange(this, offset, length);
    const bytes = Buffer.allocUnsafeSlow(length);
    await this.readInto(offset, bytes, options);
    return bytes;
  }

  /** The ranged GET straight into the caller's buffer (a read-ahead cache recycles its windows this way). */
  async readInto(offset: number, target: Uint8Array, options?: ReadOptions): Promise<void> {
    throwIfAborted(options?.signal);
    const client = this.#client;
    if (!client) throw new SourceError('UAI_SOURCE_CLOSED', `${this.name}: read after close`);
    const length = target.length;
    checkRange(this, offset, length);
    if (length === 0) return;
    const range = `bytes=${offset}-${offset + length - 1}`;
    let got: number;
    try {
      const res = await client.send(
        new (awsSdk().GetObjectCommand)({ Bucket: this.bucket, Key: this.key, Range: range, ...(this.etag ? { IfMatch: `"${this.etag}"` } : {}) }),
        options?.signal ? { abortSignal: options.signal } : {},
      );
      if (!res.Body) throw new SourceError('UAI_SOURCE_HTTP', `${this.name}: GET ${range}: no body`, { details: { source: this.name, offset, length } });
      got = await readBodyInto(res.Body, target);
    } catch (err) {
      throwIfAborted(options?.signal);
      if (err instanceof SourceError) throw err;
      const status = (err as SdkError).$metadata?.httpStatusCode;
      if (status === 412) {
        throw new SourceError('UAI_SOURCE_HTTP', `${this.name}: the object changed since it was opened (ETag ${this.etag} no longer matches)`, {
          cause: err,
          details: { source: this.name, status, offset, length },
        });
      }
      throw s3Error(err, this.name, `GET ${range}`, { offset, length });
    }
    if (got !== length) {
      throw new SourceError('UAI_SOURCE_SHORT_READ', `${this.name}: GET ${range} returned ${got} bytes, not ${length}`, {
        details: { source: this.name, offset, length, got, transient: true },
      });
    }
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    if (client && this.#owns) client.destroy();
  }
}

/** Reads a whole small object (e.g. manifest.json), refusing anything above `maxBytes`. */
export async function getS3Object(
  client: S3Client,
  bucket: string,
  key: string,
  options: { maxBytes: number; signal?: AbortSignal },
): Promise<{ bytes: Uint8Array; etag?: string }> {
  const name = `s3://${bucket}/${key}`;
  throwIfAborted(options.signal);
  try {
    const res = await client.send(new (awsSdk().GetObjectCommand)({ Bucket: bucket, Key: key }), options.signal ? { abortSignal: options.signal } : {});
    if (res.ContentLength !== undefined && res.ContentLength > options.maxBytes) {
      await res.Body?.transformToWebStream().cancel();
      throw new SourceError('UAI_SOURCE_RANGE', `${name}: ${res.ContentLength} bytes is more than the ${options.maxBytes} allowed`, {
        details: { source: name, size: res.ContentLength, max: options.maxBytes },
      });
    }
    const bytes = (await res.Body?.transformToByteArray()) ?? new Uint8Array(0);
    const etag = res.ETag?.replace(/^"|"$/g, '');
    return etag ? { bytes, etag } : { bytes };
  } catch (err) {
    throwIfAborted(options.signal);
    if (err instanceof SourceError) throw err;
    throw s3Error(err, name, 'GET');
  }
}
