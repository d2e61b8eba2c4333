// Which addresses a webhook may reach. A webhook URL can be set by any API caller, so without this rule
// the sidecar would POST wherever it is told: its own admin ports on loopback, a cloud metadata service
// (169.254.169.254, fd00:ec2::254), or hosts on the private network behind it (SSRF). Special-purpose
// addresses are refused unless `webhookDelivery.allowAddresses` names them.
//
// The check runs on the address each connection actually uses: as the socket's `lookup` (net.connect
// calls it after the URL is chosen and before connecting), so a name that resolved to a public address
// when the analysis was created and to 127.0.0.1 now (DNS rebinding) is refused at delivery time. IP
// literals in the URL skip lookup in node:net, so delivery checks them itself with refusal().
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, type LookupFunction } from 'node:net';
import { parseAddressRange } from '../config/address-range.js';

/**
 * Special-purpose ranges (IANA IPv4 and IPv6 Special-Purpose Address Registries, RFC 6890), and what
 * each is called in a refusal. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match the IPv4 rules:
 * net.BlockList checks them against both families. NAT64 and 6to4 prefixes can carry any IPv4 address
 * inside them, a private one included, so they are refused whole.
 */
const SPECIAL_RANGES: ReadonlyArray<readonly [string, string]> = [
  ['0.0.0.0/8', 'an unspecified ("this network")'],
  ['10.0.0.0/8', 'a private'],
  ['100.64.0.0/10', 'a shared (carrier-grade NAT)'],
  ['127.0.0.0/8', 'a loopback'],
  ['169.254.0.0/16', 'a link-local (cloud metadata)'],
  ['172.16.0.0/12', 'a private'],
  ['192.0.0.0/24', 'an IETF protocol'],
  ['192.0.2.0/24', 'a documentation'],
  ['192.168.0.0/16', 'a private'],
  ['198.18.0.0/15', 'a benchmarking'],
  ['198.51.100.0/24', 'a documentation'],
  ['203.0.113.0/24', 'a documentation'],
  ['224.0.0.0/4', 'a multicast'],
  ['240.0.0.0/4', 'a reserved or broadcast'],
  ['::/128', 'an unspecified'],
  ['::1/128', 'a loopback'],
  ['64:ff9b::/96', 'a NAT64'],
  ['64:ff9b:1::/48', 'a NAT64'],
  ['100::/64', 'a discard-only'],
  ['2001:db8::/32', 'a documentation'],
  ['2002::/16', 'a 6to4'],
  ['fc00::/7', 'a unique-local (private)'],
  ['fe80::/10', 'a link-local'],
  ['fec0::/10', 'a site-local'],
  ['ff00::/8', 'a multicast'],
];

/** A connection refused by the policy, told apart from network errors by its class. */
export class WebhookAddressRefused extends Error {
  readonly code = 'WEBHOOK_ADDRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'WebhookAddressRefused';
  }
}

function blockListOf(range: string): BlockList {
  const parsed = parseAddressRange(range);
  if (!parsed) throw new Error(`invalid address range ${range}`);
  const list = new BlockList();
  list.addSubnet(parsed.address, parsed.prefix, parsed.family);
  return list;
}

const SPECIAL = SPECIAL_RANGES.map(([range, kind]) => ({ kind, list: blockListOf(range) }));

function familyOf(address: string): 'ipv4' | 'ipv6' {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/** dns.lookup with `all: true`; tests inject one whose answers change between calls (DNS rebinding). */
export type ResolveAll = (
  hostname: string,
  options: LookupOptions & { all: true },
  callback: (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void,
) => void;

export class WebhookAddressPolicy {
  private readonly allowed = new BlockList();

  /** `allowAddresses`: IPs and CIDR ranges (validated by the config schema). */
  constructor(
    allowAddresses: readonly string[] = [],
    private readonly resolveAll: ResolveAll = dnsLookup,
  ) {
    for (const text of allowAddresses) {
      const range = parseAddressRange(text);
      if (range) this.allowed.addSubnet(range.address, range.prefix, range.family);
    }
  }

  /**
   * Why a webhook may not connect to `address` (an IP), or undefined when it may; `hostname` is the
   * name it was resolved from, for the message.
   */
  refusal(address: string, hostname?: string): string | undefined {
    const family = familyOf(address);
    if (this.allowed.check(address, family)) return undefined;
    const special = SPECIAL.find((entry) => entry.list.check(address, family));
    if (!special) return undefined;
    const what = hostname
      ? `${hostname} resolves to ${address}, ${special.kind} address`
      : `${address} is ${special.kind} address`;
    return `${what}; webhooks may reach it only if webhookDelivery.allowAddresses (CANARY_JUDGE_WEBHOOK_ALLOW_ADDRESSES) names it`;
  }

  /**
   * dns.lookup for the webhook's socket: resolves every address of the name and refuses the connection
   * when any of them is refused, so no choice among the answers (Happy Eyeballs tries several) can reach one.
   */
  readonly lookup: LookupFunction = (hostname, options, callback) => {
    const all = (options as LookupOptions).all === true;
    this.resolveAll(hostname, { ...(options as LookupOptions), all: true }, (error, addresses) => {
      const answer = callback as (
        error: NodeJS.ErrnoException | null,
        address: string | LookupAddress[],
        family?: number,
      ) => void;
      if (error) return answer(error, all ? [] : '', 0);
      for (const { address } of addresses) {
        const refusal = this.refusal(address, hostname);
        if (refusal) return answer(new WebhookAddressRefused(refusal), all ? [] : '', 0);
      }
      if (all) return answer(null, addresses);
      const [first] = addresses;
      return answer(null, first.address, first.family);
    });
  };
}
