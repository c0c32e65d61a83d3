import { describe, expect, it } from 'vitest';
import { createVocabulary, DEFAULT_CHANNELS } from '../../../src/domain/catalog.js';
import {
  compileChannelRules,
  EMPTY_RULES,
  type ChannelResolution,
  type ChannelRule,
  type ChannelRules,
  type Pattern,
  type RuleField,
  type TouchChannelFields,
} from '../../../src/domain/channel-rules.js';

const exact = (value: string): Pattern => ({ kind: 'exact', value });
const wildcard = (value: string): Pattern => ({ kind: 'wildcard', value });
const regex = (value: string): Pattern => ({ kind: 'regex', value });

const rule = (name: string, channel: string, when: ChannelRule['when']): ChannelRule => ({
  name,
  channel,
  when,
});

const touch = (fields: Partial<TouchChannelFields>): TouchChannelFields => ({
  channel: null,
  utm_source: null,
  utm_medium: null,
  utm_campaign: null,
  campaign_name: null,
  ...fields,
});

const EXTRA = ['Paid Search', 'Display'];
const known = createVocabulary([...DEFAULT_CHANNELS, ...EXTRA]);

function resolverFor(rules: readonly ChannelRule[], version = 'test-1') {
  return compileChannelRules({ version, rules, channels: EXTRA }, known);
}

const viaRule = (channel: string, name: string): ChannelResolution => ({ kind: 'rule', channel, rule: name });
const UNASSIGNED_ANSWER: ChannelResolution = { kind: 'unassigned' };

describe('compileChannelRules: the four steps', () => {
  const rules = [
    rule('google paid', 'Adwords', { utm_source: [exact('google')], utm_medium: [exact('cpc')] }),
    rule('tv spelling', 'Event', { channel: [exact('TV-Spot')] }),
    rule('newsletter', 'email', { utm_medium: [exact('email')] }),
  ];
  const resolver = resolverFor(rules);

  it.each<[string, Partial<TouchChannelFields>, ChannelResolution]>([
    ['(1) a known channel is the channel', { channel: 'Webinar' }, { kind: 'known', channel: 'Webinar' }],
    ['(1) spelling normalised', { channel: ' paid_social ' }, { kind: 'known', channel: 'Paid Social' }],
    ['(1) a declared extra channel', { channel: 'paid search' }, { kind: 'known', channel: 'Paid Search' }],
    [
      '(1) known channel wins over matching UTM rules',
      { channel: 'Website', utm_source: 'google', utm_medium: 'cpc' },
      { kind: 'known', channel: 'Website' },
    ],
    ['(2) unknown text mapped by a channel rule', { channel: 'tv-spot' }, viaRule('Event', 'tv spelling')],
    ['(2) unknown text rejected', { channel: 'Billboard' }, { kind: 'unknown', text: 'Billboard' }],
    [
      '(2) unknown text: UTM-only rules do not rescue it',
      { channel: 'Billboard', utm_source: 'google', utm_medium: 'cpc' },
      { kind: 'unknown', text: 'Billboard' },
    ],
    ['(2) unknown text is reported trimmed', { channel: '  Radio ' }, { kind: 'unknown', text: 'Radio' }],
    [
      '(3) no channel: the UTM rule',
      { utm_source: 'google', utm_medium: 'cpc' },
      viaRule('Adwords', 'google paid'),
    ],
    [
      '(3) empty channel is no channel',
      { channel: '  ', utm_medium: 'email' },
      viaRule('Email', 'newsletter'),
    ],
    ['(4) nothing at all', {}, UNASSIGNED_ANSWER],
    ['(4) no rule matches', { utm_source: 'google', utm_medium: 'organic' }, UNASSIGNED_ANSWER],
  ])('%s', (_label, fields, expected) => {
    expect(resolver.resolve(touch(fields))).toEqual(expected);
  });

  it('records the version of its rules; EMPTY_RULES assigns nothing', () => {
    expect(resolver.version).toBe('test-1');
    const empty = compileChannelRules(EMPTY_RULES, known);
    expect(empty.version).toBe('none');
    expect(empty.resolve(touch({ utm_source: 'google', utm_medium: 'cpc' }))).toEqual(UNASSIGNED_ANSWER);
    expect(empty.resolve(touch({ channel: 'Adwords' }))).toEqual({ kind: 'known', channel: 'Adwords' });
  });

  it('gives the rule channel its canonical spelling', () => {
    expect(resolver.resolve(touch({ utm_medium: 'EMAIL' }))).toEqual(viaRule('Email', 'newsletter'));
  });
});

describe('patterns', () => {
  const single = (field: RuleField, pattern: Pattern) =>
    resolverFor([rule('r', 'Partner', { [field]: [pattern] })]);
  const HIT = viaRule('Partner', 'r');

  it.each<[string, Pattern, string, boolean]>([
    ['exact equal', exact('cpc'), 'cpc', true],
    ['exact ignores case', exact('CPC'), 'cPc', true],
    ['exact trims both', exact(' cpc '), '  cpc', true],
    ['exact is whole-value', exact('cpc'), 'cpc2', false],
    ['exact is not a substring', exact('cpc'), 'xcpcx', false],
    ['exact: * inside is not special', exact('a*b'), 'axxb', false],
    ['wildcard prefix', wildcard('paid*'), 'paid_social', true],
    ['wildcard anchored at start', wildcard('paid*'), 'unpaid', false],
    ['wildcard suffix', wildcard('*push'), 'web-push', true],
    ['wildcard anchored at end', wildcard('*push'), 'pushy', false],
    ['wildcard middle', wildcard('*video*'), 'Paid-VIDEO-ads', true],
    ['wildcard * matches the empty run', wildcard('a*b'), 'ab', true],
    ['wildcard ignores case', wildcard('Face*'), 'FACEBOOK', true],
    ['wildcard dot is literal', wildcard('a.b*'), 'axb', false],
    ['wildcard dot matches a dot', wildcard('a.b*'), 'a.bc', true],
    ['wildcard (|) are literal', wildcard('(a|b)*'), 'a', false],
    ['wildcard (|) match themselves', wildcard('(a|b)*'), '(a|b)x', true],
    ['wildcard ? + $ ^ are literal', wildcard('^a+?$*'), '^a+?$!', true],
    ['wildcard [ ] \\ are literal', wildcard('[x]\\*'), '[x]\\y', true],
    ['regex unanchored', regex('cp'), 'xcpx', true],
    ['regex anchored by the user', regex('^(cpc|ppc)$'), 'ppc', true],
    ['regex anchored rejects longer', regex('^(cpc|ppc)$'), 'ppc2', false],
    ['regex always case-insensitive', regex('^google$'), 'GOOGLE', true],
    ['regex character class', regex('^e[-_ ]?mail$'), 'e_mail', true],
  ])('%s: %j on %j → %s', (_label, pattern, value, hit) => {
    const answer = single('utm_medium', pattern).resolve(touch({ utm_medium: value }));
    expect(answer).toEqual(hit ? HIT : UNASSIGNED_ANSWER);
  });

  it.each<[string, Pattern]>([
    ['exact', exact('x')],
    ['wildcard *', wildcard('*')],
    ['regex matching anything', regex('.*')],
  ])('an absent field never matches (%s)', (_label, pattern) => {
    const resolver = single('utm_campaign', pattern);
    expect(resolver.resolve(touch({}))).toEqual(UNASSIGNED_ANSWER);
    expect(resolver.resolve(touch({ utm_campaign: '   ', utm_source: 'x' }))).toEqual(UNASSIGNED_ANSWER);
    expect(resolver.resolve(touch({ campaign_name: 'x' }))).toEqual(UNASSIGNED_ANSWER);
  });

  it('a lone * matches any present value', () => {
    expect(single('utm_campaign', wildcard('*')).resolve(touch({ utm_campaign: 'anything' }))).toEqual(HIT);
  });

  it('an empty pattern list never matches', () => {
    const resolver = resolverFor([rule('r', 'Partner', { utm_medium: [] })]);
    expect(resolver.resolve(touch({ utm_medium: 'cpc' }))).toEqual(UNASSIGNED_ANSWER);
  });
});

describe('rule order and combination', () => {
  const resolver = resolverFor([
    rule('paid google', 'Adwords', {
      utm_source: [exact('google'), wildcard('google.*')],
      utm_medium: [regex('^(cpc|ppc)$'), exact('paid')],
    }),
    rule('any paid', 'Display', { utm_medium: [regex('^(cpc|ppc|paid)$')] }),
    rule('campaign', 'Webinar', {
      utm_campaign: [wildcard('*webinar*')],
      campaign_name: [exact('Q3 Webinar')],
    }),
    rule('by name', 'Event', { campaign_name: [exact('Q3 Webinar')] }),
    rule('later paid', 'Partner', { utm_medium: [exact('cpc')] }),
  ]);

  it.each<[string, Partial<TouchChannelFields>, ChannelResolution]>([
    ['AND: both fields hold', { utm_source: 'google', utm_medium: 'cpc' }, viaRule('Adwords', 'paid google')],
    [
      'OR within source list',
      { utm_source: 'google.de', utm_medium: 'ppc' },
      viaRule('Adwords', 'paid google'),
    ],
    [
      'OR within medium list',
      { utm_source: 'Google', utm_medium: 'PAID' },
      viaRule('Adwords', 'paid google'),
    ],
    [
      'AND fails on source: next rule',
      { utm_source: 'bing', utm_medium: 'cpc' },
      viaRule('Display', 'any paid'),
    ],
    ['AND fails: medium alone', { utm_medium: 'ppc' }, viaRule('Display', 'any paid')],
    ['first match wins over a later one', { utm_medium: 'cpc' }, viaRule('Display', 'any paid')],
    [
      'AND across campaign fields',
      { utm_campaign: '2026-webinar-q3', campaign_name: 'q3 webinar' },
      viaRule('Webinar', 'campaign'),
    ],
    ['one campaign field missing: AND fails', { campaign_name: 'Q3 Webinar' }, viaRule('Event', 'by name')],
    ['source alone matches nothing', { utm_source: 'google' }, UNASSIGNED_ANSWER],
  ])('%s', (_label, fields, expected) => {
    expect(resolver.resolve(touch(fields))).toEqual(expected);
  });
});

describe('rules with a channel condition', () => {
  const resolver = resolverFor([
    rule('legacy adwords', 'Adwords', { channel: [wildcard('adwords*')] }),
    rule('tv with campaign', 'Event', { channel: [exact('tv')], utm_campaign: [exact('launch')] }),
    rule('utm only', 'Email', { utm_medium: [exact('email')] }),
    rule('any channel text', 'Partner', { channel: [regex('.')], utm_medium: [exact('partner')] }),
  ]);

  it.each<[string, Partial<TouchChannelFields>, ChannelResolution]>([
    ['maps unknown text', { channel: 'AdWords-Brand' }, viaRule('Adwords', 'legacy adwords')],
    ['other conditions must hold too', { channel: 'tv' }, { kind: 'unknown', text: 'tv' }],
    ['all conditions hold', { channel: 'TV', utm_campaign: 'Launch' }, viaRule('Event', 'tv with campaign')],
    ['ignored when channel is null', { utm_campaign: 'launch', utm_medium: 'partner' }, UNASSIGNED_ANSWER],
    ['ignored when channel is empty', { channel: '', utm_medium: 'email' }, viaRule('Email', 'utm only')],
    [
      'a later channel rule still maps',
      { channel: 'reseller', utm_medium: 'partner' },
      viaRule('Partner', 'any channel text'),
    ],
  ])('%s', (_label, fields, expected) => {
    expect(resolver.resolve(touch(fields))).toEqual(expected);
  });
});

describe('compile-time checks and the memo', () => {
  it('refuses a rule whose channel is not known, naming the rule', () => {
    const rules: ChannelRules = {
      version: 'v',
      channels: [],
      rules: [rule('typo rule', 'Paid Serch', { utm_medium: [exact('cpc')] })],
    };
    expect(() => compileChannelRules(rules, known)).toThrow(RangeError);
    expect(() => compileChannelRules(rules, known)).toThrow(/"typo rule".*"Paid Serch"/);
  });

  it('refuses a rule with no condition', () => {
    const rules: ChannelRules = { version: 'v', channels: [], rules: [rule('empty', 'Email', {})] };
    expect(() => compileChannelRules(rules, known)).toThrow(/"empty" has no condition/);
  });

  it('answers the same after remembering, and keeps fields apart', () => {
    const resolver = resolverFor([
      rule('ab', 'Email', { utm_source: [exact('a')], utm_medium: [exact('b')] }),
    ]);
    const first = resolver.resolve(touch({ utm_source: 'a', utm_medium: 'b' }));
    expect(resolver.resolve(touch({ utm_source: 'a', utm_medium: 'b' }))).toBe(first);
    expect(first).toEqual(viaRule('Email', 'ab'));
    // Same characters, split differently across fields: a naive joined key would confuse them.
    expect(resolver.resolve(touch({ utm_source: 'ab', utm_medium: null }))).toEqual(UNASSIGNED_ANSWER);
    expect(resolver.resolve(touch({ utm_source: null, utm_medium: 'ab' }))).toEqual(UNASSIGNED_ANSWER);
  });

  it('stays correct past the memo bound and with shared conditions', () => {
    const medium = [regex('^(cpc|ppc)$')];
    const resolver = resolverFor([
      rule('google', 'Adwords', { utm_source: [exact('google')], utm_medium: medium }),
      rule('other', 'Paid Search', { utm_medium: medium }),
    ]);
    for (let i = 0; i < 5000; i++) {
      const source = i % 2 === 0 ? 'google' : `engine-${i}`;
      const expected = i % 2 === 0 ? viaRule('Adwords', 'google') : viaRule('Paid Search', 'other');
      expect(
        resolver.resolve(touch({ utm_source: source, utm_medium: i % 3 === 0 ? 'PPC' : 'cpc' })),
      ).toEqual(expected);
      expect(resolver.resolve(touch({ utm_source: source, utm_campaign: `c${i}` }))).toEqual(
        UNASSIGNED_ANSWER,
      );
    }
  });
});
