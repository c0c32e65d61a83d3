import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  loadChannelRules,
  parseChannelRules,
  parsePattern,
} from '../../../src/adapters/files/channel-rules-file.js';
import { createVocabulary, DEFAULT_CHANNELS } from '../../../src/domain/catalog.js';
import {
  compileChannelRules,
  type ChannelResolution,
  type ChannelRules,
  type Pattern,
  type TouchChannelFields,
} from '../../../src/domain/channel-rules.js';

const SHIPPED = join(import.meta.dirname, '..', '..', '..', 'config', 'channel-rules.yaml');
const scratch = mkdtempSync(join(tmpdir(), 'touchline-channel-rules-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const resolverOf = (rules: ChannelRules) =>
  compileChannelRules(rules, createVocabulary([...DEFAULT_CHANNELS, ...rules.channels]));

const touch = (fields: Partial<TouchChannelFields>): TouchChannelFields => ({
  channel: null,
  utm_source: null,
  utm_medium: null,
  utm_campaign: null,
  campaign_name: null,
  ...fields,
});

/** The message's problem lines, without the first line that names the file. */
function problemsOf(run: () => unknown): string[] {
  try {
    run();
  } catch (error) {
    return (error as Error).message
      .split('\n')
      .slice(1)
      .map((line) => line.trim());
  }
  throw new Error('expected the rules to be refused');
}

describe('parsePattern', () => {
  it.each<[string, Pattern]>([
    ['cpc', { kind: 'exact', value: 'cpc' }],
    ['  Paid Social  ', { kind: 'exact', value: 'Paid Social' }],
    ['paid*', { kind: 'wildcard', value: 'paid*' }],
    ['a.b*', { kind: 'wildcard', value: 'a.b*' }],
    ['/^(cpc|ppc)$/', { kind: 'regex', value: '^(cpc|ppc)$' }],
    [' /.*cp.*/ ', { kind: 'regex', value: '.*cp.*' }],
    ['/*push/', { kind: 'regex', value: '*push' }],
    ['/', { kind: 'exact', value: '/' }],
    ['/blog/post', { kind: 'exact', value: '/blog/post' }],
  ])('%j → %j', (text, expected) => {
    expect(parsePattern(text)).toEqual(expected);
  });
});

describe('the shipped config/channel-rules.yaml', () => {
  const rules = loadChannelRules(SHIPPED, DEFAULT_CHANNELS);
  const resolver = resolverOf(rules);

  it('loads, versioned, with GA4 groups Touchline lacks declared as channels', () => {
    expect(resolver.version).toBe('2026-12-01.ga4-default');
    expect(rules.channels).toEqual(
      expect.arrayContaining(['Paid Search', 'Display', 'Direct', 'Organic Social']),
    );
    expect(rules.rules.length).toBeGreaterThan(15);
  });

  it.each<[Partial<TouchChannelFields>, string | null]>([
    [{ utm_source: 'google', utm_medium: 'cpc' }, 'Adwords'],
    [{ utm_source: 'Google', utm_medium: 'PPC' }, 'Adwords'],
    [{ utm_source: 'bing', utm_medium: 'cpc' }, 'Paid Search'],
    [{ utm_source: 'facebook', utm_medium: 'paid social' }, 'Paid Social'],
    [{ utm_source: 'linkedin', utm_medium: 'paid_social' }, 'Paid Social'],
    [{ utm_source: 'newsletter', utm_medium: 'email' }, 'Email'],
    [{ utm_source: 'e-mail', utm_medium: 'blast' }, 'Email'],
    [{ utm_source: 'google', utm_medium: 'organic' }, 'Organic Search'],
    [{ utm_source: 'duckduckgo' }, 'Organic Search'],
    [{ utm_source: 'm.facebook.com', utm_medium: 'referral' }, 'Organic Social'],
    [{ utm_source: 'partnerco', utm_medium: 'affiliate' }, 'Partner'],
    [{ utm_source: 'blog.example.com', utm_medium: 'referral' }, 'Referral'],
    [{ utm_source: 'adnet', utm_medium: 'banner' }, 'Display'],
    [{ utm_source: 'adnet', utm_medium: 'cpc' }, 'Paid Other'],
    [{ utm_source: 'google', utm_medium: 'cpc', utm_campaign: 'spring-shopping' }, 'Paid Shopping'],
    [{ utm_source: 'google', utm_medium: 'cpc', campaign_name: 'PMax cross-network' }, 'Cross-network'],
    [{ utm_source: '(direct)', utm_medium: '(none)' }, 'Direct'],
    [{ utm_source: 'zoom', utm_medium: 'webinar' }, 'Webinar'],
    [{}, null],
    [{ utm_source: 'somewhere', utm_medium: 'carrier-pigeon' }, null],
  ])('%j → %s', (fields, channel) => {
    const answer = resolver.resolve(touch(fields));
    if (channel === null) expect(answer).toEqual({ kind: 'unassigned' });
    else expect(answer).toMatchObject({ kind: 'rule', channel });
  });

  it('leaves an explicit known channel alone, as in the challenge data', () => {
    const answer = resolver.resolve(touch({ channel: 'Outbound', utm_source: 'google', utm_medium: 'cpc' }));
    expect(answer).toEqual<ChannelResolution>({ kind: 'known', channel: 'Outbound' });
  });
});

describe('parseChannelRules', () => {
  it('reads single patterns and lists, numbers as text, default names, extra channels', () => {
    const rules = parseChannelRules(
      [
        'version: 3',
        'channels: [Podcast]',
        'rules:',
        '  - channel: podcast',
        '    when: { utm_medium: [audio, "/^pod/"], utm_campaign: 2026 }',
        '  - name: sponsored',
        '    channel: Partner',
        '    when: { utm_source: "*sponsor*" }',
      ].join('\n'),
      'inline.yaml',
      DEFAULT_CHANNELS,
    );
    expect(rules).toEqual<ChannelRules>({
      version: '3',
      channels: ['Podcast'],
      rules: [
        {
          name: 'rules[0]',
          channel: 'Podcast',
          when: {
            utm_medium: [
              { kind: 'exact', value: 'audio' },
              { kind: 'regex', value: '^pod' },
            ],
            utm_campaign: [{ kind: 'exact', value: '2026' }],
          },
        },
        {
          name: 'sponsored',
          channel: 'Partner',
          when: { utm_source: [{ kind: 'wildcard', value: '*sponsor*' }] },
        },
      ],
    });
    const answer = resolverOf(rules).resolve(touch({ utm_medium: 'Podcast-Ads', utm_campaign: '2026' }));
    expect(answer).toEqual<ChannelResolution>({ kind: 'rule', channel: 'Podcast', rule: 'rules[0]' });
  });

  it('lists every problem of a bad file, each with where it is', () => {
    const text = [
      'version: ""',
      'channels: [Podcast, podcast, paid social]',
      'owner: marketing',
      'rules:',
      '  - name: ok',
      '    channel: Email',
      '    when: { utm_medium: email }',
      '  - channel: Paid Serch',
      '    when: { utm_medium: cpc }',
      '  - channel: Email',
      '    when: {}',
      '  - channel: Email',
      '    when: { utm_medium: [email, "/[/"], utm_sorce: x }',
      '  - channel: Email',
      '    chanel: typo',
      '    when: { utm_source: [], utm_campaign: "", campaign_name: { a: 1 } }',
      '  - name: ok',
      '    when: { channel: "//" }',
    ].join('\n');
    const problems = problemsOf(() => parseChannelRules(text, 'bad.yaml', DEFAULT_CHANNELS));
    const knownList = [...DEFAULT_CHANNELS, 'Podcast'].join(', ');
    expect(problems).toEqual(
      expect.arrayContaining([
        'version: is empty',
        'channels[1]: "podcast" is already a channel (Podcast)',
        'channels[2]: "paid social" is already a channel (Paid Social)',
        '(top level): unknown key "owner" (allowed: version, channels, rules)',
        `rules[1].channel: "Paid Serch" is not a known channel (known: ${knownList})`,
        'rules[2].when: needs at least one of channel, utm_source, utm_medium, utm_campaign, campaign_name',
        expect.stringMatching(
          /^rules\[3\]\.when\.utm_medium\[1\]: \/\[\/ is not a valid regular expression: /,
        ),
        'rules[3].when: unknown key "utm_sorce" (allowed: channel, utm_source, utm_medium, utm_campaign, campaign_name)',
        'rules[4]: unknown key "chanel" (allowed: name, channel, when)',
        'rules[4].when.utm_source: is an empty list',
        'rules[4].when.utm_campaign: is empty',
        'rules[4].when.campaign_name: must be a pattern or a list of patterns',
        'rules[5].channel: is required',
        'rules[5].when.channel: // is an empty regular expression (use * to match any value)',
        'rules[5].name: is also the name of rules[0]',
      ]),
    );
    expect(problems).toHaveLength(15);
  });

  it('starts its message by naming the file', () => {
    expect(() => parseChannelRules('version: 1\nrules: {}', 'x/rules.yaml', DEFAULT_CHANNELS)).toThrow(
      /^channel rules file x\/rules\.yaml:\n {2}rules: /,
    );
  });

  it.each<[string, string, string[]]>([
    ['an empty file', '', ['version: is required', 'rules: is required']],
    ['a list at the top', '- a', ['(top level): Invalid input: expected object, received array']],
  ])('refuses %s', (_label, text, expected) => {
    expect(problemsOf(() => parseChannelRules(text, 'f.yaml', DEFAULT_CHANNELS))).toEqual(expected);
  });

  it('names the file and the line of a YAML syntax error', () => {
    const text = 'version: 1\nrules:\n  - channel: Email\n    when: { utm_medium: [email }\n';
    expect(() => parseChannelRules(text, 'broken.yaml', DEFAULT_CHANNELS)).toThrow(
      /^channel rules file broken\.yaml: not valid YAML: .*at line 4, column \d+/,
    );
  });
});

describe('loadChannelRules', () => {
  it('names the path of a missing file', () => {
    const path = join(scratch, 'absent.yaml');
    expect(() => loadChannelRules(path, DEFAULT_CHANNELS)).toThrow(
      `channel rules file ${path}: cannot be read (file not found)`,
    );
  });

  it('reads a file from disk and names it in its problems', () => {
    const path = join(scratch, 'rules.yaml');
    writeFileSync(
      path,
      'version: a\nchannels: [Podcast]\nrules:\n  - { channel: Podcast, when: { utm_medium: pod } }\n',
    );
    expect(loadChannelRules(path, DEFAULT_CHANNELS).rules).toHaveLength(1);
    writeFileSync(path, 'version: a\nrules:\n  - { channel: Podcast, when: { utm_medium: pod } }\n');
    expect(() => loadChannelRules(path, DEFAULT_CHANNELS)).toThrow(
      new RegExp(
        `^channel rules file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\n  rules\\[0\\]\\.channel: "Podcast"`,
      ),
    );
  });
});
