'use client';
/**
 * The toasts of high and urgent notifications: a live region (polite; an urgent toast is
 * an `alert`, read out at once), each with a dismiss button reachable by keyboard.
 * Escape inside the stack is handled by the notification center (it dismisses them and
 * puts focus back on the bell).
 */
import type { Notification } from '../types.js';
import { CloseIcon } from './icons.js';

export interface ToastStackProps {
  toasts: readonly Notification[];
  onDismiss(id: string): void;
  label: string;
}

export function ToastStack({ toasts, onDismiss, label }: ToastStackProps) {
  return (
    <section className="nc-toasts" aria-label={label} aria-live="polite" data-testid="toast-stack">
      {toasts.map((toast) => (
        <div
          key={toast.id}
          className="nc-toast"
          role={toast.priority === 'urgent' ? 'alert' : 'status'}
          data-testid="toast"
          data-id={toast.id}
          data-priority={toast.priority}
        >
          <div className="nc-text">
            <div className="nc-title">{toast.title}</div>
            {toast.body ? <div className="nc-body">{toast.body}</div> : null}
          </div>
          <button type="button" className="nc-icon-button" data-testid="toast-close" aria-label={`Dismiss: ${toast.title}`} onClick={() => onDismiss(toast.id)}>
            <CloseIcon />
          </button>
        </div>
      ))}
    </section>
  );
}
