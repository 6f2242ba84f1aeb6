/**
 * Settings given as an object (createNotifyGateway, attachNotifyGateway). Unlike the
 * `notify-gateway` command, nothing is generated: development credentials only exist for
 * the command, so the user-token key and the API keys must be given.
 */
import { ConfigError, type Config } from './config/config.js';
import { parseConfigOptions, type ConfigOptions } from './config/config-options.js';

export function embeddedConfig(options: ConfigOptions): Config {
  const config = parseConfigOptions(options);
  if (!config.JWT_SECRET && !config.JWT_PUBLIC_KEY) {
    throw new ConfigError('an embedded gateway needs JWT_SECRET or JWT_PUBLIC_KEY to verify user tokens');
  }
  if (config.NOTIFY_API_KEYS.length === 0) {
    throw new ConfigError('an embedded gateway needs NOTIFY_API_KEYS (a list of "key" or "key:tenant")');
  }
  return config;
}
