// Lookups in plain objects by a name that came from outside (a URL segment, a request body, a
// config or JSON file): only the object's OWN properties count, so `__proto__`, `constructor`,
// `toString`, `hasOwnProperty`, `valueOf`… never resolve to Object.prototype members. Pure.
// (Maps are safe already; this is for records parsed from JSON/YAML.)

/** `obj[key]` when `key` is an own property of `obj`, else undefined (also for a null/undefined obj). */
export function own<T>(obj: Readonly<Record<string, T>> | null | undefined, key: string): T | undefined {
  return obj != null && Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Whether `key` is an own property of `obj` (false for a null/undefined obj). */
export function hasOwnKey(obj: object | null | undefined, key: string): boolean {
  return obj != null && Object.hasOwn(obj, key);
}
