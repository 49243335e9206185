/**
 * The offlog wire protocol: constants, the client's opening, record framing and the
 * server's messages. Client and server both import it; PROTOCOL.md describes it.
 *
 * @example
 * ```ts
 * import { encodeOpening, MessageDecoder } from "./mod.ts";
 * import assert from "node:assert/strict";
 * const opening = encodeOpening("/tmp/app.log", "offlog/1");
 * assert.equal(new TextDecoder().decode(opening), "offlog/1\0/tmp/app.log\0");
 * const messages = new MessageDecoder().push(new Uint8Array([79, 75, 0]));
 * assert.deepEqual(messages, [{ type: "ok" }]);
 * ```
 *
 * @module
 */

export {
  DEFAULT_SOCKET_PATH,
  DEFAULT_TIMEOUT_MS,
  ENDS_FRAME,
  FRAME_HEADER_BYTES,
  MAX_MESSAGE_BYTES,
  MAX_RECORD_BYTES,
  NUL,
  PATH_MAX,
  STATS_HELLO,
  SYNC_FRAME,
  V1_HELLO,
  V2_HELLO,
} from "./constants.ts";
export {
  ACK_PREFIX,
  BYE,
  encodeMessage,
  formatError,
  MessageDecoder,
  MessageTooLongError,
  OK,
  parseMessage,
  ROTATED,
  type ServerMessage,
  STATS_PREFIX,
  SYNCED_PREFIX,
} from "./messages.ts";
export {
  encodeOpening,
  OpeningReader,
  type OpeningResult,
  type ProtocolVersion,
} from "./opening.ts";
export {
  FrameReader,
  LineReader,
  type RecordReader,
  recordReader,
  type Unit,
  writeFrameHeader,
} from "./frames.ts";
export {
  denoErrorClass,
  NOT_ABSOLUTE,
  pythonErrorName,
  SERVER_EXITED,
} from "./errors.ts";
export { cutAfterRecord, encodeRecordEnds, type RecordCut } from "./record_ends.ts";
export { concat } from "./_bytes.ts";
export { type BufferSource, FRESH } from "./_parts.ts";
export { features, type VersionFeatures } from "./versions.ts";
