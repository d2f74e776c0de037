// The part of smpp@0.5.1 (CommonJS, untyped) that Lookout uses: client and server sessions and PDUs.

declare module 'smpp' {
  import type { EventEmitter } from 'node:events';
  import type { Server as NetServer } from 'node:net';

  namespace smpp {
    type PduOptions = Record<string, unknown>;
    type PduCallback = (pdu: PDU) => void;

    /**
     * A PDU: header fields plus the command's params and TLVs by name. On decode the library
     * turns short_message / message_payload into `{ udh?: Buffer[]; message: string | Buffer }`.
     */
    class PDU {
      constructor(command: string, options?: PduOptions);
      command: string;
      command_id: number;
      command_status: number;
      sequence_number: number;
      [field: string]: unknown;
      isResponse(): boolean;
      response(options?: PduOptions): PDU;
    }

    /** One SMPP connection. Emits 'connect', 'close', 'error', 'pdu' and one event per command name. */
    class Session extends EventEmitter {
      readonly socket: import('node:net').Socket;
      /** False when the socket is not writable (nothing was sent). */
      send(pdu: PDU, responseCallback?: PduCallback, sendCallback?: PduCallback): boolean;
      close(callback?: () => void): void;
      destroy(callback?: () => void): void;
      bind_transceiver(options: PduOptions, responseCallback?: PduCallback): boolean;
      submit_sm(options: PduOptions, responseCallback?: PduCallback): boolean;
      deliver_sm(options: PduOptions, responseCallback?: PduCallback): boolean;
      enquire_link(options: PduOptions, responseCallback?: PduCallback): boolean;
      unbind(options: PduOptions, responseCallback?: PduCallback): boolean;
    }

    class Server extends NetServer {
      /** Open sessions; a session removes itself when its socket closes. */
      readonly sessions: Session[];
    }

    function connect(options: { host: string; port: number }): Session;
    function createServer(options: Record<string, unknown>, sessionListener: (session: Session) => void): Server;

    const ESME_ROK: number;
    const ESME_RINVBNDSTS: number;
    const ESME_RBINDFAIL: number;
  }

  export = smpp;
}
