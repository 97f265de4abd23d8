/**
 * Checks repository names, tags and digests before they go into a URL (the
 * distribution spec's grammar), so a bad name fails here with a clear message
 * instead of as a registry 404 page.
 */
import { RegistryError } from './errors.ts';

const NAME = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;

export function checkRepo(repo: string): void {
  if (!NAME.test(repo) || repo.length > 255) {
    throw new RegistryError('UAI_REGISTRY_NAME_INVALID', `invalid repository name ${JSON.stringify(repo)} (lower-case letters, digits, separators . _ __ - and /)`, {
      details: { repo },
    });
  }
}

export function isDigest(reference: string): boolean {
  return DIGEST.test(reference);
}

export function checkDigest(digest: string): void {
  if (!SHA256.test(digest)) {
    throw new RegistryError('UAI_REGISTRY_DIGEST_INVALID', `invalid digest ${JSON.stringify(digest)} (expected sha256:<64 hex>)`, {
      details: { digest },
    });
  }
}

/** A tag or a digest. */
export function checkReference(reference: string): void {
  if (isDigest(reference)) {
    checkDigest(reference);
    return;
  }
  if (!TAG.test(reference)) {
    throw new RegistryError('UAI_REGISTRY_TAG_INVALID', `invalid tag ${JSON.stringify(reference)} (letters, digits, . _ -, at most 128)`, {
      details: { reference },
    });
  }
}
