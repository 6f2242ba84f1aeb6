'use client';
/**
 * The preferences panel: one switch per channel, and per kind (or kind pattern) one
 * switch per channel. Kinds listed are the user's and the tenant's rules plus the kinds
 * of the notifications on screen; another one (`billing:*`) can be added by name.
 * Nothing is sent until "Save": the gateway takes the whole document at once.
 */
import { useState, type FormEvent } from 'react';
import type { NotificationClient } from '../notification-client.js';
import { effective, usePreferences } from './use-preferences.js';

export interface PreferencesPanelProps {
  client: NotificationClient | null;
  /** Kinds to offer besides those the document names (e.g. those listed). */
  knownKinds: readonly string[];
  /** Channels to offer besides those the document names. */
  channels: readonly string[];
}

const CHANNEL_LABELS: Record<string, string> = { in_app: 'In-app', email: 'Email', webpush: 'Browser push', wecom: 'WeCom' };
const label = (channel: string) => CHANNEL_LABELS[channel] ?? channel;
const KIND_PATTERN = /^[a-z*][a-z0-9_.:*-]{0,63}$/;

export function PreferencesPanel({ client, knownKinds, channels: offered }: PreferencesPanelProps) {
  const { state, setChannel, setKindChannel, addKind, save, reset } = usePreferences(client);
  const [newKind, setNewKind] = useState('');
  const channels = unique([...offered, ...Object.keys(state.channels), ...Object.keys(state.tenantDefaults.channels ?? {})]);
  const kinds = unique([...Object.keys(state.kinds), ...Object.keys(state.tenantDefaults.kinds ?? {}), ...knownKinds]).sort();
  const busy = state.status === 'loading' || state.status === 'saving';

  const submitKind = (event: FormEvent) => {
    event.preventDefault();
    const kind = newKind.trim();
    if (!KIND_PATTERN.test(kind)) return;
    addKind(kind);
    setNewKind('');
  };

  return (
    <div className="nc-prefs" data-testid="preferences-panel" data-status={state.status} aria-busy={busy}>
      <h3>Channels</h3>
      {channels.map((channel) => (
        <label key={channel} className="nc-switch-row">
          <span>{label(channel)}</span>
          <input
            type="checkbox"
            role="switch"
            className="nc-switch"
            data-testid="pref-channel"
            data-channel={channel}
            checked={effective(state, channel)}
            disabled={busy}
            onChange={(e) => setChannel(channel, e.currentTarget.checked)}
          />
        </label>
      ))}
      <h3>By kind</h3>
      {kinds.length === 0 ? <p className="nc-status">No kinds yet: they appear once notifications arrive.</p> : null}
      {kinds.length > 0 ? (
        <table className="nc-kinds">
          <thead>
            <tr>
              <th scope="col">Kind</th>
              {channels.map((channel) => (
                <th key={channel} scope="col">
                  {label(channel)}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {kinds.map((kind) => (
              <tr key={kind} data-testid="pref-kind-row" data-kind={kind}>
                <td>{kind}</td>
                {channels.map((channel) => (
                  <td key={channel}>
                    <input
                      type="checkbox"
                      role="switch"
                      className="nc-switch"
                      data-testid="pref-kind"
                      data-kind={kind}
                      data-channel={channel}
                      aria-label={`${kind}: ${label(channel)}`}
                      checked={effective(state, channel, kind)}
                      disabled={busy}
                      onChange={(e) => setKindChannel(kind, channel, e.currentTarget.checked)}
                    />
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
      <form className="nc-add-kind" onSubmit={submitKind}>
        <input
          value={newKind}
          onChange={(e) => setNewKind(e.currentTarget.value)}
          placeholder="kind or pattern, e.g. billing:*"
          aria-label="Add a kind or kind pattern"
          data-testid="pref-add-kind"
          pattern={KIND_PATTERN.source.slice(1, -1)}
        />
        <button type="submit" className="nc-link" data-testid="pref-add-kind-submit">
          Add
        </button>
      </form>
      <div className="nc-prefs-actions">
        <button type="button" className="nc-primary" data-testid="preferences-save" disabled={busy} onClick={() => void save()}>
          {state.status === 'saving' ? 'Saving…' : 'Save'}
        </button>
        <button type="button" className="nc-link" data-testid="preferences-reset" disabled={busy} onClick={() => void reset()}>
          Reset to defaults
        </button>
        <span className="nc-status" role="status" data-testid="preferences-status" data-kind={state.status === 'error' ? 'error' : 'info'}>
          {statusText(state.status, state.error)}
          {state.details.length > 0 ? (
            <ul>
              {state.details.map((d) => (
                <li key={`${d.path}:${d.message}`}>
                  {d.path}: {d.message}
                </li>
              ))}
            </ul>
          ) : null}
        </span>
      </div>
    </div>
  );
}

function statusText(status: string, error: string | null): string {
  if (status === 'error') return error ?? 'Something went wrong.';
  if (status === 'saved') return 'Saved.';
  if (status === 'dirty') return 'Unsaved changes.';
  if (status === 'loading') return 'Loading…';
  return '';
}

function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}
