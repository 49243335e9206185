/**
 * What each version of the offlog protocol supports, asked here rather than by
 * comparing version names in the client and the server.
 *
 * @module
 */

import { FRAME_HEADER_BYTES } from "./constants.ts";
import type { ProtocolVersion } from "./opening.ts";

/**
 * What one protocol version supports.
 *
 * @example
 * ```ts
 * import { features } from "./versions.ts";
 * import assert from "node:assert/strict";
 * const v1 = features("offlog/1");
 * assert.equal(v1.frames, true);
 * assert.equal(v1.acks, true);
 * assert.equal(v1.headerBytes, 4);
 * assert.equal(v1.recordEnds, false);
 * assert.equal(features("offlog/2").recordEnds, true);
 * ```
 */
export interface VersionFeatures {
  /** Records travel in length-prefixed frames (else a plain byte stream of lines). */
  readonly frames: boolean;
  /** The server acknowledges written bytes with `ACK n`. */
  readonly acks: boolean;
  /** The client understands `ROTATED` (0.x: only offlog 0.3, so only when asked). */
  readonly rotated: boolean;
  /** Bytes before each frame's payload; 0 without frames. */
  readonly headerBytes: number;
  /** A frame may be preceded by its record ends (a frame header with `ENDS_FRAME`). */
  readonly recordEnds: boolean;
}

const V1: VersionFeatures = {
  frames: true,
  acks: true,
  rotated: true,
  headerBytes: FRAME_HEADER_BYTES,
  recordEnds: false,
};
const V2: VersionFeatures = { ...V1, recordEnds: true };
const V0: VersionFeatures = {
  frames: false,
  acks: false,
  rotated: false,
  headerBytes: 0,
  recordEnds: false,
};

/**
 * What `version` supports.
 *
 * @param version A negotiated protocol version.
 * @returns Its features.
 *
 * @example
 * ```ts
 * import { features } from "./versions.ts";
 * import assert from "node:assert/strict";
 * assert.equal(features("0.x").acks, false);
 * ```
 */
export function features(version: ProtocolVersion): VersionFeatures {
  return version === "offlog/2" ? V2 : version === "offlog/1" ? V1 : V0;
}
