import type { ReactNode } from 'react';

export const metadata = { title: 'Notify gateway — Next.js App Router example' };

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body style={{ margin: 0, fontFamily: 'system-ui, sans-serif', background: '#f6f8fa' }}>{children}</body>
    </html>
  );
}
