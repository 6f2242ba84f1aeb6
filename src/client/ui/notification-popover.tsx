'use client';
/**
 * The popover under the bell: a header (mark all read, preferences), the tabs
 * (Unread / All / Archived, arrow keys move between them), one tab's list, and a footer
 * with the desktop-notification opt-in. Focus lands on the selected tab when it opens.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from 'react';
import type { CenterItem, CenterStatus } from '../notification-center.js';
import type { UseNotificationsResult } from '../use-notifications.js';
import type { DesktopPermission } from './desktop-notifications.js';
import { BackIcon, GearIcon } from './icons.js';
import { NotificationList } from './notification-list.js';
import { PreferencesPanel } from './preferences-panel.js';

export interface NotificationPopoverProps {
  center: UseNotificationsResult;
  tabs: readonly CenterStatus[];
  preferences: boolean;
  preferenceChannels: readonly string[];
  desktop: { permission: DesktopPermission; request(): void } | null;
  onOpenNotification?: (item: CenterItem) => void;
}

const TAB_LABELS: Record<CenterStatus, string> = { unread: 'Unread', all: 'All', archived: 'Archived' };

export function NotificationPopover({ center, tabs, preferences, preferenceChannels, desktop, onOpenNotification }: NotificationPopoverProps) {
  const ids = useId();
  const [view, setView] = useState<'list' | 'preferences'>('list');
  const tabRefs = useRef(new Map<CenterStatus, HTMLButtonElement>());
  const heading = `${ids}-heading`;
  const panel = `${ids}-panel`;
  const tabId = (status: CenterStatus) => `${ids}-tab-${status}`;
  const current = tabs.includes(center.status) ? center.status : tabs[0]!;

  // Once, when the popover opens; later tab changes move focus themselves.
  const openedOn = useRef(current);
  useEffect(() => tabRefs.current.get(openedOn.current)?.focus(), []);

  const selectTab = (status: CenterStatus, focus = false) => {
    center.setStatus(status);
    if (focus) tabRefs.current.get(status)?.focus();
  };

  const onTabKey = (event: KeyboardEvent) => {
    const step = event.key === 'ArrowRight' ? 1 : event.key === 'ArrowLeft' ? -1 : 0;
    if (event.key === 'Home' || event.key === 'End') {
      event.preventDefault();
      selectTab(event.key === 'Home' ? tabs[0]! : tabs[tabs.length - 1]!, true);
    } else if (step !== 0) {
      event.preventDefault();
      selectTab(tabs[(tabs.indexOf(current) + step + tabs.length) % tabs.length]!, true);
    }
  };

  const kinds = [...new Set(center.notifications.map((n) => n.kind))];

  return (
    <div className="nc-popover" role="dialog" aria-labelledby={heading} data-testid="notify-popover">
      <div className="nc-head">
        {view === 'preferences' ? (
          <button type="button" className="nc-icon-button" aria-label="Back to notifications" data-testid="preferences-back" onClick={() => setView('list')}>
            <BackIcon />
          </button>
        ) : null}
        <h2 id={heading}>{view === 'preferences' ? 'Preferences' : 'Notifications'}</h2>
        {view === 'list' ? (
          <button type="button" className="nc-link" data-testid="mark-all-read" disabled={center.unreadCount === 0} onClick={() => void center.markAllRead()}>
            Mark all read
          </button>
        ) : null}
        {preferences ? (
          <button
            type="button"
            className="nc-icon-button"
            aria-label="Notification preferences"
            aria-pressed={view === 'preferences'}
            data-testid="preferences-toggle"
            onClick={() => setView(view === 'list' ? 'preferences' : 'list')}
          >
            <GearIcon />
          </button>
        ) : null}
      </div>
      {view === 'preferences' ? (
        <PreferencesPanel client={center.client} knownKinds={kinds} channels={preferenceChannels} />
      ) : (
        <>
          <div className="nc-tabs" role="tablist" aria-label="Filter notifications" onKeyDown={onTabKey}>
            {tabs.map((status) => (
              <button
                key={status}
                ref={(el) => void (el ? tabRefs.current.set(status, el) : tabRefs.current.delete(status))}
                type="button"
                role="tab"
                id={tabId(status)}
                className="nc-tab"
                aria-selected={status === current}
                aria-controls={panel}
                tabIndex={status === current ? 0 : -1}
                data-testid={`tab-${status}`}
                onClick={() => selectTab(status)}
              >
                {TAB_LABELS[status]}
                {status === 'unread' && center.unreadCount > 0 ? (
                  <span className="nc-tab-count" data-testid="tab-unread-count">
                    {center.unreadCount}
                  </span>
                ) : null}
              </button>
            ))}
          </div>
          <NotificationList
            items={center.notifications}
            status={current}
            hasMore={center.hasMore}
            loading={center.loading}
            tabPanelId={panel}
            tabId={tabId(current)}
            onLoadMore={center.loadMore}
            onMarkRead={(id) => void center.markRead(id)}
            onArchive={(id) => void center.archive(id)}
            onUnarchive={(id) => void center.unarchive(id)}
            {...(onOpenNotification ? { onOpen: onOpenNotification } : {})}
          />
        </>
      )}
      {desktop ? <DesktopFooter {...desktop} /> : null}
    </div>
  );
}

function DesktopFooter({ permission, request }: { permission: DesktopPermission; request(): void }) {
  if (permission === 'unsupported') return null;
  return (
    <div className="nc-foot" data-testid="desktop-status" data-permission={permission}>
      {permission === 'granted' ? <span>Desktop alerts are on for urgent notifications.</span> : null}
      {permission === 'denied' ? <span>Desktop alerts are blocked in this browser’s site settings.</span> : null}
      {permission === 'default' ? (
        <>
          <span>Get a desktop alert for urgent notifications.</span>
          <button type="button" className="nc-link" data-testid="desktop-enable" onClick={request}>
            Turn on
          </button>
        </>
      ) : null}
    </div>
  );
}
