/**
 * A page's heading: sets the document title and takes focus when the page opens, so a screen
 * reader announces the new page after a client-side navigation.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

/** The `<h1>` of a page. */
export function PageTitle({ title, children }: { title: string; children?: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · certkeeper`;
  }, [title]);
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <div class="page-title">
      <h1 ref={ref} tabIndex={-1}>{title}</h1>
      {children ? <div class="page-title-extra">{children}</div> : null}
    </div>
  );
}
