/**
 * Constants of the offlog wire protocol, shared by the client and the server.
 *
 * @module
 */

/**
 * The socket path a server listens on and a client connects to by default.
 *
 * @example
 * ```ts
 * import { DEFAULT_SOCKET_PATH } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_SOCKET_PATH, "/tmp/offlog.sock");
 * ```
 */
export const DEFAULT_SOCKET_PATH: string = "/tmp/offlog.sock";

/**
 * Milliseconds a client waits for the server when opening and closing.
 *
 * @example
 * ```ts
 * import { DEFAULT_TIMEOUT_MS } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(DEFAULT_TIMEOUT_MS, 5000);
 * ```
 */
export const DEFAULT_TIMEOUT_MS: number = 5000;

/**
 * Longest path in bytes, NUL excluded, that a server accepts (Linux `PATH_MAX`).
 *
 * @example
 * ```ts
 * import { PATH_MAX } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(PATH_MAX, 4096);
 * ```
 */
export const PATH_MAX: number = 4096;

/**
 * The byte that ends the opening tokens and every server message.
 *
 * @example
 * ```ts
 * import { NUL } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(NUL, 0);
 * ```
 */
export const NUL: number = 0;

/**
 * The first token of an offlog/1 opening. A 0.x server takes it for a relative path
 * and refuses it with `ValueError: not an absolute path`, which tells the client to
 * fall back to the 0.x stream.
 *
 * @example
 * ```ts
 * import { V1_HELLO } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(V1_HELLO, "offlog/1");
 * ```
 */
export const V1_HELLO: string = "offlog/1";

/**
 * The first token of an offlog/2 opening: offlog/1 with record ends
 * ({@linkcode ENDS_FRAME}). A server that knows only offlog/1 (or 0.x) refuses it as
 * a relative path, and the client tries offlog/1 next.
 *
 * @example
 * ```ts
 * import { V2_HELLO } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(V2_HELLO, "offlog/2");
 * ```
 */
export const V2_HELLO: string = "offlog/2";

/**
 * Bytes of the big-endian length that precedes each offlog/1 frame.
 *
 * @example
 * ```ts
 * import { FRAME_HEADER_BYTES } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(FRAME_HEADER_BYTES, 4);
 * ```
 */
export const FRAME_HEADER_BYTES: number = 4;

/**
 * Largest record, and so largest frame payload, in bytes: 16 MiB. A record up to this
 * size lands contiguous in the file however many clients write to it.
 *
 * @example
 * ```ts
 * import { MAX_RECORD_BYTES } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(MAX_RECORD_BYTES, 16 * 1024 * 1024);
 * ```
 */
export const MAX_RECORD_BYTES: number = 16 * 1024 * 1024;

/**
 * Longest server message in bytes, NUL excluded: 16 KiB. The longest a server sends is
 * an error naming at most two paths of up to {@linkcode PATH_MAX} bytes each; a client
 * fails a connection whose message passes this bound rather than hold an endless one.
 *
 * @example
 * ```ts
 * import { MAX_MESSAGE_BYTES } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(MAX_MESSAGE_BYTES, 16384);
 * ```
 */
export const MAX_MESSAGE_BYTES: number = 16 * 1024;

/**
 * A frame header with this length is no frame but a sync request: once the records
 * before it are written, the server syncs the file (`fdatasync`) and answers
 * `SYNCED <n>`. A server that does not know it refuses it as a record over the
 * maximum, so a client learns that durable flushes are not supported.
 *
 * @example
 * ```ts
 * import { SYNC_FRAME } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(SYNC_FRAME, 0xffffffff);
 * ```
 */
export const SYNC_FRAME: number = 0xffffffff;

/**
 * offlog/2: a frame header with this bit set (and not {@linkcode SYNC_FRAME}) starts a
 * record-ends frame; the rest of the header is its length. Its payload gives the
 * lengths of the records in the next frame, so that the server may cut that frame
 * between two of them (built-in rotation does, where a file reaches its size).
 *
 * @example
 * ```ts
 * import { ENDS_FRAME, MAX_RECORD_BYTES } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.ok(ENDS_FRAME > MAX_RECORD_BYTES); // an offlog/1 server refuses it
 * ```
 */
export const ENDS_FRAME: number = 0x80000000;

/**
 * The opening of a stats request: the server answers `STATS <json>` NUL and closes.
 * A 0.x server takes it for a relative path and refuses it.
 *
 * @example
 * ```ts
 * import { STATS_HELLO } from "./constants.ts";
 * import assert from "node:assert/strict";
 * assert.equal(STATS_HELLO, "offlog/stats");
 * ```
 */
export const STATS_HELLO: string = "offlog/stats";
