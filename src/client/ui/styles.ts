/**
 * The notification center's stylesheet, shipped with the component: rendered once as a
 * React 19 hoisted `<style href precedence>` (deduplicated, also during server
 * rendering), or taken from `notificationCenterCss` by an app that serves its own CSS
 * (then pass `injectStyles={false}`).
 *
 * Every colour, size and font reads a `--notify-*` custom property with a default, so a
 * theme sets the properties on any ancestor (`:root`, a dark-mode class) and nothing else.
 * Under 480 px the popover and the toasts span the viewport's width.
 */
export const NOTIFY_STYLE_ID = 'notify-center-styles';

export const notificationCenterCss = `
.nc-root, .nc-toasts {
  font: var(--notify-font, 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif);
  color: var(--notify-fg, #1f2328);
  --nc-accent: var(--notify-accent, #0969da);
  --nc-border: var(--notify-border, #d0d7de);
  --nc-muted: var(--notify-muted, #656d76);
  --nc-bg: var(--notify-bg, #ffffff);
  --nc-radius: var(--notify-radius, 8px);
  --nc-focus: var(--notify-focus, 0 0 0 3px rgba(9, 105, 218, 0.35));
}
.nc-root { position: relative; display: inline-block; }
:where(.nc-root, .nc-toasts) * { box-sizing: border-box; }
/* :where() keeps these at zero specificity, so each part's own rules win. */
:where(.nc-root, .nc-toasts) :where(button, input) { font: inherit; color: inherit; }
:where(.nc-root, .nc-toasts) :focus-visible { outline: none; box-shadow: var(--nc-focus); }

.nc-bell { position: relative; display: inline-flex; align-items: center; justify-content: center;
  width: 40px; height: 40px; border: 1px solid transparent; border-radius: 50%;
  background: var(--notify-bell-bg, transparent); color: var(--notify-bell-fg, currentColor); cursor: pointer; }
.nc-bell:hover, .nc-bell[aria-expanded="true"] { background: var(--notify-hover-bg, #f3f4f6); }
.nc-badge { position: absolute; top: 2px; right: 0; min-width: 18px; height: 18px; padding: 0 5px;
  border-radius: 9px; background: var(--notify-badge-bg, #cf222e); color: var(--notify-badge-fg, #fff);
  font-size: 11px; font-weight: 600; line-height: 18px; text-align: center; }
.nc-badge[data-count="0"] { display: none; }

.nc-popover { position: absolute; z-index: var(--notify-z, 1000); top: calc(100% + 6px); right: 0;
  width: var(--notify-width, 380px); max-height: var(--notify-max-height, 560px); display: flex; flex-direction: column;
  background: var(--nc-bg); border: 1px solid var(--nc-border); border-radius: var(--nc-radius);
  box-shadow: var(--notify-shadow, 0 8px 24px rgba(31, 35, 40, 0.16)); overflow: hidden; text-align: left; }
.nc-head { display: flex; align-items: center; gap: 8px; padding: 10px 12px; border-bottom: 1px solid var(--nc-border); }
.nc-head h2 { flex: 1; margin: 0; font-size: 15px; }
.nc-link { padding: 4px 8px; border: 0; border-radius: 6px; background: none; color: var(--nc-accent); cursor: pointer; font-size: 13px; }
.nc-link:hover { background: var(--notify-hover-bg, #f3f4f6); }
.nc-link:disabled { color: var(--nc-muted); cursor: default; background: none; }
.nc-icon-button { display: inline-flex; padding: 6px; border: 0; border-radius: 6px; background: none; color: var(--nc-muted); cursor: pointer; }
.nc-icon-button:hover, .nc-icon-button[aria-pressed="true"] { background: var(--notify-hover-bg, #f3f4f6); color: var(--notify-fg, #1f2328); }

.nc-tabs { display: flex; gap: 4px; padding: 6px 8px 0; border-bottom: 1px solid var(--nc-border); }
.nc-tab { padding: 6px 10px 8px; border: 0; border-bottom: 2px solid transparent; background: none; color: var(--nc-muted); cursor: pointer; }
.nc-tab[aria-selected="true"] { color: var(--notify-fg, #1f2328); border-bottom-color: var(--nc-accent); font-weight: 600; }
.nc-tab-count { margin-left: 4px; padding: 0 6px; border-radius: 9px; background: var(--notify-hover-bg, #eaeef2); font-size: 11px; }

.nc-scroll { flex: 1; overflow-y: auto; overscroll-behavior: contain; min-height: 120px; }
.nc-list { list-style: none; margin: 0; padding: 0; }
.nc-item { display: flex; gap: 10px; padding: 10px 12px; border-bottom: 1px solid var(--notify-divider, #eaeef2); }
.nc-item[data-read="false"] { background: var(--notify-unread-bg, #f1f8ff); }
.nc-dot { flex: none; width: 8px; height: 8px; margin-top: 6px; border-radius: 50%; background: transparent; }
.nc-item[data-read="false"] .nc-dot { background: var(--nc-accent); }
.nc-item[data-priority="high"] .nc-dot, .nc-item[data-priority="urgent"] .nc-dot { background: var(--notify-urgent, #cf222e); }
.nc-text { flex: 1; min-width: 0; overflow-wrap: anywhere; }
.nc-title { font-weight: 600; }
.nc-item[data-read="true"] .nc-title { font-weight: 400; }
.nc-open { padding: 0; border: 0; background: none; font-weight: inherit; text-align: left; cursor: pointer; }
.nc-open:hover { text-decoration: underline; }
.nc-body { margin-top: 2px; }
.nc-meta { margin-top: 2px; color: var(--nc-muted); font-size: 12px; }
.nc-actions { display: flex; flex-direction: column; align-items: flex-end; gap: 2px; }
.nc-actions .nc-link { font-size: 12px; padding: 2px 6px; white-space: nowrap; }
.nc-empty, .nc-loading, .nc-end { padding: 24px 12px; color: var(--nc-muted); text-align: center; }
.nc-loading, .nc-end { padding: 10px 12px; font-size: 12px; }
.nc-sentinel { height: 1px; }
.nc-foot { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 8px 12px;
  border-top: 1px solid var(--nc-border); color: var(--nc-muted); font-size: 12px; }

.nc-prefs { flex: 1; overflow-y: auto; padding: 8px 12px 12px; }
.nc-prefs h3 { margin: 12px 0 6px; font-size: 12px; text-transform: uppercase; letter-spacing: 0.04em; color: var(--nc-muted); }
.nc-switch-row { display: flex; align-items: center; justify-content: space-between; gap: 8px; padding: 6px 0; }
.nc-kinds { width: 100%; border-collapse: collapse; }
.nc-kinds th { font-weight: 400; color: var(--nc-muted); font-size: 12px; text-align: center; padding: 4px; }
.nc-kinds th:first-child, .nc-kinds td:first-child { text-align: left; overflow-wrap: anywhere; }
.nc-kinds td { padding: 6px 4px; text-align: center; border-top: 1px solid var(--notify-divider, #eaeef2); }
.nc-switch { appearance: none; position: relative; width: 32px; height: 18px; margin: 0; border-radius: 9px;
  background: var(--notify-switch-off, #afb8c1); cursor: pointer; transition: background 0.15s; vertical-align: middle; }
.nc-switch::after { content: ""; position: absolute; top: 2px; left: 2px; width: 14px; height: 14px; border-radius: 50%;
  background: #fff; transition: transform 0.15s; }
.nc-switch:checked { background: var(--nc-accent); }
.nc-switch:checked::after { transform: translateX(14px); }
.nc-add-kind { display: flex; gap: 6px; margin-top: 8px; }
.nc-add-kind input { flex: 1; min-width: 0; padding: 4px 8px; border: 1px solid var(--nc-border); border-radius: 6px; background: var(--nc-bg); }
.nc-prefs-actions { display: flex; align-items: center; gap: 8px; margin-top: 12px; }
.nc-primary { padding: 5px 12px; border: 1px solid transparent; border-radius: 6px; background: var(--nc-accent); color: var(--notify-accent-fg, #fff); cursor: pointer; }
.nc-primary:disabled { opacity: 0.6; cursor: default; }
.nc-status { font-size: 12px; color: var(--nc-muted); }
.nc-status[data-kind="error"] { color: var(--notify-urgent, #cf222e); }
.nc-status ul { margin: 4px 0 0; padding-left: 16px; }

.nc-toasts { position: fixed; z-index: var(--notify-toast-z, 1100); bottom: 16px; right: 16px; display: grid; gap: 8px;
  width: var(--notify-toast-width, 320px); margin: 0; padding: 0; list-style: none; pointer-events: none; }
.nc-toast { display: flex; gap: 10px; align-items: flex-start; padding: 10px 12px; pointer-events: auto;
  border-radius: var(--nc-radius); background: var(--notify-toast-bg, #24292f); color: var(--notify-toast-fg, #fff);
  box-shadow: var(--notify-shadow, 0 8px 24px rgba(31, 35, 40, 0.24)); border-left: 4px solid var(--nc-accent); }
.nc-toast[data-priority="urgent"] { border-left-color: var(--notify-urgent, #cf222e); }
.nc-toast .nc-text { font-size: 13px; }
.nc-toast .nc-title { font-weight: 600; }
.nc-toast .nc-icon-button { color: inherit; opacity: 0.8; }
.nc-toast .nc-icon-button:hover { background: rgba(255, 255, 255, 0.12); color: inherit; opacity: 1; }

.nc-sr-only { position: absolute; width: 1px; height: 1px; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }

@media (max-width: 480px) {
  .nc-popover { position: fixed; top: 56px; left: 8px; right: 8px; width: auto; max-height: calc(100dvh - 72px); }
  .nc-toasts { bottom: 12px; left: 8px; right: 8px; width: auto; }
}
`;
