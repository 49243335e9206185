/**
 * The release of this offlog server and client; it matches `version` in deno.json.
 *
 * @example
 * ```ts
 * import { VERSION } from "./version.ts";
 * import config from "../deno.json" with { type: "json" };
 * import assert from "node:assert/strict";
 * assert.equal(VERSION, config.version);
 * ```
 */
export const VERSION: string = "0.1.0";
