/**
 * BOS session templates. v2 first (`GET /apis/bos/v2/sessiontemplates/{name}`); v1
 * (`GET /apis/bos/v1/sessiontemplate/{name}`) only when the v2 API itself is absent,
 * which a 404 on the v2 root (`GET /apis/bos/v2`) tells apart from a 404 for a missing
 * template. v1 rejects a non-empty tenant header (400), so with a tenant we do not fall back.
 */
import { CrayError } from './errors.ts';
import { httpError, type GatewayRequest } from './gateway-http.ts';
import type { CrayContext } from './context.ts';

export interface BootSet {
  /** Manifest location, e.g. `s3://boot-images/<id>/manifest.json`. */
  path: string;
  /** Manifest kind; in practice `s3`. */
  type: string;
  etag?: string;
  arch?: string;
  node_roles_groups?: string[];
  node_groups?: string[];
  node_list?: string[];
  [key: string]: unknown;
}

export interface SessionTemplate {
  name?: string;
  tenant?: string | null;
  boot_sets: Record<string, BootSet>;
  [key: string]: unknown;
}

export interface SessionTemplateResult {
  template: SessionTemplate;
  /** Which BOS API answered. */
  api: 'v2' | 'v1';
  path: string;
}

export async function getSessionTemplate(ctx: CrayContext, name: string, options: { signal?: AbortSignal } = {}): Promise<SessionTemplateResult> {
  if (!/^[a-zA-Z0-9][-._a-zA-Z0-9]{0,126}$/.test(name)) {
    throw new CrayError('UAI_CRAY_CONFIG', `'${name}' is not a valid BOS session template name`, { details: { template: name } });
  }
  const signal = options.signal ? { signal: options.signal } : {};
  const v2: GatewayRequest = { service: 'BOS', method: 'GET', path: `/apis/bos/v2/sessiontemplates/${encodeURIComponent(name)}`, ...signal };
  const res = await ctx.http.send(v2);
  if (res.status === 200) return { template: checkTemplate(res.body, name, v2.path), api: 'v2', path: v2.path };
  if (res.status !== 404) throw httpError('UAI_CRAY_HTTP', v2, res);

  const root: GatewayRequest = { service: 'BOS', method: 'GET', path: '/apis/bos/v2', ...signal };
  const rootRes = await ctx.http.send(root);
  if (rootRes.status === 200) {
    throw httpError('UAI_CRAY_NOT_FOUND', v2, res, `no BOS v2 session template '${name}'${ctx.tenant ? ` for tenant '${ctx.tenant}'` : ''}`);
  }
  if (rootRes.status !== 404) throw httpError('UAI_CRAY_HTTP', root, rootRes);

  // The v2 API is absent: an old BOS (CSM <= 1.2) that only has v1.
  if (ctx.tenant) {
    throw new CrayError('UAI_CRAY_UNSUPPORTED', `BOS: this BOS has no v2 API, and BOS v1 does not support tenants (tenant '${ctx.tenant}')`, {
      details: { service: 'BOS', tenant: ctx.tenant },
    });
  }
  const v1: GatewayRequest = { service: 'BOS', method: 'GET', path: `/apis/bos/v1/sessiontemplate/${encodeURIComponent(name)}`, tenant: false, ...signal };
  const v1Res = await ctx.http.send(v1);
  if (v1Res.status === 200) return { template: checkTemplate(v1Res.body, name, v1.path), api: 'v1', path: v1.path };
  if (v1Res.status === 404) throw httpError('UAI_CRAY_NOT_FOUND', v1, v1Res, `no BOS v1 session template '${name}' (BOS has no v2 API)`);
  throw httpError('UAI_CRAY_HTTP', v1, v1Res);
}

function checkTemplate(body: unknown, name: string, path: string): SessionTemplate {
  const t = body as SessionTemplate | undefined;
  const bad = (why: string) =>
    new CrayError('UAI_CRAY_RESPONSE', `BOS: GET ${path}: session template '${name}' ${why}`, { details: { service: 'BOS', path, template: name } });
  if (!t || typeof t !== 'object' || Array.isArray(t)) throw bad('is not a JSON object');
  if (!t.boot_sets || typeof t.boot_sets !== 'object' || Array.isArray(t.boot_sets)) throw bad('has no boot_sets map');
  for (const [setName, set] of Object.entries(t.boot_sets)) {
    if (!set || typeof set !== 'object') throw bad(`boot set '${setName}' is not an object`);
  }
  return t;
}

/** Describes a boot set for listings: `compute (roles Compute; s3://…/manifest.json)`. */
function describe(name: string, set: BootSet): string {
  const roles = Array.isArray(set.node_roles_groups) && set.node_roles_groups.length > 0 ? `roles ${set.node_roles_groups.join(',')}` : 'no roles';
  return `${name} (${roles}; ${typeof set.path === 'string' ? set.path : 'no path'})`;
}

/**
 * The boot set to use: the one named; else the only one; else the single one whose
 * `node_roles_groups` include `Compute`; else an error that lists them all.
 */
export function selectBootSet(template: SessionTemplate, templateName: string, wanted?: string): { name: string; bootSet: BootSet } {
  const sets = Object.entries(template.boot_sets);
  const list = sets.map(([n, s]) => describe(n, s)).join('; ');
  const details = { template: templateName, bootSets: sets.map(([n]) => n) };
  let chosen: [string, BootSet] | undefined;
  if (wanted !== undefined) {
    chosen = sets.find(([n]) => n === wanted);
    if (!chosen) {
      throw new CrayError('UAI_CRAY_BOOT_SET', `BOS: session template '${templateName}' has no boot set '${wanted}'; it has: ${list || 'none'}`, { details });
    }
  } else if (sets.length === 1) chosen = sets[0];
  else {
    const compute = sets.filter(([, s]) => Array.isArray(s.node_roles_groups) && s.node_roles_groups.includes('Compute'));
    if (compute.length === 1) chosen = compute[0];
    else {
      const why = sets.length === 0 ? 'has no boot sets' : compute.length === 0 ? 'has several boot sets and none is for Compute' : 'has several Compute boot sets';
      throw new CrayError('UAI_CRAY_BOOT_SET', `BOS: session template '${templateName}' ${why}; pick one with bos:${templateName}#BOOTSET: ${list || 'none'}`, { details });
    }
  }
  const [name, bootSet] = chosen!;
  if (typeof bootSet.path !== 'string' || bootSet.path.length === 0) {
    throw new CrayError('UAI_CRAY_BOOT_SET', `BOS: boot set '${name}' of session template '${templateName}' has no path`, { details: { ...details, bootSet: name } });
  }
  if (bootSet.type !== undefined && bootSet.type !== 's3') {
    throw new CrayError('UAI_CRAY_UNSUPPORTED', `BOS: boot set '${name}' of session template '${templateName}' has type '${String(bootSet.type)}'; only 's3' manifests are supported`, {
      details: { ...details, bootSet: name, type: bootSet.type },
    });
  }
  return { name, bootSet };
}

/** BOS's arch enum (X86, ARM, Other, Unknown) as an ELF machine name, when it names one. */
export function normalizeArch(arch: unknown): string | undefined {
  if (typeof arch !== 'string') return undefined;
  const a = arch.toLowerCase();
  if (a === 'x86' || a === 'x86_64' || a === 'amd64') return 'x86_64';
  if (a === 'arm' || a === 'aarch64' || a === 'arm64') return 'aarch64';
  return undefined;
}
