/**
 * The vendor's id of a zone, looked up by name once per provider instance (or taken from the
 * `zoneId` setting). A failed lookup is forgotten, so the next call asks again.
 */
export class ZoneIdCache {
  readonly #ids = new Map<string, Promise<string>>();

  constructor(private readonly configured: string | undefined) {}

  /** The id of `zone`, from the setting, the cache, or `lookup`. */
  get(zone: string, lookup: (zone: string) => Promise<string>): Promise<string> {
    if (this.configured) return Promise.resolve(this.configured);
    const key = zone.toLowerCase();
    let p = this.#ids.get(key);
    if (!p) {
      p = lookup(key);
      this.#ids.set(key, p);
      p.catch(() => this.#ids.delete(key));
    }
    return p;
  }
}
