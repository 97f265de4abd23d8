/**
 * A CSM context: which API gateway, which tenant, which CA, where tokens come from, and
 * (lazily) an S3 client with refreshing STS credentials. Every CSM client takes one.
 *
 * Gateway: `apiGateway`, else `core.hostname` of the active cray CLI configuration,
 * else `https://api-gw-service-nmn.local`. Token: `tokenFile`, else client credentials
 * (`clientId` + `clientSecretFile`), else `CRAY_CREDENTIALS`, else the cray CLI's token
 * file for that configuration. Tenant: `tenant`, else `core.tenant`. TLS is verified;
 * `caFile` adds a CA (the platform CA) to the system roots.
 */
import { readFile } from 'node:fs/promises';
import { rootCertificates } from 'node:tls';
import { Agent, type Dispatcher } from 'undici';
import type { S3Client } from '@aws-sdk/client-s3';
import type { WarningHandler } from '../errors.ts';
import { createS3Client, type S3Credentials } from '../source/s3.ts';
import { readCrayCliConfig, type CrayCliConfig } from './cray-config.ts';
import { CrayError } from './errors.ts';
import { GatewayHttp } from './gateway-http.ts';
import { StsCredentialsProvider } from './sts.ts';
import { ClientCredentialsTokenSource, FileTokenSource, type TokenSource } from './token-source.ts';

export const DEFAULT_API_GATEWAY = 'https://api-gw-service-nmn.local';

export interface CrayContextOptions {
  /** API gateway URL (`--api-gateway`); `https://` is assumed without a scheme. */
  apiGateway?: string;
  /** A token JSON file (`--token`), as `cray auth login` or Keycloak writes it. */
  tokenFile?: string;
  /** Keycloak client id for the client-credentials grant (`--client-id`, e.g. `admin-client`). */
  clientId?: string;
  /** File holding the client secret (`--client-secret-file`); trailing whitespace is ignored. */
  clientSecretFile?: string;
  /** `Cray-Tenant-Name` to send (`--tenant`); empty means none. */
  tenant?: string;
  /** PEM CA file to trust in addition to the system roots (`--ca-file`), for the gateway and S3. */
  caFile?: string;
  /** Read S3 at this endpoint with the standard AWS environment credentials instead of STS (`--s3-endpoint`). */
  s3Endpoint?: string;
  /** Environment (default `process.env`): CRAY_CREDENTIALS, CRAY_CONFIG_DIR, CRAY_CONFIG, HOME, AWS_*. */
  env?: NodeJS.ProcessEnv;
  /** Keycloak realm (default `shasta`). */
  realm?: string;
  /** Renew API tokens this long before expiry (default 30 s). */
  tokenRefreshMarginMs?: number;
  /** Renew STS credentials this long before their Expiration (default 5 min). */
  s3RefreshMarginMs?: number;
  onWarning?: WarningHandler;
  signal?: AbortSignal;
}

export interface CrayContext {
  readonly gateway: URL;
  readonly tenant: string | undefined;
  /** The HTTP helper the service clients share. */
  readonly http: GatewayHttp;
  /** Where the API token comes from (a path or a client id), or undefined when none was found. */
  readonly tokenSource: string | undefined;
  /** The cray CLI configuration that was read, if any. */
  readonly cliConfig: CrayCliConfig | undefined;
  readonly onWarning: WarningHandler | undefined;
  /** The STS provider (undefined with `s3Endpoint`); `requests` counts STS calls. */
  readonly sts: StsCredentialsProvider | undefined;
  /** An S3 client: STS credentials and EndpointURL, or `s3Endpoint` with the AWS environment. */
  s3Client(options?: { signal?: AbortSignal }): Promise<S3Client>;
  close(): Promise<void>;
}

function gatewayUrl(value: string): URL {
  const text = value.includes('://') ? value : `https://${value}`;
  try {
    const url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
    return url;
  } catch {
    throw new CrayError('UAI_CRAY_CONFIG', `API gateway '${value}' is not an http(s) URL`, { details: { apiGateway: value } });
  }
}

async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (cause) {
    throw new CrayError('UAI_CRAY_CONFIG', `${path}: cannot read the ${what}: ${(cause as Error).message}`, { cause, details: { path } });
  }
}

export async function createCrayContext(options: CrayContextOptions = {}): Promise<CrayContext> {
  options.signal?.throwIfAborted();
  const env = options.env ?? process.env;
  const cliConfig = await readCrayCliConfig(env);
  const gateway = gatewayUrl(options.apiGateway || cliConfig?.hostname || DEFAULT_API_GATEWAY);
  const tenant = (options.tenant ?? cliConfig?.tenant) || undefined;
  const ca = options.caFile ? await readText(options.caFile, 'CA file') : undefined;
  if (ca !== undefined && !ca.includes('-----BEGIN CERTIFICATE-----')) {
    throw new CrayError('UAI_CRAY_CONFIG', `${options.caFile}: no PEM certificate in the CA file`, { details: { path: options.caFile } });
  }
  const dispatcher: Dispatcher | undefined = ca ? new Agent({ connect: { ca: [...rootCertificates, ca] } }) : undefined;
  const http = new GatewayHttp({ base: gateway, ...(dispatcher ? { dispatcher } : {}), ...(tenant ? { tenant } : {}) });
  const tokenOptions = {
    ...(options.tokenRefreshMarginMs !== undefined ? { refreshMarginMs: options.tokenRefreshMarginMs } : {}),
    ...(options.realm ? { realm: options.realm } : {}),
    ...(options.onWarning ? { onWarning: options.onWarning } : {}),
  };

  if (options.tokenFile && (options.clientId || options.clientSecretFile)) {
    throw new CrayError('UAI_CRAY_CONFIG', 'give either --token or --client-id/--client-secret-file, not both');
  }
  let tokens: TokenSource | undefined;
  if (options.tokenFile) tokens = new FileTokenSource(options.tokenFile, http, tokenOptions);
  else if (options.clientId || options.clientSecretFile) {
    if (!options.clientSecretFile) {
      throw new CrayError('UAI_CRAY_CONFIG', `--client-id ${options.clientId} needs --client-secret-file`, { details: { clientId: options.clientId } });
    }
    const secret = (await readText(options.clientSecretFile, 'client secret file')).trim();
    if (!secret) throw new CrayError('UAI_CRAY_CONFIG', `${options.clientSecretFile}: the client secret file is empty`);
    tokens = new ClientCredentialsTokenSource(options.clientId || 'admin-client', secret, http, tokenOptions);
  } else if (env.CRAY_CREDENTIALS) tokens = new FileTokenSource(env.CRAY_CREDENTIALS, http, tokenOptions);
  else if (cliConfig?.tokenPath) {
    const exists = await readFile(cliConfig.tokenPath).then(
      () => true,
      () => false,
    );
    if (exists) tokens = new FileTokenSource(cliConfig.tokenPath, http, tokenOptions);
  }
  http.tokens = tokens;

  const sts = options.s3Endpoint ? undefined : new StsCredentialsProvider(http, options.s3RefreshMarginMs !== undefined ? { refreshMarginMs: options.s3RefreshMarginMs } : {});
  let s3: Promise<S3Client> | undefined;
  const makeS3 = async (signal?: AbortSignal): Promise<S3Client> => {
    if (options.s3Endpoint) {
      const credentials = envCredentials(env);
      return createS3Client({ endpoint: options.s3Endpoint, ...(credentials ? { credentials } : {}), ...(ca ? { ca } : {}) });
    }
    const first = await sts!.get(signal ? { signal } : {});
    // The SDK asks a provider again only when the identity it holds expires within
    // 5 min; an expiration at most 1 min ahead makes it ask ours (which caches) on every
    // request, so our refresh (early, or after an S3 ExpiredToken) takes effect at once.
    const provider = async (): Promise<S3Credentials> => {
      const c = await sts!.get();
      const sdkExpiry = Math.min(c.expiration?.getTime() ?? Number.POSITIVE_INFINITY, Date.now() + 60_000);
      return {
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}),
        expiration: new Date(sdkExpiry),
      };
    };
    return createS3Client({ endpoint: first.endpointUrl, credentials: provider, ...(ca ? { ca } : {}) });
  };
  let closed = false;

  return {
    gateway,
    tenant,
    http,
    tokenSource: tokens?.description,
    cliConfig,
    onWarning: options.onWarning,
    sts,
    s3Client(o = {}) {
      if (closed) throw new CrayError('UAI_CRAY_CONFIG', 'the CSM context is closed');
      s3 ??= makeS3(o.signal);
      s3.catch(() => {
        s3 = undefined;
      });
      return s3;
    },
    async close() {
      if (closed) return;
      closed = true;
      const client = await s3?.catch(() => undefined);
      client?.destroy();
      await dispatcher?.close();
    },
  };
}

/** Static keys from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, if set. */
function envCredentials(env: NodeJS.ProcessEnv): S3Credentials | undefined {
  if (!env.AWS_ACCESS_KEY_ID || !env.AWS_SECRET_ACCESS_KEY) return undefined;
  return {
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
  };
}
