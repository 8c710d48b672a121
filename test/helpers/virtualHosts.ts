import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/**
 * Hosts of a test network, each a Linux network namespace of its own with one address, joined by a
 * switch: a bridge inside a namespace of its own, so the machine's firewall (br_netfilter, Docker's
 * FORWARD policy) never sees their traffic. The test process reaches every host from the switch's
 * uplink address. Only these addresses exist on the network; nothing routes anywhere else.
 *
 *   host namespaces ── eth0 (10.213.N.x) ─ veth ─┐
 *                                                 ├─ bridge (switch namespace) ─ veth ─ this process (10.213.N.254)
 */
export type VirtualHost = {
  name: string;
  /** The namespace, for `ip netns exec`. */
  namespace: string;
  address: string;
  /** Pulls the host's cable out (the switch port goes down): the host keeps running, unreachable. */
  cut(): void;
  /** Plugs it back in. */
  restore(): void;
};

export type VirtualHosts = {
  hosts: Record<string, VirtualHost>;
  /** This process's address on the network. */
  uplink: string;
  /** Removes every namespace and link made. */
  destroy(): void;
};

const PREFIX = "gtv";

function ip(args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
}

/** Why hosts cannot be made here, or undefined when they can (root, `ip`, network namespaces). */
export function virtualHostsUnavailable(): string | undefined {
  if (process.platform !== "linux") return "network namespaces are Linux only";
  if (process.getuid?.() !== 0) return "making network namespaces needs root";
  try {
    ip(["-V"]);
  } catch {
    return "the `ip` command (iproute2) is not installed";
  }
  const probe = `${PREFIX}${process.pid}probe`;
  try {
    ip(["netns", "add", probe]);
    ip(["netns", "del", probe]);
  } catch (error) {
    return `cannot make a network namespace: ${(error as { stderr?: string }).stderr?.trim() || (error as Error).message}`;
  }
  return undefined;
}

/** Namespaces left by a test run whose process is gone (killed before its cleanup ran). */
function removeLeftovers() {
  for (const line of ip(["netns", "list"]).split("\n")) {
    const name = line.split(" ")[0] ?? "";
    const owner = new RegExp(`^${PREFIX}(\\d+)-`).exec(name)?.[1];
    if (owner && !existsSync(`/proc/${owner}`)) ip(["netns", "del", name]);
  }
}

/** A /24 in 10.213.0.0/16 that no interface of this machine uses. */
function freeSubnet(): string {
  const used = ip(["-4", "-o", "addr"]) + readFileSync("/proc/net/route", "utf8");
  for (let tries = 0; tries < 200; tries++) {
    const n = 16 + ((process.pid + tries * 37) % 224);
    if (!used.includes(`10.213.${n}.`)) return `10.213.${n}`;
  }
  throw new Error("no free 10.213.N.0/24 subnet for the test hosts");
}

/**
 * Makes one namespace per name, with addresses `10.213.N.(10 + i)`, all on one switch. Call
 * `destroy` in the test's cleanup; a run killed before it is cleaned up by the next.
 */
export function createVirtualHosts(names: string[]): VirtualHosts {
  removeLeftovers();
  const subnet = freeSubnet();
  const tag = `${PREFIX}${process.pid}`;
  const made: string[] = [];
  const ns = (name: string) => `${tag}-${name}`;
  const inSwitch = (args: string[]) => ip(["-n", ns("switch"), ...args]);
  const destroy = () => {
    for (const namespace of made.reverse()) {
      try {
        ip(["netns", "del", namespace]);
      } catch {
        // already gone
      }
    }
    made.length = 0;
    try {
      ip(["link", "del", `${tag}u`]);
    } catch {
      // went with the switch namespace
    }
  };
  try {
    ip(["netns", "add", ns("switch")]);
    made.push(ns("switch"));
    inSwitch(["link", "add", "br0", "type", "bridge"]);
    inSwitch(["link", "set", "br0", "up"]);
    // The uplink: this process's side stays in the root namespace.
    ip(["link", "add", `${tag}u`, "type", "veth", "peer", "name", "up0", "netns", ns("switch")]);
    inSwitch(["link", "set", "up0", "master", "br0", "up"]);
    ip(["addr", "add", `${subnet}.254/24`, "dev", `${tag}u`]);
    ip(["link", "set", `${tag}u`, "up"]);
    const hosts: Record<string, VirtualHost> = {};
    names.forEach((name, i) => {
      const namespace = ns(name);
      const address = `${subnet}.${10 + i}`;
      const port = `p${i}`;
      ip(["netns", "add", namespace]);
      made.push(namespace);
      inSwitch(["link", "add", port, "type", "veth", "peer", "name", "eth0", "netns", namespace]);
      inSwitch(["link", "set", port, "master", "br0", "up"]);
      ip(["-n", namespace, "addr", "add", `${address}/24`, "dev", "eth0"]);
      ip(["-n", namespace, "link", "set", "eth0", "up"]);
      ip(["-n", namespace, "link", "set", "lo", "up"]);
      hosts[name] = {
        name,
        namespace,
        address,
        cut: () => inSwitch(["link", "set", port, "down"]),
        restore: () => inSwitch(["link", "set", port, "up"]),
      };
    });
    return { hosts, uplink: `${subnet}.254`, destroy };
  } catch (error) {
    destroy();
    throw error;
  }
}
