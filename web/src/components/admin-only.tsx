/** What a non-admin sees on an admin page (the navigation hides these pages from them anyway). */
import type { ComponentChildren } from 'preact';
import { useMe } from '../session';
import { PageTitle } from './page-title';

/** Renders `children` for admins, else says who may. */
export function AdminOnly({ title, children }: { title: string; children: ComponentChildren }) {
  const me = useMe();
  if (me.role === 'admin') return <>{children}</>;
  return (
    <>
      <PageTitle title={title} />
      <p>Only admins manage this; your role is {me.role}.</p>
    </>
  );
}
