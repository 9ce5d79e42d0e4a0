import type { Requirement } from './types.ts';

/**
 * Every requirement, in catalogue order. One module per SPEC area; each ID is defined in exactly one entry of one module.
 */
export const catalogue: readonly Requirement[] = [];
