// An SMSC made with npm's smpp package, for interop tests of the engine's ESME.
// Usage: node server.js PORT SYSTEM_ID PASSWORD
// Prints one JSON object per line on stdout: what it received and did.
'use strict';
const smpp = require('smpp');

const [port, systemId, password] = process.argv.slice(2);
let nextId = 1;
const log = (event) => process.stdout.write(JSON.stringify(event) + '\n');

const server = smpp.createServer((session) => {
  const bind = (pdu) => {
    const ok = pdu.system_id === systemId && pdu.password === password;
    log({ event: pdu.command, system_id: pdu.system_id, accepted: ok });
    if (!ok) {
      session.send(pdu.response({ command_status: smpp.ESME_RINVPASWD }));
      return;
    }
    session.send(pdu.response({ system_id: 'npm-smsc' }));
    // One mobile-originated message right after the bind.
    session.deliver_sm({
      source_addr: '447700900001',
      destination_addr: '5555',
      short_message: Buffer.from('MO from npm smpp'),
    }, (resp) => log({ event: 'deliver_sm_resp', kind: 'mo', command_status: resp.command_status }));
  };
  session.on('bind_transceiver', bind);
  session.on('bind_transmitter', bind);
  session.on('submit_sm', (pdu) => {
    const messageId = `npm${nextId++}`;
    const text = pdu.short_message && pdu.short_message.message !== undefined
      ? pdu.short_message.message : String(pdu.short_message);
    log({
      event: 'submit_sm', message_id: messageId, source_addr: pdu.source_addr,
      destination_addr: pdu.destination_addr, text, data_coding: pdu.data_coding,
      registered_delivery: pdu.registered_delivery,
    });
    session.send(pdu.response({ message_id: messageId }));
    if (pdu.registered_delivery & 1) {
      session.deliver_sm({
        source_addr: pdu.destination_addr,
        destination_addr: pdu.source_addr,
        esm_class: 4,
        short_message: Buffer.from(
          `id:${messageId} sub:001 dlvrd:001 submit date:2611231200 done date:2611231201 stat:DELIVRD err:000 text:x`),
        receipted_message_id: messageId,
        message_state: 2,
      }, (resp) => log({ event: 'deliver_sm_resp', kind: 'receipt', command_status: resp.command_status }));
    }
  });
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => {
    log({ event: 'unbind' });
    session.send(pdu.response());
    session.close();
  });
  session.on('error', (err) => log({ event: 'error', message: String(err) }));
});

server.listen(Number(port), '127.0.0.1', () => log({ event: 'listening', port: server.address().port }));
