/** Messages: errors are announced at once (role=alert), notices politely (role=status). */
import type { ComponentChildren } from 'preact';

/** An error box, or nothing when `children` is empty. */
export function ErrorMessage({ children }: { children?: ComponentChildren }) {
  if (children === null || children === undefined || children === '' || children === false) return null;
  return <div class="alert alert-error" role="alert">{children}</div>;
}

/** A neutral or success notice. */
export function Notice({ children, tone = 'info' }: { children?: ComponentChildren; tone?: 'info' | 'success' }) {
  if (children === null || children === undefined || children === '' || children === false) return null;
  return <div class={`alert alert-${tone}`} role="status">{children}</div>;
}
