// tests/integration/node/imapflow_check.mjs — imapflow (a real Node IMAP
// client) driven by tests/integration/test_imap_clients.py. One mode per run,
// one JSON object per line on stdout; the Python test decides pass/fail.
//   idle                       open INBOX, start IDLE, print {"event":"ready"}, wait
//                              for the first 'exists' event (seen while idling), print it.
//   state                      print INBOX's uidValidity, highestModseq and UIDs.
//   changed UIDVALIDITY MODSEQ reconnect with QRESYNC (SELECT ... (QRESYNC (v m))):
//                              print the VANISHED UIDs and flag changes the SELECT
//                              brought, then FETCH 1:* (CHANGEDSINCE m).
// Connection from the environment: IMAP_HOST, IMAP_PORT (implicit TLS),
// IMAP_USER, IMAP_PASS, IMAP_CA (PEM the server certificate must chain to).
// Every run is bounded: it exits 3 after IMAP_TIMEOUT_MS (default 20000).
import fs from 'node:fs';
import { ImapFlow } from 'imapflow';

const out = obj => process.stdout.write(JSON.stringify(obj, (k, v) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
const timer = setTimeout(() => { out({ event: 'timeout' }); process.exit(3); },
    Number(process.env.IMAP_TIMEOUT_MS || 20000));

const [mode, uidValidity, modseq] = process.argv.slice(2);
const client = new ImapFlow({
    host: process.env.IMAP_HOST,
    port: Number(process.env.IMAP_PORT),
    secure: true,
    auth: { user: process.env.IMAP_USER, pass: process.env.IMAP_PASS },
    tls: { ca: [fs.readFileSync(process.env.IMAP_CA)] },
    qresync: mode === 'changed',
    disableCompression: !!process.env.IMAP_NOCOMPRESS,  // imapflow asks for COMPRESS=DEFLATE by itself
    // IMAP_DEBUG=1: imapflow's log (the IMAP dialogue) on stderr.
    logger: process.env.IMAP_DEBUG ? Object.fromEntries(['debug', 'info', 'warn', 'error'].map(
        level => [level, o => console.error(JSON.stringify(o))])) : false
});

const vanished = [];
const flagEvents = [];
client.on('expunge', e => vanished.push(e.uid ?? `seq:${e.seq}`));
client.on('flags', e => flagEvents.push({ uid: e.uid, flags: [...e.flags].sort() }));

await client.connect();
if (mode === 'idle') {
    const box = await client.mailboxOpen('INBOX');
    const seen = new Promise(resolve => client.on('exists', resolve));
    // IDLE now rather than after imapflow's own 15 s auto-IDLE delay; idle()
    // resolves only when IDLE ends, so wait for its flag (bounded by the timer).
    const idleDone = client.idle();
    while (!client.idling) await new Promise(r => setTimeout(r, 10));
    out({ event: 'ready', exists: box.exists });
    const e = await seen;
    out({ event: 'exists', count: e.count, prevCount: e.prevCount, idling: client.idling });
    await client.logout();  // ends the IDLE (DONE) and the session
    await idleDone;
    clearTimeout(timer);
    process.exit(0);
} else if (mode === 'state') {
    const box = await client.mailboxOpen('INBOX');
    const uids = [];
    for await (const m of client.fetch('1:*', { uid: true })) uids.push(m.uid);
    out({ uidValidity: box.uidValidity, highestModseq: box.highestModseq, uids });
} else if (mode === 'changed') {
    const box = await client.mailboxOpen('INBOX', { uidValidity, changedSince: BigInt(modseq) });
    const changed = [];
    for await (const m of client.fetch('1:*', { uid: true, flags: true }, { changedSince: BigInt(modseq) })) {
        changed.push({ uid: m.uid, flags: [...m.flags].sort(), modseq: m.modseq });
    }
    out({ qresync: !!box.qresync, enabled: [...client.enabled], vanished, flagEvents, changed,
          highestModseq: box.highestModseq, exists: box.exists });
} else {
    out({ error: `unknown mode ${mode}` });
    process.exitCode = 2;
}
await client.logout();
clearTimeout(timer);
