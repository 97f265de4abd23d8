/**
 * The cray CLI's own configuration, read the way craycli reads it, so that a machine
 * where `cray init` / `cray auth login` ran needs no options at all:
 *
 *   ${CRAY_CONFIG_DIR:-$HOME}/.config/cray/active_config          name of the active configuration
 *   ${CRAY_CONFIG_DIR:-$HOME}/.config/cray/configurations/<name>  TOML: [core] hostname, tenant; [auth.login] username
 *   ${CRAY_CONFIG_DIR:-$HOME}/.config/cray/tokens/<host>.<user>   the OAuth2 token JSON
 *
 * `CRAY_CONFIG` names the configuration instead of active_config.
 */
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CrayError } from './errors.ts';

export interface CrayCliConfig {
  /** The configuration's name (`default` unless active_config or CRAY_CONFIG say otherwise). */
  name: string;
  /** Its file, for messages. */
  path: string;
  /** `[core] hostname`, e.g. `https://api-gw-service-nmn.local`. */
  hostname?: string;
  /** `[core] tenant`; empty means no tenant. */
  tenant?: string;
  /** `[auth.login] username`. */
  username?: string;
  /** Where craycli keeps this user's token for this host, when hostname and username are known. */
  tokenPath?: string;
}

/** `${CRAY_CONFIG_DIR:-$HOME}/.config/cray`. */
export function crayConfigDir(env: NodeJS.ProcessEnv): string {
  return join(env.CRAY_CONFIG_DIR || env.HOME || homedir(), '.config', 'cray');
}

/** The token file name craycli uses: netloc and username with `-`/`.` turned into `_`. */
export function tokenFileName(hostname: string, username: string): string {
  // As craycli's hostname_to_name: urlsplit's netloc (or the path when there is no scheme), verbatim.
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(hostname);
  const netloc = m ? m[1]! : hostname.split(/[/?#]/)[0]!;
  return `${netloc.replace(/[-.]/g, '_')}.${username.replace(/\./g, '_')}`;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CrayError('UAI_CRAY_CONFIG', `${path}: cannot read: ${(err as Error).message}`, { cause: err, details: { path } });
  }
}

/** Reads the active cray CLI configuration; undefined when there is none. */
export async function readCrayCliConfig(env: NodeJS.ProcessEnv): Promise<CrayCliConfig | undefined> {
  const dir = crayConfigDir(env);
  const active = (await readOptional(join(dir, 'active_config')))?.trim();
  const name = env.CRAY_CONFIG || active || 'default';
  if (name.includes('/') || name.startsWith('.')) {
    throw new CrayError('UAI_CRAY_CONFIG', `cray CLI configuration name '${name}' is not a plain name`, { details: { name } });
  }
  const path = join(dir, 'configurations', name);
  const text = await readOptional(path);
  if (text === undefined) return undefined;
  const toml = parseSimpleToml(text, path);
  const str = (section: string, key: string): string | undefined => {
    const v = toml[section]?.[key];
    return typeof v === 'string' ? v : undefined;
  };
  const config: CrayCliConfig = { name, path };
  const hostname = str('core', 'hostname');
  const tenant = str('core', 'tenant');
  const username = str('auth.login', 'username');
  if (hostname) config.hostname = hostname;
  if (tenant) config.tenant = tenant;
  if (username) config.username = username;
  if (hostname && username) config.tokenPath = join(dir, 'tokens', tokenFileName(hostname, username));
  return config;
}

type TomlValue = string | number | boolean;

/**
 * The small part of TOML that cray CLI configurations use: `[section]` headers and
 * `key = value` lines with quoted strings, booleans and numbers. Anything else is ignored.
 */
export function parseSimpleToml(text: string, path = '<toml>'): Record<string, Record<string, TomlValue>> {
  const out: Record<string, Record<string, TomlValue>> = {};
  let section = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const header = /^\[\s*([A-Za-z0-9_.\-"]+)\s*\]$/.exec(line);
    if (header) {
      section = header[1]!.replace(/"/g, '');
      continue;
    }
    const kv = /^([A-Za-z0-9_\-]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const raw = kv[2]!.trim();
    let value: TomlValue | undefined;
    const dq = /^"((?:[^"\\]|\\.)*)"\s*(?:#.*)?$/.exec(raw);
    const sq = /^'([^']*)'\s*(?:#.*)?$/.exec(raw);
    if (dq) {
      try {
        value = JSON.parse(`"${dq[1]!}"`) as string;
      } catch {
        throw new CrayError('UAI_CRAY_CONFIG', `${path}:${i + 1}: bad string for '${kv[1]!}'`, { details: { path, line: i + 1 } });
      }
    } else if (sq) value = sq[1]!;
    else if (/^(true|false)\b/.test(raw)) value = raw.startsWith('true');
    else if (/^[-+]?\d+(\.\d+)?\b/.test(raw)) value = Number.parseFloat(raw);
    if (value === undefined) continue;
    (out[section] ??= {})[kv[1]!] = value;
  }
  return out;
}
