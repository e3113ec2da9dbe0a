import { createSocket } from 'node:dgram';
import { isIPv4, isIPv6 } from 'node:net';

export interface FakeDns {
  /** `127.0.0.1:<port>`, for `Resolver#setServers`. */
  server: string;
  /** Questions received, as `<name> <A|AAAA|…>`. */
  questions: string[];
  close(): Promise<void>;
}

const TYPE_A = 1;
const TYPE_AAAA = 28;

function ipv6Bytes(address: string): Buffer {
  const [head, tail] = address.includes('::') ? address.split('::') : [address, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array(8 - left.length - right.length).fill('0'), ...right];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(Number.parseInt(g || '0', 16), i * 2));
  return out;
}

/**
 * A DNS server on 127.0.0.1 (UDP) answering A and AAAA questions from `records`
 * (name → addresses): NXDOMAIN for unknown names, no answer at all for names in
 * `silent` (a server that never answers). Enough of RFC 1035 for c-ares.
 */
export async function startFakeDns(records: Record<string, string[]>, opts: { silent?: string[] } = {}): Promise<FakeDns> {
  const socket = createSocket('udp4');
  const questions: string[] = [];
  socket.on('message', (msg, peer) => {
    let offset = 12;
    const labels: string[] = [];
    while (msg[offset]! > 0) {
      labels.push(msg.subarray(offset + 1, offset + 1 + msg[offset]!).toString('ascii'));
      offset += msg[offset]! + 1;
    }
    const questionEnd = offset + 5;
    const type = msg.readUInt16BE(offset + 1);
    const name = labels.join('.').toLowerCase();
    questions.push(`${name} ${type === TYPE_A ? 'A' : type === TYPE_AAAA ? 'AAAA' : type}`);
    if (opts.silent?.includes(name)) return;
    const known = records[name];
    const addresses = (known ?? []).filter((a) => (type === TYPE_A ? isIPv4(a) : type === TYPE_AAAA ? isIPv6(a) : false));
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2); // id
    header.writeUInt16BE(known ? 0x8180 : 0x8183, 2); // response, recursion available; NXDOMAIN when unknown
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(addresses.length, 6);
    const answers = addresses.map((address) => {
      const rdata = type === TYPE_A ? Buffer.from(address.split('.').map(Number)) : ipv6Bytes(address);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0); // the question's name
      rr.writeUInt16BE(type, 2);
      rr.writeUInt16BE(1, 4); // IN
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    socket.send(Buffer.concat([header, msg.subarray(12, questionEnd), ...answers]), peer.port, peer.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    questions,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}
