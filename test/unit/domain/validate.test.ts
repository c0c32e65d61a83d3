import { describe, expect, it } from 'vitest';
import { createVocabulary, DEFAULT_CHANNELS, DEFAULT_SEGMENTS } from '../../../src/domain/catalog.js';
import { compileChannelRules, type ChannelRules } from '../../../src/domain/channel-rules.js';
import {
  textOf,
  validateContact,
  validateOpportunity,
  validateRate,
  validateTouch,
  type RawRecord,
  type Vocabularies,
} from '../../../src/domain/validate.js';

const vocab: Vocabularies = {
  channels: createVocabulary(DEFAULT_CHANNELS),
  segments: createVocabulary(DEFAULT_SEGMENTS),
};
const BASE = Date.UTC(2021, 4, 10, 22, 25, 39);

const goodTouch: RawRecord = {
  touchpoint_id: 'MKv1P00000nHMTPQA4ID',
  contact_id: 'CO31P000019SishQACID',
  channel: 'Adwords',
  occurred_at: '2021-05-10T22:25:39Z',
};

const goodOpportunity: RawRecord = {
  opportunity_id: 'DE64p00000VvWsVAAVHW',
  account_id: 'AC11P0000144YpIQAUID',
  amount: '15764.33121',
  created_at: '2021-05-10T22:25:39Z',
  sales_segment: 'Commercial',
};

describe('textOf', () => {
  it.each([
    [undefined, null],
    [null, null],
    ['', null],
    ['   ', null],
    ['null', null],
    ['NULL', null],
    [' Null ', null],
    ['nullable', 'nullable'],
    ['  x  ', 'x'],
  ])('reads %j as %j', (value, expected) => {
    expect(textOf(value === undefined ? {} : { f: value }, 'f')).toBe(expected);
  });
});

describe('validateTouch', () => {
  it('accepts a well-formed touch', () => {
    expect(validateTouch(goodTouch, 'marketing', vocab)).toEqual({
      ok: true,
      value: {
        id: 'MKv1P00000nHMTPQA4ID',
        contactId: 'CO31P000019SishQACID',
        channel: 'Adwords',
        occurredAt: BASE,
        source: 'marketing',
      },
    });
  });

  it.each([
    ['missing contact', { contact_id: undefined }, 'missing_contact', 'contact_id'],
    ['null contact', { contact_id: null }, 'missing_contact', 'contact_id'],
    ['literal "null" contact', { contact_id: 'null' }, 'missing_contact', 'contact_id'],
    ['empty contact', { contact_id: '  ' }, 'missing_contact', 'contact_id'],
    ['missing touchpoint id', { touchpoint_id: undefined }, 'missing_field', 'touchpoint_id'],
    ['unknown channel text', { channel: 'Carrier Pigeon' }, 'unknown_channel', 'channel'],
    ['channel with a typo', { channel: 'Adword' }, 'unknown_channel', 'channel'],
    ['missing date', { occurred_at: 'null' }, 'missing_field', 'occurred_at'],
    ['invalid date', { occurred_at: '2021-02-30T00:00:00Z' }, 'invalid_date', 'occurred_at'],
    ['date without zone', { occurred_at: '2021-05-10T22:25:39' }, 'invalid_date', 'occurred_at'],
    ['garbage date', { occurred_at: 'yesterday' }, 'invalid_date', 'occurred_at'],
  ])('rejects a touch with %s (%o) as %s on %s', (_label, patch, reason, field) => {
    const result = validateTouch({ ...goodTouch, ...patch }, 'sales', vocab);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.rejection.reason).toBe(reason);
      expect(result.rejection.field).toBe(field);
      expect(result.rejection.detail).not.toBe('');
    }
  });

  it.each([
    ['ADWORDS', 'Adwords'],
    ['adwords', 'Adwords'],
    ['  Adwords  ', 'Adwords'],
    ['WEBINAR', 'Webinar'],
    ['paid social', 'Paid Social'],
    ['paid-social', 'Paid Social'],
    ['Paid_Social', 'Paid Social'],
    ['PaidSocial', 'Paid Social'],
    ['organic  search', 'Organic Search'],
  ])('accepts channel spelling %j as canonical %j', (spelling, canonical) => {
    const result = validateTouch({ ...goodTouch, channel: spelling }, 'marketing', vocab);
    expect(result).toMatchObject({ ok: true, value: { channel: canonical } });
  });

  it('tags the touch with the source it came from', () => {
    expect(validateTouch({ ...goodTouch, channel: 'Outbound' }, 'sales', vocab)).toMatchObject({
      ok: true,
      value: { source: 'sales' },
    });
  });
});

describe('validateContact', () => {
  it.each([
    [
      { contact_id: 'C1', account_id: 'A1' },
      { id: 'C1', accountId: 'A1', version: 0 },
    ],
    [
      { contact_id: 'C1', account_id: 'null' },
      { id: 'C1', accountId: null, version: 0 },
    ],
    [
      { contact_id: 'C1', account_id: null },
      { id: 'C1', accountId: null, version: 0 },
    ],
    [
      { contact_id: 'C1', account_id: 'A1', updated_at: '2021-05-10T22:25:39Z' },
      { id: 'C1', accountId: 'A1', version: BASE },
    ],
    [
      { contact_id: 'C1', account_id: 'A1', updated_at: '' },
      { id: 'C1', accountId: 'A1', version: 0 },
    ],
  ])('accepts %j', (raw, value) => {
    expect(validateContact(raw)).toEqual({ ok: true, value });
  });

  it.each([
    ['missing contact id', { account_id: 'A1' }, 'missing_contact', 'contact_id'],
    [
      'literal "null" contact id (the challenge row null,null)',
      { contact_id: 'null', account_id: 'null' },
      'missing_contact',
      'contact_id',
    ],
    [
      'invalid version',
      { contact_id: 'C1', account_id: 'A1', updated_at: 'soon' },
      'invalid_date',
      'updated_at',
    ],
  ])('rejects a contact with %s (%o) as %s on %s', (_label, raw, reason, field) => {
    expect(validateContact(raw)).toMatchObject({ ok: false, rejection: { reason, field } });
  });
});

describe('validateOpportunity', () => {
  it('accepts a well-formed opportunity with its exact amount', () => {
    expect(validateOpportunity(goodOpportunity, vocab)).toEqual({
      ok: true,
      value: {
        kind: 'opportunity',
        opportunity: {
          id: 'DE64p00000VvWsVAAVHW',
          accountId: 'AC11P0000144YpIQAUID',
          amount: 15_764_331_210_000n,
          createdAt: BASE,
          segment: 'Commercial',
          version: 0,
        },
      },
    });
  });

  it.each([
    ['mid-market', 'Mid Market'],
    ['MID MARKET', 'Mid Market'],
    ['Mid_Market', 'Mid Market'],
    ['midmarket', 'Mid Market'],
    ['enterprise', 'Enterprise'],
    [' Commercial ', 'Commercial'],
  ])('accepts segment spelling %j as canonical %j', (spelling, canonical) => {
    const result = validateOpportunity({ ...goodOpportunity, sales_segment: spelling }, vocab);
    expect(result).toMatchObject({
      ok: true,
      value: { kind: 'opportunity', opportunity: { segment: canonical } },
    });
  });

  it.each([
    ['missing id', { opportunity_id: 'null' }, 'missing_field', 'opportunity_id'],
    ['missing account', { account_id: '' }, 'missing_field', 'account_id'],
    ['missing amount', { amount: null }, 'missing_field', 'amount'],
    ['negative amount', { amount: '-5.25' }, 'negative_amount', 'amount'],
    ['non-numeric amount', { amount: 'twelve' }, 'invalid_amount', 'amount'],
    ['exponent amount', { amount: '1e5' }, 'invalid_amount', 'amount'],
    ['amount with 10 decimals', { amount: '1.0000000001' }, 'invalid_amount', 'amount'],
    ['invalid date', { created_at: '2021-02-30T10:00:00Z' }, 'invalid_date', 'created_at'],
    ['date without zone', { created_at: '2021-05-10 22:25:39' }, 'invalid_date', 'created_at'],
    ['missing date', { created_at: undefined }, 'missing_field', 'created_at'],
    ['unknown segment', { sales_segment: 'SMB' }, 'unknown_segment', 'sales_segment'],
    ['missing segment', { sales_segment: 'null' }, 'missing_field', 'sales_segment'],
    ['invalid version', { updated_at: '2021-13-01T00:00:00Z' }, 'invalid_date', 'updated_at'],
  ])('rejects an opportunity with %s (%o) as %s on %s', (_label, patch, reason, field) => {
    const result = validateOpportunity({ ...goodOpportunity, ...patch }, vocab);
    expect(result).toMatchObject({ ok: false, rejection: { reason, field } });
  });

  it('reads a deleted opportunity record as a deletion at its version, needing no other field', () => {
    expect(
      validateOpportunity(
        { opportunity_id: 'O1', deleted: 'true', updated_at: '2021-05-10T22:25:39Z' },
        vocab,
      ),
    ).toEqual({
      ok: true,
      value: { kind: 'opportunity-deleted', deletion: { id: 'O1', version: BASE } },
    });
    expect(validateOpportunity({ ...goodOpportunity, deleted: 'true' }, vocab)).toEqual({
      ok: true,
      value: { kind: 'opportunity-deleted', deletion: { id: 'DE64p00000VvWsVAAVHW', version: 0 } },
    });
  });

  it('reads deleted=false as a live opportunity', () => {
    expect(validateOpportunity({ ...goodOpportunity, deleted: 'false' }, vocab)).toMatchObject({
      ok: true,
      value: { kind: 'opportunity' },
    });
  });

  it('rejects a deletion without an id', () => {
    expect(validateOpportunity({ deleted: 'true' }, vocab)).toMatchObject({
      ok: false,
      rejection: { reason: 'missing_field', field: 'opportunity_id' },
    });
  });
});

// Found by test/fuzz/validation.test.ts: NUL in ids (which Postgres text/jsonb cannot hold) was
// accepted, and details quoted offending text whole (a 1 MB channel made a 1 MB DLQ header).
describe('hostile text', () => {
  it.each([
    ['touchpoint_id', () => validateTouch({ ...goodTouch, touchpoint_id: 'T\u00001' }, 'marketing', vocab)],
    ['contact_id', () => validateTouch({ ...goodTouch, contact_id: 'C\u0000' }, 'marketing', vocab)],
    ['contact_id', () => validateContact({ contact_id: '\u0000', account_id: 'A1' })],
    ['account_id', () => validateContact({ contact_id: 'C1', account_id: 'A\u00001' })],
    ['opportunity_id', () => validateOpportunity({ ...goodOpportunity, opportunity_id: 'O\u0000' }, vocab)],
    ['account_id', () => validateOpportunity({ ...goodOpportunity, account_id: 'A\u0000' }, vocab)],
  ])('refuses a NUL in %s, naming the field', (field, validate) => {
    const result = validate();
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection).toMatchObject({ reason: 'malformed_record', field });
    expect(result.rejection.detail).toContain(`${field} "`);
    expect(result.rejection.detail).toContain('\\u0000');
  });

  it('quotes a megabyte of offending text as its first characters and its length', () => {
    const result = validateTouch({ ...goodTouch, channel: `W${'x'.repeat(1 << 20)}` }, 'marketing', vocab);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.rejection.reason).toBe('unknown_channel');
    expect(result.rejection.detail).toMatch(
      /^channel "Wx+"… \(1048577 characters\) is not a known channel \(nor mapped by a rule\)$/,
    );
    expect(result.rejection.detail.length).toBeLessThan(200);
  });

  it('shows control characters in a detail escaped', () => {
    const result = validateTouch({ ...goodTouch, occurred_at: '2021-05-10\u0007' }, 'marketing', vocab);
    expect(result.ok ? null : result.rejection.detail).toBe(
      'occurred_at "2021-05-10\\u0007" is not an ISO-8601 UTC instant',
    );
  });
});

describe('createVocabulary', () => {
  const channels = createVocabulary(DEFAULT_CHANNELS);

  it.each([
    ['ADWORDS', 'Adwords'],
    ['outbound', 'Outbound'],
    ['ORGANIC-SEARCH', 'Organic Search'],
    ['Carrier Pigeon', null],
    ['', null],
    ['Unattributed', null], // the catch-all is not an input channel
  ])('resolves %j to %j', (text, canonical) => {
    expect(channels.resolve(text)).toBe(canonical);
  });

  it('keeps the names in the order given', () => {
    expect(createVocabulary(['B', 'A']).names).toEqual(['B', 'A']);
  });
});

describe('channel resolution (SPEC "Channel resolution, in order")', () => {
  const rules: ChannelRules = {
    version: 'v-test',
    channels: ['Paid Search'],
    rules: [
      {
        name: 'pigeon text',
        channel: 'Event',
        when: { channel: [{ kind: 'exact', value: 'carrier pigeon' }] },
      },
      {
        name: 'google cpc',
        channel: 'Adwords',
        when: {
          utm_source: [{ kind: 'exact', value: 'google' }],
          utm_medium: [{ kind: 'exact', value: 'cpc' }],
        },
      },
      {
        name: 'any cpc',
        channel: 'Paid Search',
        when: { utm_medium: [{ kind: 'wildcard', value: '*cpc' }] },
      },
      {
        name: 'by campaign name',
        channel: 'Webinar',
        when: { campaign_name: [{ kind: 'regex', value: '^webinar' }] },
      },
    ],
  };
  const channels = createVocabulary([...DEFAULT_CHANNELS, 'Paid Search']);
  const withRules: Vocabularies = {
    channels,
    segments: vocab.segments,
    channelRules: compileChannelRules(rules, channels),
  };
  const touch = (patch: RawRecord) => validateTouch({ ...goodTouch, ...patch }, 'marketing', withRules);

  it.each([
    [
      '(1) a known channel, loosely spelt',
      { channel: 'ADWORDS', utm_medium: 'cpc', utm_source: 'bing' },
      'Adwords',
    ],
    ['(2) unknown text a channel rule maps', { channel: 'Carrier Pigeon' }, 'Event'],
    [
      '(3) no channel: the first matching rule',
      { channel: null, utm_source: 'Google', utm_medium: 'CPC' },
      'Adwords',
    ],
    [
      '(3) no channel: a later rule when the first does not match',
      { channel: '', utm_source: 'bing', utm_medium: 'cpc' },
      'Paid Search',
    ],
    ['(3) campaign_name by regex', { channel: 'null', campaign_name: 'Webinar-2024-03' }, 'Webinar'],
    ['(4) no channel, no rule matches', { channel: null, utm_source: 'newsletter' }, 'Unassigned'],
    ['(4) no channel and no tags at all', { channel: null }, 'Unassigned'],
  ])('%s → %s', (_label, patch, channel) => {
    const result = touch(patch);
    expect(result.ok ? result.value.channel : result.rejection).toBe(channel);
  });

  it('(2) unknown text no rule maps is unknown_channel, even when its UTM fields would match a rule', () => {
    const result = touch({ channel: 'Smoke Signals', utm_source: 'google', utm_medium: 'cpc' });
    expect(result.ok ? null : [result.rejection.reason, result.rejection.field]).toEqual([
      'unknown_channel',
      'channel',
    ]);
  });

  it('keeps the campaign and UTM fields; the campaign is the id, else the name, else utm_campaign', () => {
    const tagged = touch({ channel: 'Email', campaign_name: 'Spring', utm_campaign: 'spr', utm_source: 'x' });
    expect(tagged.ok && tagged.value).toEqual({
      id: 'MKv1P00000nHMTPQA4ID',
      contactId: 'CO31P000019SishQACID',
      channel: 'Email',
      occurredAt: BASE,
      source: 'marketing',
      campaign: 'Spring',
      tags: {
        campaign_id: null,
        campaign_name: 'Spring',
        utm_source: 'x',
        utm_medium: null,
        utm_campaign: 'spr',
      },
    });
    const byId = touch({ campaign_id: 'C-9', campaign_name: 'Spring' });
    expect(byId.ok && byId.value.campaign).toBe('C-9');
    const byUtm = touch({ utm_campaign: 'spr' });
    expect(byUtm.ok && byUtm.value.campaign).toBe('spr');
  });

  it('a touch without any tag is the same object as before tags existed (no campaign, no tags key)', () => {
    const plain = touch({});
    expect(plain.ok && Object.keys(plain.value).sort()).toEqual([
      'channel',
      'contactId',
      'id',
      'occurredAt',
      'source',
    ]);
  });

  it('refuses a tag holding a NUL as malformed, naming the field', () => {
    const result = touch({ utm_source: 'a\u0000b' });
    expect(result.ok ? null : [result.rejection.reason, result.rejection.field]).toEqual([
      'malformed_record',
      'utm_source',
    ]);
  });
});

describe('validateOpportunity: currency', () => {
  it.each([
    ['eur', 'EUR'],
    [' USD ', 'USD'],
    ['JPY', 'JPY'],
  ])('keeps %j as the ISO 4217 code %s', (text, code) => {
    const result = validateOpportunity({ ...goodOpportunity, currency: text }, vocab);
    expect(result.ok && result.value.kind === 'opportunity' && result.value.opportunity.currency).toBe(code);
  });

  it('leaves the currency out when the record has none (the reporting currency applies)', () => {
    const result = validateOpportunity({ ...goodOpportunity, currency: 'null' }, vocab);
    expect(result.ok && result.value.kind === 'opportunity' && 'currency' in result.value.opportunity).toBe(
      false,
    );
  });

  it.each(['EURO', 'E', 'ABC', '€'])('refuses %j as unknown_currency', (text) => {
    const result = validateOpportunity({ ...goodOpportunity, currency: text }, vocab);
    expect(result.ok ? null : [result.rejection.reason, result.rejection.field]).toEqual([
      'unknown_currency',
      'currency',
    ]);
  });
});

describe('validateRate', () => {
  it('reads a row exactly: 1.0842 is 1 084 200 000 000 at scale 10^12', () => {
    expect(validateRate({ date: '2024-03-14', currency: 'eur', rate: '1.0842' })).toEqual({
      ok: true,
      value: { date: '2024-03-14', currency: 'EUR', rate: 1_084_200_000_000n },
    });
  });

  it.each([
    [{ date: '2024-02-30', currency: 'EUR', rate: '1' }, 'invalid_date', 'date'],
    [{ date: '14/03/2024', currency: 'EUR', rate: '1' }, 'invalid_date', 'date'],
    [{ date: null, currency: 'EUR', rate: '1' }, 'missing_field', 'date'],
    [{ date: '2024-03-14', currency: 'EURO', rate: '1' }, 'unknown_currency', 'currency'],
    [{ date: '2024-03-14', currency: 'EUR', rate: '0' }, 'invalid_rate', 'rate'],
    [{ date: '2024-03-14', currency: 'EUR', rate: '-1.1' }, 'invalid_rate', 'rate'],
    [{ date: '2024-03-14', currency: 'EUR', rate: '1.0000000000001' }, 'invalid_rate', 'rate'],
    [{ date: '2024-03-14', currency: 'EUR', rate: '1e3' }, 'invalid_rate', 'rate'],
    [{ date: '2024-03-14', currency: 'EUR', rate: '' }, 'missing_field', 'rate'],
  ])('refuses %j as %s on %s', (raw, reason, field) => {
    const result = validateRate(raw);
    expect(result.ok ? null : [result.rejection.reason, result.rejection.field]).toEqual([reason, field]);
  });
});
