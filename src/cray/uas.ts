/**
 * UAS admin image registration (`cray uas admin config images ...`):
 *   POST  /apis/uas-mgr/v1/admin/config/images?imagename=REF&default=BOOL   200/201 created, 409 exists
 *   GET   /apis/uas-mgr/v1/admin/config/images                             [{image_id, imagename, default}]
 *   PATCH /apis/uas-mgr/v1/admin/config/images/{image_id}?default=true
 * UAS was removed in CSM 1.6: a 404 on the images collection says so.
 */
import { CrayError } from './errors.ts';
import { httpError, type GatewayRequest } from './gateway-http.ts';
import type { CrayContext } from './context.ts';

export const UAS_IMAGES_PATH = '/apis/uas-mgr/v1/admin/config/images';

export interface UaiImageRecord {
  image_id: string;
  imagename: string;
  default: boolean;
}

export interface RegisterResult {
  /** `created`: newly registered; `exists`: already registered, left alone; `updated`: already registered, now the default. */
  status: 'created' | 'exists' | 'updated';
  imageId?: string;
}

export interface RegisterOptions {
  /** Make it the default UAI image. */
  default?: boolean;
  signal?: AbortSignal;
}

function notInstalled(req: GatewayRequest, res: Parameters<typeof httpError>[2]): CrayError {
  return httpError('UAI_CRAY_UNSUPPORTED', req, res, 'UAS is not installed on this system; it was removed in CSM 1.6');
}

export async function listUaiImages(ctx: CrayContext, options: { signal?: AbortSignal } = {}): Promise<UaiImageRecord[]> {
  const req: GatewayRequest = { service: 'UAS', method: 'GET', path: UAS_IMAGES_PATH, ...(options.signal ? { signal: options.signal } : {}) };
  const res = await ctx.http.send(req);
  if (res.status === 404) throw notInstalled(req, res);
  if (res.status !== 200) throw httpError('UAI_CRAY_HTTP', req, res);
  if (!Array.isArray(res.body)) {
    throw new CrayError('UAI_CRAY_RESPONSE', `UAS: GET ${UAS_IMAGES_PATH}: the answer is not a list`, { details: { service: 'UAS', path: UAS_IMAGES_PATH } });
  }
  return (res.body as unknown[])
    .filter((r): r is Record<string, unknown> => !!r && typeof r === 'object')
    .map((r) => ({ image_id: String(r.image_id ?? ''), imagename: String(r.imagename ?? ''), default: r.default === true }));
}

export async function setUaiImageDefault(ctx: CrayContext, imageId: string, options: { signal?: AbortSignal } = {}): Promise<void> {
  const req: GatewayRequest = {
    service: 'UAS',
    method: 'PATCH',
    path: `${UAS_IMAGES_PATH}/${encodeURIComponent(imageId)}`,
    query: { default: 'true' },
    ...(options.signal ? { signal: options.signal } : {}),
  };
  const res = await ctx.http.send(req);
  if (res.status !== 200 && res.status !== 201 && res.status !== 204) throw httpError('UAI_CRAY_HTTP', req, res);
}

/** Registers an image reference with UAS; an already registered one is success (and made default if asked). */
export async function registerUaiImage(ctx: CrayContext, imageRef: string, options: RegisterOptions = {}): Promise<RegisterResult> {
  if (!imageRef || /\s/.test(imageRef)) {
    throw new CrayError('UAI_CRAY_CONFIG', `'${imageRef}' is not an image reference`, { details: { imageRef } });
  }
  const signal = options.signal ? { signal: options.signal } : {};
  const wantDefault = options.default === true;
  const req: GatewayRequest = {
    service: 'UAS',
    method: 'POST',
    path: UAS_IMAGES_PATH,
    query: { imagename: imageRef, default: String(wantDefault) },
    ...signal,
  };
  const res = await ctx.http.send(req);
  if (res.status === 200 || res.status === 201) {
    const id = (res.body as { image_id?: unknown } | undefined)?.image_id;
    if (res.body === undefined || typeof res.body === 'string' || typeof id !== 'string') {
      // UAS answers a missing imagename with a bare string and 200.
      throw new CrayError('UAI_CRAY_RESPONSE', `UAS: POST ${UAS_IMAGES_PATH} → ${res.status} without an image_id${res.text ? `: ${res.text.slice(0, 200)}` : ''}`, {
        details: { service: 'UAS', path: UAS_IMAGES_PATH, status: res.status },
      });
    }
    return { status: 'created', imageId: id };
  }
  if (res.status === 404) throw notInstalled(req, res);
  if (res.status !== 409) throw httpError('UAI_CRAY_HTTP', req, res, `registering ${imageRef}`);

  // Already registered: find it, and make it the default if asked.
  const existing = (await listUaiImages(ctx, signal)).find((r) => r.imagename === imageRef);
  if (!existing) {
    throw httpError('UAI_CRAY_HTTP', req, res, `UAS says '${imageRef}' exists but does not list it`);
  }
  if (!wantDefault || existing.default) return { status: 'exists', imageId: existing.image_id };
  await setUaiImageDefault(ctx, existing.image_id, signal);
  return { status: 'updated', imageId: existing.image_id };
}
