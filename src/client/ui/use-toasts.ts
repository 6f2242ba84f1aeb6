/**
 * The toast queue: newest first, at most `max`, each dismissed after `durationMs`
 * (urgent ones stay until dismissed). A notification shown again with the same id
 * updates its toast in place instead of stacking a second one.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import type { Notification } from '../types.js';

export interface ToastQueue {
  toasts: readonly Notification[];
  show(notification: Notification): void;
  dismiss(id: string): void;
  dismissAll(): void;
}

export function useToasts(durationMs: number, max: number): ToastQueue {
  const [toasts, setToasts] = useState<readonly Notification[]>([]);
  const timers = useRef(new Map<string, ReturnType<typeof setTimeout>>());

  const dismiss = useCallback((id: string) => {
    clearTimeout(timers.current.get(id));
    timers.current.delete(id);
    setToasts((list) => list.filter((t) => t.id !== id));
  }, []);

  const dismissAll = useCallback(() => {
    for (const timer of timers.current.values()) clearTimeout(timer);
    timers.current.clear();
    setToasts([]);
  }, []);

  const show = useCallback(
    (notification: Notification) => {
      setToasts((list) => {
        const known = list.some((t) => t.id === notification.id);
        const next = known ? list.map((t) => (t.id === notification.id ? notification : t)) : [notification, ...list];
        for (const dropped of next.slice(max)) {
          clearTimeout(timers.current.get(dropped.id));
          timers.current.delete(dropped.id);
        }
        return next.slice(0, max);
      });
      clearTimeout(timers.current.get(notification.id));
      timers.current.delete(notification.id);
      if (durationMs > 0 && notification.priority !== 'urgent') {
        timers.current.set(notification.id, setTimeout(() => dismiss(notification.id), durationMs));
      }
    },
    [dismiss, durationMs, max],
  );

  useEffect(() => {
    const pending = timers.current;
    return () => {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
    };
  }, []);

  return { toasts, show, dismiss, dismissAll };
}
