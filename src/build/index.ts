export { resolveSource, type ResolvedSource, type ResolveSourceOptions } from './resolve-source.ts';
