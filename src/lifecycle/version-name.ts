/** Names of stored certificate versions: `<commonName>_<UTC timestamp>` (DESIGN.md, step 4). */

/** `www.example.com_20261126T013000Z` for a version stored at `at`. */
export function versionName(commonName: string, at: Date): string {
  const ts = at.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return `${commonName}_${ts}`;
}
