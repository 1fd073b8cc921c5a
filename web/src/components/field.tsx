/** A form field's error, shown beside it and tied to it with aria-describedby. */

/** The error paragraph for the field `id` (its element id is `${id}-error`), or nothing. */
export function FieldError({ id, message }: { id: string; message?: string | undefined }) {
  if (!message) return null;
  return <p id={`${id}-error`} class="field-error" data-field-error={id}>{message}</p>;
}

/** The attributes an input needs when it may have an error. */
export function invalidProps(id: string, message?: string | undefined): { 'aria-invalid': boolean; 'aria-describedby'?: string } {
  return message ? { 'aria-invalid': true, 'aria-describedby': `${id}-error` } : { 'aria-invalid': false };
}

/** After a refused submit: focus the first field marked invalid, once the errors are rendered. */
export function focusFirstInvalid(): void {
  setTimeout(() => document.querySelector<HTMLElement>('main [aria-invalid="true"]')?.focus(), 0);
}
