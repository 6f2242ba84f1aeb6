/**
 * Polls a condition that announces itself with no event (lease state, /readyz during an
 * outage). A check that throws counts as "not yet". Resolves with the time it took.
 */
export async function until(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<number> {
  const started = Date.now();
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return Date.now() - started;
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
