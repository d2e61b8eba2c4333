// An IP address or CIDR range as written in the config (`webhookDelivery.allowAddresses`): "127.0.0.1",
// "10.0.0.0/8", "::1", "fd00::/8". Parsed with node:net's own address checks; matching is net.BlockList's.
import { isIP } from 'node:net';

export interface AddressRange {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** The range `text` names, or undefined when it is not an address or address/prefix. */
export function parseAddressRange(text: string): AddressRange | undefined {
  const slash = text.indexOf('/');
  const address = (slash < 0 ? text : text.slice(0, slash)).trim();
  const version = isIP(address);
  if (version === 0) return undefined;
  const maxPrefix = version === 4 ? 32 : 128;
  let prefix = maxPrefix;
  if (slash >= 0) {
    const digits = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(digits)) return undefined;
    prefix = Number(digits);
    if (prefix > maxPrefix) return undefined;
  }
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}
