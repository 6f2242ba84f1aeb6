/**
 * The user's preference document, loaded from `GET /api/preferences`, edited locally and
 * saved whole with `PUT` (the gateway replaces the document; a refusal comes back as
 * `VALIDATION_FAILED` with `details` naming each bad field). `reset` deletes it, so the
 * tenant's defaults apply again.
 *
 * `effective` answers what a switch shows: the same precedence the gateway applies for a
 * kind (an exact kind, then the pattern with the most literal characters, in the user's
 * rules, then the tenant's), then the channel switch (user's, tenant's), else on.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { NotificationClient } from '../notification-client.js';
import { HttpStatusError, type ValidationDetail } from '../rest-api.js';
import type { ChannelSwitches, KindRule, Preferences } from '../types.js';

export type PreferencesStatus = 'loading' | 'ready' | 'dirty' | 'saving' | 'saved' | 'error';

export interface PreferencesState {
  status: PreferencesStatus;
  channels: ChannelSwitches;
  kinds: Record<string, KindRule>;
  tenantDefaults: NonNullable<Preferences['tenantDefaults']>;
  error: string | null;
  details: ValidationDetail[];
}

const START: PreferencesState = { status: 'loading', channels: {}, kinds: {}, tenantDefaults: {}, error: null, details: [] };

export function usePreferences(client: NotificationClient | null) {
  const [state, setState] = useState<PreferencesState>(START);
  const latest = useRef(state);
  latest.current = state;

  const load = useCallback(async () => {
    if (!client) return;
    setState((s) => ({ ...s, status: 'loading', error: null, details: [] }));
    try {
      const prefs = await client.api.getPreferences();
      setState({ status: 'ready', channels: prefs.channels ?? {}, kinds: prefs.kinds ?? {}, tenantDefaults: prefs.tenantDefaults ?? {}, error: null, details: [] });
    } catch (error) {
      setState((s) => ({ ...s, status: 'error', error: describe(error), details: [] }));
    }
  }, [client]);

  useEffect(() => void load(), [load]);

  const setChannel = useCallback((channel: string, on: boolean) => {
    setState((s) => ({ ...s, status: 'dirty', channels: { ...s.channels, [channel]: on } }));
  }, []);

  const setKindChannel = useCallback((kind: string, channel: string, on: boolean) => {
    setState((s) => ({ ...s, status: 'dirty', kinds: { ...s.kinds, [kind]: { ...s.kinds[kind], [channel]: on } } }));
  }, []);

  const addKind = useCallback((kind: string) => {
    setState((s) => (s.kinds[kind] ? s : { ...s, status: 'dirty', kinds: { ...s.kinds, [kind]: {} } }));
  }, []);

  const save = useCallback(async () => {
    if (!client) return;
    const { channels, kinds } = latest.current;
    setState((s) => ({ ...s, status: 'saving', error: null, details: [] }));
    try {
      await client.api.putPreferences({ channels, kinds });
      setState((s) => ({ ...s, status: 'saved' }));
    } catch (error) {
      const details = error instanceof HttpStatusError ? error.details : [];
      setState((s) => ({ ...s, status: 'error', error: describe(error), details }));
    }
  }, [client]);

  const reset = useCallback(async () => {
    if (!client) return;
    try {
      await client.api.resetPreferences();
      await load();
    } catch (error) {
      setState((s) => ({ ...s, status: 'error', error: describe(error), details: [] }));
    }
  }, [client, load]);

  return { state, setChannel, setKindChannel, addKind, save, reset };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The value a switch shows for a channel, or for a channel within a kind. */
export function effective(state: PreferencesState, channel: string, kind?: string): boolean {
  if (kind !== undefined) {
    for (const rules of [state.kinds, state.tenantDefaults.kinds ?? {}]) {
      const value = ruleFor(rules, kind, channel);
      if (value !== undefined) return value;
    }
  }
  return state.channels[channel] ?? state.tenantDefaults.channels?.[channel] ?? true;
}

function ruleFor(rules: Record<string, KindRule>, kind: string, channel: string): boolean | undefined {
  const matching = Object.keys(rules)
    .filter((pattern) => matches(pattern, kind) && typeof rules[pattern]?.[channel] === 'boolean')
    .sort((a, b) => specificity(b, kind) - specificity(a, kind));
  const best = matching[0];
  return best === undefined ? undefined : (rules[best]![channel] as boolean);
}

/** An exact kind beats every pattern; among patterns, more literal characters win. */
function specificity(pattern: string, kind: string): number {
  return pattern === kind ? Number.MAX_SAFE_INTEGER : pattern.replaceAll('*', '').length;
}

function matches(pattern: string, kind: string): boolean {
  const escaped = pattern.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'));
  return new RegExp(`^${escaped.join('.*')}$`).test(kind);
}
