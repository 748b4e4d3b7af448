import { ackKindOf, ackKindOfRawBody } from '../../../src/slack/ack-kind';
import { blockActionsBody, slashCommandBody } from '../../support/slack-payloads';

const FORM = 'application/x-www-form-urlencoded';
const form = (payload: unknown) => new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

describe('ackKindOfRawBody', () => {
  it('reads a slash command from its form field', () => {
    expect(ackKindOfRawBody(slashCommandBody({ text: 'request sandbox-admin 1h' }), FORM)).toBe('command');
  });

  it('reads a button click from the payload type', () => {
    const body = blockActionsBody({ userId: 'U0LEAD', actionId: 'jit_approve', value: 'abcd1234' });
    expect(ackKindOfRawBody(body, FORM)).toBe('action');
  });

  it('reads modal submissions and closes as views', () => {
    expect(ackKindOfRawBody(form({ type: 'view_submission', view: { id: 'V1' } }), FORM)).toBe('view');
    expect(ackKindOfRawBody(form({ type: 'view_closed', view: { id: 'V1' } }), FORM)).toBe('view');
  });

  it('reads Events API callbacks from a JSON body', () => {
    const body = JSON.stringify({ type: 'event_callback', event: { type: 'app_mention' } });
    expect(ackKindOfRawBody(body, 'application/json')).toBe('event');
  });

  it('accepts a charset on the form content type', () => {
    expect(ackKindOfRawBody(slashCommandBody(), `${FORM}; charset=utf-8`)).toBe('command');
  });

  it.each([
    ['a shortcut', form({ type: 'shortcut', callback_id: 'x' }), FORM],
    ['a URL verification', JSON.stringify({ type: 'url_verification', challenge: 'c' }), 'application/json'],
    ['an ssl_check', 'ssl_check=1', FORM],
    ['a payload that is not JSON', 'payload=%7Bnot-json', FORM],
    ['a body that is not JSON', 'hello', 'application/json'],
    ['an empty body', '', undefined],
    ['a JSON scalar', '42', 'application/json'],
  ])('calls %s other, without throwing', (_what, body, contentType) => {
    expect(ackKindOfRawBody(body, contentType)).toBe('other');
  });
});

describe('ackKindOf (Socket Mode envelopes, already parsed)', () => {
  it.each([
    [{ command: '/jit', text: 'list' }, 'command'],
    [{ type: 'block_actions', actions: [] }, 'action'],
    [{ type: 'view_submission' }, 'view'],
    [{ type: 'event_callback', event: {} }, 'event'],
    [{ type: 'message_action' }, 'other'],
    [null, 'other'],
    ['payload', 'other'],
  ])('%j is %s', (body, kind) => {
    expect(ackKindOf(body)).toBe(kind);
  });
});
