// Test helper: collects a child process's stdout and stderr as text while it runs.

/** What a child printed so far, and a promise of the end of both streams. */
export interface Output {
  stdout(): string;
  stderr(): string;
  /** Resolves once both streams have ended. */
  done: Promise<void>;
}

/** Starts reading `process`'s piped stdout and stderr. */
export function collectOutput(process: Deno.ChildProcess): Output {
  let out = "";
  let err = "";
  const collect = async (
    stream: ReadableStream<Uint8Array>,
    add: (s: string) => void,
  ) => {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) add(text);
  };
  const done = Promise.all([
    collect(process.stdout, (s) => out += s),
    collect(process.stderr, (s) => err += s),
  ]).then(() => {});
  return { stdout: () => out, stderr: () => err, done };
}
