/** The placeholders a page shows while its data loads, or why it did not. */
import type { ComponentChildren } from 'preact';
import { ErrorMessage } from './alert';
import { PageTitle } from './page-title';
import { AdminOnly } from './admin-only';

/** The polite "Loading…" line. */
export function Loading() {
  return <p role="status" class="muted">Loading…</p>;
}

/** The error if loading failed, else "Loading…". */
export function LoadingOrError({ error }: { error: string | null | undefined }) {
  return error ? <ErrorMessage>{error}</ErrorMessage> : <Loading />;
}

/** Wraps `children` in {@link AdminOnly} on admin pages, else renders them as they are. */
export function MaybeAdminOnly({ admin, title, children }: { admin: boolean; title: string; children: ComponentChildren }) {
  return admin ? <AdminOnly title={title}>{children}</AdminOnly> : <>{children}</>;
}

/** A detail page before its resource is loaded: the generic title, then "Loading…" or the error. */
export function DetailPlaceholder({ title, error, admin = false }: { title: string; error: string | null | undefined; admin?: boolean }) {
  return (
    <MaybeAdminOnly admin={admin} title={title}>
      <PageTitle title={title} />
      <LoadingOrError error={error} />
    </MaybeAdminOnly>
  );
}
