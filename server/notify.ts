/**
 * {@linkcode Notifier}: tells systemd (`Type=notify`) that the server is ready or
 * stopping, as `sd_notify(3)` does: one datagram to the Unix socket named by
 * `$NOTIFY_SOCKET`.
 *
 * Deno 2.9 sends Unix datagrams only from a bound socket, with `--unstable-net`
 * (`Deno.listenDatagram({ transport: "unixpacket" })`). So each notification binds a
 * temporary socket beside the server's own socket (`<socket>.tmp`), sends from it,
 * then closes and removes it. That needs, besides `--unstable-net`:
 * `--allow-env=NOTIFY_SOCKET`; read, write and `--allow-net=unix:` on `<socket>.tmp`;
 * write and `--allow-net=unix:` on `$NOTIFY_SOCKET` (`/run/systemd/notify` for system
 * services). An abstract `$NOTIFY_SOCKET` (`@name`) cannot be named in a scoped
 * permission: it needs unscoped `--allow-net`.
 *
 * @module
 */

/** The datagram connection Deno's unstable `listenDatagram` returns. */
interface DatagramConn {
  send(
    data: Uint8Array,
    addr: { transport: "unixpacket"; path: string },
  ): Promise<number>;
  close(): void;
}

type ListenDatagram = (
  options: { transport: "unixpacket"; path: string },
) => DatagramConn;

/**
 * Sends systemd notifications (`READY=1`, `STOPPING=1`) to `$NOTIFY_SOCKET`.
 *
 * @example
 * Not run as a doc test: it needs `--unstable-net` and systemd's `$NOTIFY_SOCKET`.
 * ```ts ignore
 * import { Notifier } from "./notify.ts";
 * const notifier = await Notifier.create("/run/offlog/offlog.sock.tmp");
 * await notifier?.send("READY=1");
 * ```
 */
export class Notifier {
  /** Where the notifications go, as `$NOTIFY_SOCKET` gave it. */
  readonly target: string;
  #address: string;
  #scratch: string;
  #listen: ListenDatagram;

  private constructor(
    target: string,
    address: string,
    scratch: string,
    listen: ListenDatagram,
  ) {
    this.target = target;
    this.#address = address;
    this.#scratch = scratch;
    this.#listen = listen;
  }

  /**
   * Reads `$NOTIFY_SOCKET` and checks that Deno grants what sending to it needs, so
   * that a misconfigured service fails at start rather than timing out.
   *
   * @param scratch The path of the temporary socket to send from.
   * @returns The notifier, or `null` when `$NOTIFY_SOCKET` is not set (the server
   * was not started by systemd with `Type=notify`).
   * @throws {Error} A permission or `--unstable-net` is missing; the message names
   * the flag.
   */
  static async create(scratch: string): Promise<Notifier | null> {
    let target: string | undefined;
    try {
      target = Deno.env.get("NOTIFY_SOCKET");
    } catch (error) {
      throw new Error("--notify needs Deno's --allow-env=NOTIFY_SOCKET", {
        cause: error,
      });
    }
    if (target === undefined || target === "") return null;
    const listen =
      (Deno as unknown as { listenDatagram?: ListenDatagram }).listenDatagram;
    if (typeof listen !== "function") {
      throw new Error(
        "--notify needs Deno's --unstable-net (for Deno.listenDatagram, to send to $NOTIFY_SOCKET)",
      );
    }
    const abstract = target.startsWith("@");
    const missing = new Map<string, string[]>();
    const need = async (descriptor: Deno.PermissionDescriptor, value: string) => {
      if ((await Deno.permissions.query(descriptor)).state === "granted") return;
      const flag = `--allow-${descriptor.name}`;
      missing.set(flag, [...missing.get(flag) ?? [], value]);
    };
    if (abstract) await need({ name: "net" }, `(unscoped: ${target} is abstract)`);
    await need({ name: "read", path: scratch }, scratch);
    await need({ name: "write", path: scratch }, scratch);
    if (!missing.has("--allow-net")) {
      await need({ name: "net", host: `unix:${scratch}` }, `unix:${scratch}`);
    }
    if (!abstract) {
      await need({ name: "write", path: target }, target);
      await need({ name: "net", host: `unix:${target}` }, `unix:${target}`);
    }
    if (missing.size > 0) {
      const flags = [...missing].map(([flag, values]) =>
        values[0]!.startsWith("(")
          ? `${flag} ${values[0]}`
          : `${flag}=${values.join(",")}`
      );
      throw new Error(`--notify needs Deno's ${flags.join(" ")}`);
    }
    const address = abstract ? `\0${target.slice(1)}` : target;
    return new Notifier(target, address, scratch, listen);
  }

  /**
   * Sends one notification, e.g. `READY=1` or `STOPPING=1`, newline-separated
   * assignments as `sd_notify(3)` takes them.
   *
   * @param state The assignments.
   * @returns A promise that resolves once the datagram is sent.
   * @throws What binding the temporary socket or sending throws.
   */
  async send(state: string): Promise<void> {
    await removeStale(this.#scratch);
    const conn = this.#listen({ transport: "unixpacket", path: this.#scratch });
    try {
      await conn.send(new TextEncoder().encode(state), {
        transport: "unixpacket",
        path: this.#address,
      });
    } finally {
      conn.close();
      await removeStale(this.#scratch);
    }
  }
}

/** Removes a socket file left at `path`; anything else there is left alone. */
async function removeStale(path: string): Promise<void> {
  try {
    if ((await Deno.lstat(path)).isSocket) await Deno.remove(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
