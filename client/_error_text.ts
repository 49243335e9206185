// An error as Deno prints an uncaught one: its stack, then each `cause` after
// "Caused by: ". Values that are not errors are inspected as Deno inspects them.

/** The text of `error`: its stack, then its `cause` chain. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  for (let depth = 0; depth < 32 && !seen.has(current); depth++) {
    seen.add(current);
    parts.push(errorText(current));
    if (!(current instanceof Error) || current.cause === undefined) break;
    current = current.cause;
  }
  return parts.join("\nCaused by: ");
}

function errorText(value: unknown): string {
  if (!(value instanceof Error)) return Deno.inspect(value, { colors: false });
  const stack = typeof value.stack === "string" ? value.stack : "";
  return stack !== "" ? stack : `${value.name}: ${value.message}`;
}
