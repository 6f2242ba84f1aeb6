export { until as waitUntil } from '../../support/until.js';

/** Resolves after `ms`; only for pacing a load generator, never to wait for a state. */
export const pace = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
