/**
 * The bench's one clock: CLOCK_MONOTONIC in milliseconds (with a fraction), read through
 * process.hrtime. It is system-wide on Linux, so a send time taken in the main thread and a
 * receive time taken in a worker thread are directly comparable, and NTP steps cannot skew it.
 */
export const now = () => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
