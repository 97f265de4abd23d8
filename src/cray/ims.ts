/** IMS image records: `GET /apis/ims/v3/images/{id}` → `{id, name, link: {path, etag, type}, arch}`. */
import { CrayError } from './errors.ts';
import { httpError, type GatewayRequest } from './gateway-http.ts';
import type { CrayContext } from './context.ts';

export interface ImsImage {
  id: string;
  name?: string;
  created?: string;
  /** Where the image's manifest.json is: `{path: 's3://boot-images/<id>/manifest.json', etag, type: 's3'}`. */
  link?: { path: string; etag?: string; type?: string } | null;
  /** `x86_64` or `aarch64`. */
  arch?: string;
  [key: string]: unknown;
}

export async function getImsImage(ctx: CrayContext, id: string, options: { signal?: AbortSignal } = {}): Promise<ImsImage> {
  if (!/^[A-Za-z0-9][-A-Za-z0-9_.]*$/.test(id)) {
    throw new CrayError('UAI_CRAY_CONFIG', `'${id}' is not an IMS image id`, { details: { imageId: id } });
  }
  const req: GatewayRequest = { service: 'IMS', method: 'GET', path: `/apis/ims/v3/images/${encodeURIComponent(id)}`, ...(options.signal ? { signal: options.signal } : {}) };
  const res = await ctx.http.send(req);
  if (res.status === 404) throw httpError('UAI_CRAY_NOT_FOUND', req, res, `no IMS image '${id}'`);
  if (res.status !== 200) throw httpError('UAI_CRAY_HTTP', req, res);
  const image = res.body as ImsImage | undefined;
  if (!image || typeof image !== 'object' || Array.isArray(image)) {
    throw new CrayError('UAI_CRAY_RESPONSE', `IMS: GET ${req.path}: the image record is not a JSON object`, { details: { service: 'IMS', path: req.path } });
  }
  if (!image.link || typeof image.link.path !== 'string' || image.link.path.length === 0) {
    throw new CrayError('UAI_CRAY_RESPONSE', `IMS: image '${id}' has no link.path (no manifest uploaded yet?)`, { details: { service: 'IMS', path: req.path, imageId: id } });
  }
  return image;
}
