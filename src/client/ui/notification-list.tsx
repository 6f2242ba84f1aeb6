'use client';
/**
 * One tab's list with infinite scroll: a sentinel below the last item is watched by an
 * IntersectionObserver rooted in the scroll box; when it comes within `LOAD_AHEAD_PX` of
 * the bottom edge the next page is asked for. The observer is re-armed after every page,
 * so a page that does not fill the box loads the next one too.
 */
import { useEffect, useRef } from 'react';
import type { CenterItem, CenterStatus } from '../notification-center.js';

const LOAD_AHEAD_PX = 160;

export interface NotificationListProps {
  items: readonly CenterItem[];
  status: CenterStatus;
  hasMore: boolean;
  loading: boolean;
  tabPanelId: string;
  tabId: string;
  onLoadMore(): void;
  onMarkRead(id: string): void;
  onArchive(id: string): void;
  onUnarchive(id: string): void;
  onOpen?(item: CenterItem): void;
}

const EMPTY: Record<CenterStatus, string> = {
  unread: 'You are all caught up.',
  all: 'No notifications yet.',
  archived: 'Nothing archived.',
};

export function NotificationList(props: NotificationListProps) {
  const { items, hasMore, loading, onLoadMore } = props;
  const scrollBox = useRef<HTMLDivElement>(null);
  const sentinel = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const target = sentinel.current;
    if (!hasMore || loading || !target || typeof IntersectionObserver === 'undefined') return;
    const observer = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && onLoadMore(), {
      root: scrollBox.current,
      rootMargin: `0px 0px ${LOAD_AHEAD_PX}px 0px`,
    });
    observer.observe(target);
    return () => observer.disconnect();
  }, [hasMore, loading, onLoadMore, items.length]);

  return (
    <div className="nc-scroll" ref={scrollBox} role="tabpanel" id={props.tabPanelId} aria-labelledby={props.tabId} data-testid="notification-scroll">
      {items.length === 0 && !loading && !hasMore ? (
        <div className="nc-empty" data-testid="empty-state">
          {EMPTY[props.status]}
        </div>
      ) : null}
      <ul className="nc-list" data-testid="notification-list" aria-busy={loading}>
        {items.map((item) => (
          <NotificationRow key={item.id} item={item} {...props} />
        ))}
      </ul>
      {hasMore ? <div className="nc-sentinel" ref={sentinel} data-testid="load-more-sentinel" /> : null}
      {loading ? (
        <div className="nc-loading" data-testid="list-loading">
          Loading…
        </div>
      ) : null}
    </div>
  );
}

function NotificationRow({ item, onMarkRead, onArchive, onUnarchive, onOpen }: NotificationListProps & { item: CenterItem }) {
  return (
    <li
      className="nc-item"
      data-testid="notification"
      data-id={item.id}
      data-kind={item.kind}
      data-read={String(item.read)}
      data-seen={String(item.seen)}
      data-archived={String(item.archived)}
      data-priority={item.priority}
    >
      <span className="nc-dot" aria-hidden="true" />
      <div className="nc-text">
        <div className="nc-title">
          {item.read ? null : <span className="nc-sr-only">Unread: </span>}
          {onOpen ? (
            <button type="button" className="nc-open" data-testid="open-notification" onClick={() => onOpen(item)}>
              {item.title}
            </button>
          ) : (
            item.title
          )}
        </div>
        {item.body ? <div className="nc-body">{item.body}</div> : null}
        <div className="nc-meta">
          {item.kind} · <time dateTime={item.createdAt}>{formatAge(item.createdAt, Date.now())}</time>
        </div>
      </div>
      <div className="nc-actions">
        {item.read || item.archived ? null : (
          <button type="button" className="nc-link" data-testid="mark-read" aria-label={`Mark read: ${item.title}`} onClick={() => onMarkRead(item.id)}>
            Mark read
          </button>
        )}
        {item.archived ? (
          <button type="button" className="nc-link" data-testid="unarchive" aria-label={`Unarchive: ${item.title}`} onClick={() => onUnarchive(item.id)}>
            Unarchive
          </button>
        ) : (
          <button type="button" className="nc-link" data-testid="archive" aria-label={`Archive: ${item.title}`} onClick={() => onArchive(item.id)}>
            Archive
          </button>
        )}
      </div>
    </li>
  );
}

const relative = typeof Intl !== 'undefined' && 'RelativeTimeFormat' in Intl ? new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' }) : null;

/** "just now", "5 minutes ago", "yesterday"; a date beyond a week. */
export function formatAge(createdAt: string, now: number): string {
  const seconds = Math.round((Date.parse(createdAt) - now) / 1000);
  if (!relative || Number.isNaN(seconds)) return createdAt;
  if (seconds > -45) return 'just now';
  const steps: [Intl.RelativeTimeFormatUnit, number][] = [
    ['minute', 60],
    ['hour', 3600],
    ['day', 86_400],
  ];
  for (const [unit, size] of [...steps].reverse()) {
    if (-seconds >= size) {
      if (unit === 'day' && -seconds >= 7 * 86_400) return new Date(createdAt).toLocaleDateString();
      return relative.format(Math.round(seconds / size), unit);
    }
  }
  return relative.format(Math.round(seconds / 60), 'minute');
}
