/**
 * The CSM options shared by `build`, `ls`, `register` (node:util parseArgs `options`),
 * and their translation into the library's CrayContextOptions.
 */
import { isAbsolute, resolve } from 'node:path';
import type { CrayContextOptions } from '../cray/context.ts';
import { printWarning, type CliIo } from './io.ts';

/** The options that say where a `bos:`/`ims:`/`s3://` SOURCE is read from (tar, ls, inspect, build). */
export const CRAY_SOURCE_OPTIONS = {
  'api-gateway': { type: 'string' },
  token: { type: 'string' },
  'client-id': { type: 'string' },
  'client-secret-file': { type: 'string' },
  tenant: { type: 'string' },
  'ca-file': { type: 'string' },
  's3-endpoint': { type: 'string' },
  download: { type: 'string' },
} as const;

/** The source options plus registration and planning (build, register). */
export const CRAY_OPTIONS = {
  ...CRAY_SOURCE_OPTIONS,
  register: { type: 'boolean' },
  default: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

/** Usage text for CRAY_SOURCE_OPTIONS, for commands' `usage` strings and --help. */
export const CRAY_SOURCE_USAGE = [
  '  --api-gateway URL          CSM API gateway (default: core.hostname of the cray CLI, else https://api-gw-service-nmn.local)',
  '  --token FILE               API token JSON (default: $CRAY_CREDENTIALS, else the cray CLI token of the active configuration)',
  '  --client-id ID             Keycloak client-credentials grant (e.g. admin-client) ...',
  '  --client-secret-file FILE  ... with the secret in FILE',
  '  --tenant NAME              Cray-Tenant-Name (default: core.tenant)',
  '  --ca-file FILE             trust this PEM CA (the platform CA) for the gateway and S3',
  '  --s3-endpoint URL          read S3 here with the AWS environment credentials instead of STS',
  '  --download FILE            copy the rootfs to FILE first (md5-verified) instead of reading S3 in place',
].join('\n');

/** Usage text for CRAY_OPTIONS. */
export const CRAY_OPTIONS_USAGE = CRAY_SOURCE_USAGE;

function str(values: Record<string, unknown>, key: string): string | undefined {
  const v = values[key];
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

export function crayContextOptionsFrom(values: Record<string, unknown>, io: CliIo): CrayContextOptions {
  const path = (p: string | undefined) => (p === undefined ? undefined : isAbsolute(p) ? p : resolve(io.cwd, p));
  const out: CrayContextOptions = { env: io.env, signal: io.signal, onWarning: (w) => printWarning(io, w) };
  const apiGateway = str(values, 'api-gateway');
  const tokenFile = path(str(values, 'token'));
  const clientId = str(values, 'client-id');
  const clientSecretFile = path(str(values, 'client-secret-file'));
  const caFile = path(str(values, 'ca-file'));
  const s3Endpoint = str(values, 's3-endpoint');
  if (apiGateway) out.apiGateway = apiGateway;
  if (tokenFile) out.tokenFile = tokenFile;
  if (clientId) out.clientId = clientId;
  if (clientSecretFile) out.clientSecretFile = clientSecretFile;
  if (typeof values.tenant === 'string') out.tenant = values.tenant;
  if (caFile) out.caFile = caFile;
  if (s3Endpoint) out.s3Endpoint = s3Endpoint;
  return out;
}

/** `--download FILE` as an absolute path, if given. */
export function downloadPathFrom(values: Record<string, unknown>, io: CliIo): string | undefined {
  const p = str(values, 'download');
  return p === undefined ? undefined : isAbsolute(p) ? p : resolve(io.cwd, p);
}

/** What `resolveSource` needs from the CSM_SOURCE options: the gateway context and `--download`. */
export function sourceOptionsFrom(
  values: Record<string, unknown>,
  io: CliIo,
): { cray: CrayContextOptions; download?: string; signal: AbortSignal; env: NodeJS.ProcessEnv } {
  const download = downloadPathFrom(values, io);
  return { cray: crayContextOptionsFrom(values, io), signal: io.signal, env: io.env, ...(download ? { download } : {}) };
}
