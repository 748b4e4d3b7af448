import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { HTTPModuleFunctions, type SocketModeReceiver } from '@slack/bolt';
import type { AckKind, Metrics } from '../lib/metrics';
import { ackKindOf, ackKindOfRawBody } from './ack-kind';

// Durations use a monotonic timer, not the Clock port: a test's fixed clock would make every one of them 0.

/** Where acknowledgement latency goes. */
export type AckRecorder = Pick<Metrics, 'observeAckLatency'>;

/**
 * HTTP mode: from the request reaching the server to the response being finished, which is when Slack has its
 * acknowledgement (signature check and body reading included). The kind is read from the body Bolt buffered onto
 * the request, once the response is out.
 */
export function timeHttpAck(request: IncomingMessage, response: ServerResponse, acks: AckRecorder): void {
  const started = performance.now();
  response.once('finish', () => {
    const elapsed = performance.now() - started;
    const kind = HTTPModuleFunctions.isBufferedIncomingMessage(request)
      ? ackKindOfRawBody(request.rawBody.toString('utf8'), request.headers['content-type'])
      : 'other';
    acks.observeAckLatency(elapsed, kind);
  });
}

/** Envelopes never acknowledged (Bolt found no type) are forgotten past this many, oldest first. */
const MAX_UNACKED_ENVELOPES = 1_000;

/**
 * Socket Mode: from an envelope arriving to its acknowledgement going out over the socket, matched by envelope ID.
 * The start is taken in the receiver's `customPropertiesExtractor`, which Bolt calls for each envelope before
 * processing it; the end is the Socket Mode client's `outgoing_message` event, emitted as the ack is sent.
 */
export class SocketModeAckTimer {
  private readonly unacked = new Map<string, { started: number; kind: AckKind }>();

  constructor(private readonly acks: AckRecorder) {}

  /** For `SocketModeReceiverOptions.customPropertiesExtractor`: notes the envelope, adds nothing to the context. */
  readonly received = (envelope: { envelope_id?: unknown; body?: unknown }): Record<string, never> => {
    if (typeof envelope.envelope_id === 'string') {
      if (this.unacked.size >= MAX_UNACKED_ENVELOPES) {
        const [oldest] = this.unacked.keys();
        if (oldest !== undefined) this.unacked.delete(oldest);
      }
      this.unacked.set(envelope.envelope_id, { started: performance.now(), kind: ackKindOf(envelope.body) });
    }
    return {};
  };

  /** Observes the acknowledgements the receiver's Socket Mode client sends. */
  watch(client: SocketModeReceiver['client']): void {
    client.on('outgoing_message', (message: { envelope_id?: unknown }) => {
      if (typeof message.envelope_id !== 'string') return;
      const envelope = this.unacked.get(message.envelope_id);
      if (envelope === undefined) return;
      this.unacked.delete(message.envelope_id);
      this.acks.observeAckLatency(performance.now() - envelope.started, envelope.kind);
    });
  }
}
