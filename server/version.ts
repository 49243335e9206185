/**
 * The release of this offlog server and client; it matches `version` in deno.json.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * console.log(VERSION); // "0.1.0"
 * ```
 */
export const VERSION: string = "0.1.0";
