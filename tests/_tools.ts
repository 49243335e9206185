// Test helper: finds system tools that some tests drive (logrotate, rsyslogd). Such a
// test skips, saying why, where a tool is missing, and fails under CI=true, where
// .ci/run installs them.

/** Where `name` is on PATH or in the sbin directories, or null. */
export function findTool(name: string): string | null {
  const path = Deno.env.get("PATH") ?? "";
  const dirs = [...path.split(":"), "/usr/local/sbin", "/usr/sbin", "/sbin"];
  for (const dir of dirs) {
    if (dir === "") continue;
    try {
      const info = Deno.statSync(`${dir}/${name}`);
      if (info.isFile && ((info.mode ?? 0) & 0o111) !== 0) return `${dir}/${name}`;
    } catch {
      // not there
    }
  }
  return null;
}

/**
 * Whether a test that needs `tool` is to be ignored: true where it is missing, and
 * then it prints why, unless the environment has CI=true: there the test runs and
 * fails, since CI installs the tool.
 */
export function ignoreWithout(tool: string | null, name: string, test: string): boolean {
  if (tool !== null) return false;
  if (Deno.env.get("CI") === "true") return false;
  console.log(
    `${test}: skipped, ${name} is not installed (apt-get install ${name}; under CI=true this fails)`,
  );
  return true;
}

/** Throws, for the test to fail, when `tool` is missing (under CI=true). */
export function requireTool(tool: string | null, name: string): string {
  if (tool === null) {
    throw new Error(`${name} is not installed; CI must install it (see .ci/run)`);
  }
  return tool;
}
