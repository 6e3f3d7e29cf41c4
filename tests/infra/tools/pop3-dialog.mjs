// Tiny scripted POP3 client for the smoke test (no dependencies).
//
//   node pop3-dialog.mjs --port 995 [--host 127.0.0.1] (--tls | --stls | --plain) [--ca ca.pem]
//                        [--servername localhost] -- "CAPA" "AUTH XOAUTH2" "<base64>" "STAT" "QUIT"
//
// Each argument after "--" is one line sent to the server; after each line the reply is read
// (multi-line for CAPA / LIST / UIDL / RETR / TOP without errors). "--stls" sends STLS first and
// upgrades. Prints a transcript ("S: ..." / "C: ...") on stdout. Exit 0 when the dialog ran to the
// end (whatever the replies), 2 on connection/TLS errors or timeouts.
import net from 'node:net';
import tls from 'node:tls';
import fs from 'node:fs';

const argv = process.argv.slice(2);
const opts = { host: '127.0.0.1', port: 0, mode: 'tls', ca: '', servername: 'localhost', timeout: 10000 };
const lines = [];
for (let i = 0; i < argv.length; i += 1) {
  const a = argv[i];
  if (a === '--') { lines.push(...argv.slice(i + 1)); break; }
  if (a === '--host') opts.host = argv[++i];
  else if (a === '--port') opts.port = Number(argv[++i]);
  else if (a === '--tls') opts.mode = 'tls';
  else if (a === '--stls') opts.mode = 'stls';
  else if (a === '--plain') opts.mode = 'plain';
  else if (a === '--ca') opts.ca = argv[++i];
  else if (a === '--servername') opts.servername = argv[++i];
  else if (a === '--timeout') opts.timeout = Number(argv[++i]);
  else { console.error(`unknown argument ${a}`); process.exit(2); }
}

const tlsOptions = () => ({
  servername: opts.servername,
  ca: opts.ca ? fs.readFileSync(opts.ca) : undefined,
  rejectUnauthorized: true,
});

let sock;
let buf = '';
let waiter = null;

function attach(s) {
  s.setEncoding('latin1');
  s.on('data', (d) => { buf += d; if (waiter) waiter(); });
  s.on('error', (e) => { console.log(`E: ${e.code || ''} ${e.message}`); process.exit(2); });
  s.on('close', () => { if (waiter) waiter(true); });
}

function readLine() {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { waiter = null; reject(new Error('timeout waiting for server')); }, opts.timeout);
    const check = (closed) => {
      const i = buf.indexOf('\r\n');
      if (i >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 2);
        clearTimeout(timer); waiter = null; resolve(line);
      } else if (closed) {
        clearTimeout(timer); waiter = null; reject(new Error('connection closed'));
      }
    };
    waiter = check;
    check(false);
  });
}

async function readReply(multi) {
  const first = await readLine();
  console.log(`S: ${first}`);
  if (multi && first.startsWith('+OK')) {
    for (;;) {
      const l = await readLine();
      console.log(`S: ${l}`);
      if (l === '.') break;
    }
  }
  return first;
}

function send(line) {
  console.log(`C: ${line}`);
  sock.write(`${line}\r\n`);
}

async function main() {
  if (opts.mode === 'tls') {
    sock = tls.connect({ host: opts.host, port: opts.port, ...tlsOptions() });
    await new Promise((res) => sock.once('secureConnect', res));
    console.log(`T: TLS ${sock.getProtocol()} authorized=${sock.authorized}`);
  } else {
    sock = net.connect({ host: opts.host, port: opts.port });
    await new Promise((res) => sock.once('connect', res));
  }
  attach(sock);
  await readReply(false); // greeting

  if (opts.mode === 'stls') {
    send('STLS');
    const r = await readReply(false);
    if (!r.startsWith('+OK')) process.exit(2);
    sock.removeAllListeners('data');
    const plain = sock;
    sock = tls.connect({ socket: plain, ...tlsOptions() });
    await new Promise((res) => sock.once('secureConnect', res));
    console.log(`T: TLS ${sock.getProtocol()} authorized=${sock.authorized}`);
    buf = '';
    attach(sock);
  }

  for (const line of lines) {
    const cmd = line.split(' ')[0].toUpperCase();
    const hasArg = line.trim().includes(' ');
    const multi = cmd === 'CAPA' || cmd === 'RETR' || cmd === 'TOP' || ((cmd === 'LIST' || cmd === 'UIDL') && !hasArg);
    send(line);
    await readReply(multi);
  }
  sock.end();
}

main().then(() => process.exit(0), (e) => { console.log(`E: ${e.message}`); process.exit(2); });
