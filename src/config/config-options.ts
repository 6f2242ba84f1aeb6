/**
 * Configuration given as an object (the package's library API) instead of the
 * environment: the same names, written the same way or as plain values, validated by the
 * same schema (config.ts). Numbers and booleans become their text, lists are joined with
 * commas, `undefined` and `''` mean "default". A name the gateway does not know is an
 * error here, where in the environment it is simply not read: an object holds only what
 * its author meant to set, so an unknown name is a typo.
 */
import { CONFIG_KEYS, ConfigError, parseConfig, type Config } from './config.js';

export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** A setting's value: as in the environment (`'25000'`), or plain (`25000`, `true`, `['a', 'b']`). */
export type ConfigValue = string | number | boolean | readonly string[] | undefined;

/** Any of the environment variables of README "Configuration", by the same name. */
export type ConfigOptions = { readonly [K in ConfigKey]?: ConfigValue };

export function parseConfigOptions(options: ConfigOptions): Config {
  const known = new Set<string>(CONFIG_KEYS);
  const unknown = Object.keys(options).filter((key) => !known.has(key));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown setting${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (the names are the environment variables of README "Configuration")`);
  }
  const env: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(options as Record<string, unknown>)) env[key] = asEnvText(key, value);
  return parseConfig(env);
}

function asEnvText(key: string, value: unknown): string | undefined {
  if (value === undefined || typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((item) => typeof item === 'string')) return value.join(',');
  throw new ConfigError(`invalid configuration:\n  ${key}: must be a string, number, boolean or list of strings`);
}
