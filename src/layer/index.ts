export type { Layer } from './layer.ts';
