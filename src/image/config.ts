/**
 * The OCI image config (image-spec config.md), the same JSON Docker schema2 uses.
 * Only the fields this tool sets; the bytes are canonical JSON so that one rootfs and
 * one set of options always give one config digest.
 */
import { canonicalJson } from './canonical-json.ts';
import { ImageError } from './errors.ts';

export interface ImageConfigInput {
  /** GOARCH name: amd64, arm64, ppc64le, … */
  architecture: string;
  /** e.g. `v8` for arm64. */
  variant?: string;
  /** Default `linux`. */
  os?: string;
  /** RFC 3339 time (see `created.ts`). */
  created: string;
  entrypoint?: readonly string[];
  cmd?: readonly string[];
  /** `KEY=VALUE` strings. */
  env?: readonly string[];
  workingDir?: string;
  user?: string;
  labels?: Readonly<Record<string, string>>;
  /** `sha256:` of each uncompressed layer tar, base layer first. */
  diffIds: readonly string[];
  /** The one history line: what made the layer. */
  createdBy?: string;
  comment?: string;
}

/** The config document, as JSON values (before encoding). */
export function imageConfigDocument(input: ImageConfigInput): Record<string, unknown> {
  if (input.diffIds.length === 0) {
    throw new ImageError('UAI_IMAGE_INVALID_OPTION', 'image config: rootfs.diff_ids is empty (an image needs a layer)');
  }
  for (const d of input.diffIds) {
    if (!/^sha256:[0-9a-f]{64}$/.test(d)) {
      throw new ImageError('UAI_IMAGE_INVALID_OPTION', `image config: diff_id ${JSON.stringify(d)} is not a sha256 digest`);
    }
  }
  for (const e of input.env ?? []) {
    if (!/^[^=]+=/.test(e)) {
      throw new ImageError('UAI_IMAGE_INVALID_OPTION', `image config: env entry ${JSON.stringify(e)} is not KEY=VALUE`, {
        details: { field: 'config.Env' },
      });
    }
  }
  const config: Record<string, unknown> = {};
  if (input.user !== undefined && input.user !== '') config.User = input.user;
  if (input.env && input.env.length > 0) config.Env = [...input.env];
  if (input.entrypoint !== undefined) config.Entrypoint = [...input.entrypoint];
  if (input.cmd !== undefined) config.Cmd = [...input.cmd];
  if (input.workingDir !== undefined && input.workingDir !== '') config.WorkingDir = input.workingDir;
  if (input.labels && Object.keys(input.labels).length > 0) config.Labels = { ...input.labels };

  const history: Record<string, unknown> = {
    created: input.created,
    created_by: input.createdBy ?? 'uai-assembler build',
  };
  if (input.comment !== undefined) history.comment = input.comment;

  const doc: Record<string, unknown> = {
    architecture: input.architecture,
    os: input.os ?? 'linux',
    created: input.created,
    config,
    rootfs: { type: 'layers', diff_ids: [...input.diffIds] },
    history: input.diffIds.map(() => ({ ...history })),
  };
  if (input.variant !== undefined && input.variant !== '') doc.variant = input.variant;
  return doc;
}

/** The config as canonical JSON bytes (sorted keys, no whitespace). */
export function imageConfigBytes(input: ImageConfigInput): Uint8Array {
  return canonicalJson(imageConfigDocument(input));
}
