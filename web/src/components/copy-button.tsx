/** A button that copies a value to the clipboard and says so (falls back to selecting the text). */
import { useState } from 'preact/hooks';

/** Copies `value`; `label` names what is copied for screen readers ("Copy record name"). */
export function CopyButton({ value, label }: { value: string; label: string }) {
  const [copied, setCopied] = useState<'yes' | 'no' | null>(null);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied('yes');
    } catch {
      setCopied('no');
    }
    setTimeout(() => setCopied(null), 2000);
  };
  return (
    <button type="button" class="button button-small" aria-label={label} onClick={() => void copy()}>
      {copied === 'yes' ? 'Copied' : copied === 'no' ? 'Copy failed: select it' : 'Copy'}
    </button>
  );
}

/** A value shown in monospace with its copy button. */
export function CopyValue({ value, label }: { value: string; label: string }) {
  return (
    <span class="copy-value">
      <code>{value}</code>
      <CopyButton value={value} label={label} />
    </span>
  );
}
