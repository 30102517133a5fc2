// An ESME made with npm's smpp package, for interop tests of the engine's simulator.
// Usage: node client.js HOST PORT SYSTEM_ID PASSWORD COUNT [TIMEOUT_MS]
// Binds as transceiver, submits COUNT messages asking for receipts, waits for them,
// unbinds. Prints one JSON object per line on stdout.
'use strict';
const smpp = require('smpp');

const [host, port, systemId, password, countText, timeoutText] = process.argv.slice(2);
const count = Number(countText);
const log = (event) => process.stdout.write(JSON.stringify(event) + '\n');
const receipts = new Set();
const accepted = new Set();

const session = smpp.connect({ url: `smpp://${host}:${port}` });
const timer = setTimeout(() => { log({ event: 'timeout' }); process.exit(3); }, Number(timeoutText || 20000));

const finish = () => {
  session.unbind(() => {
    log({ event: 'unbound' });
    clearTimeout(timer);
    session.close();
  });
};

session.on('deliver_sm', (pdu) => {
  const receipt = (pdu.esm_class & 0x3c) === 0x04;
  const text = pdu.short_message && pdu.short_message.message !== undefined
    ? pdu.short_message.message : String(pdu.short_message);
  const id = pdu.receipted_message_id || (/id:(\S+)/i.exec(text) || [])[1];
  log({ event: 'deliver_sm', receipt, id, message_state: pdu.message_state, text });
  session.send(pdu.response());
  if (receipt) {
    receipts.add(id);
    if (receipts.size === count && accepted.size === count) finish();
  }
});
session.on('error', (err) => { log({ event: 'error', message: String(err) }); process.exit(2); });

session.bind_transceiver({ system_id: systemId, password }, (pdu) => {
  log({ event: 'bind_transceiver_resp', command_status: pdu.command_status, system_id: pdu.system_id });
  if (pdu.command_status !== 0) { process.exit(1); }
  for (let i = 0; i < count; i++) {
    session.submit_sm({
      source_addr: 'NPMTEST', source_addr_ton: 5,
      destination_addr: `4477009${String(i).padStart(5, '0')}`, dest_addr_ton: 1, dest_addr_npi: 1,
      registered_delivery: 1, short_message: Buffer.from(`interop message ${i}`),
    }, (resp) => {
      log({ event: 'submit_sm_resp', command_status: resp.command_status, message_id: resp.message_id });
      if (resp.command_status === 0) accepted.add(resp.message_id);
      if (receipts.size === count && accepted.size === count) finish();
    });
  }
});
