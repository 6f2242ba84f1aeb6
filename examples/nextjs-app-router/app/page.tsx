// A server component: the bell is the client boundary (app/notification-bell.tsx).
import { NotificationBell } from './notification-bell';

export default function Page() {
  return (
    <>
      <header style={{ display: 'flex', alignItems: 'center', height: 56, padding: '0 16px', background: '#fff', borderBottom: '1px solid #d0d7de' }}>
        <strong style={{ flex: 1 }}>My app</strong>
        <NotificationBell />
      </header>
      <main style={{ maxWidth: 640, margin: '32px auto', padding: '0 16px' }}>
        <h1 style={{ fontSize: 20 }}>Notifications</h1>
        <p>Notifications for the signed-in user appear under the bell as they are sent.</p>
      </main>
    </>
  );
}
