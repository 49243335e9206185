// The seed's example, translated. Start a server in one terminal:
//
//   deno task serve
//
// then run this in another (a client needs the socket, and nothing else):
//
//   deno run --allow-net=unix:/tmp/offlog.sock --allow-read=/tmp/offlog.sock \
//     --allow-write=/tmp/offlog.sock examples/example.ts

import { Logger } from "../mod.ts";

await using logger = await Logger.open("my app", "/tmp/myapp.log");
logger.info("Hello world, params are %s %d", "foo", 7);
try {
  console.log(1n / 0n);
} catch (error) {
  logger.exception("Got an error", error);
}
