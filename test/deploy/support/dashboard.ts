// The Grafana dashboard's queries, taken out of its JSON and expanded the way Grafana expands
// them, so that they can be run against a real Postgres and a real Prometheus.
import { readFileSync } from 'node:fs';
import { PATHS, isRecord, type Doc } from './files.js';

export interface DashboardQuery {
  readonly panel: string;
  readonly language: 'sql' | 'promql';
  /** As written in the dashboard, with Grafana variables. */
  readonly text: string;
}

export function loadDashboard(): Doc {
  return JSON.parse(readFileSync(PATHS.dashboard, 'utf8')) as Doc;
}

const list = (value: unknown): Doc[] => (Array.isArray(value) ? value.filter(isRecord) : []);
const datasourceType = (value: unknown): string => (isRecord(value) ? String(value['type']) : '');

function panelsOf(dashboard: Doc): Doc[] {
  return list(dashboard['panels']).flatMap((p) => [p, ...list(p['panels'])]);
}

/** Every SQL and PromQL query: panel targets and query variables. */
export function dashboardQueries(dashboard: Doc): DashboardQuery[] {
  const queries: DashboardQuery[] = [];
  for (const panel of panelsOf(dashboard)) {
    for (const target of list(panel['targets'])) {
      const type = datasourceType(target['datasource'] ?? panel['datasource']);
      const title = `${String(panel['title'])} [${String(target['refId'])}]`;
      if (type === 'grafana-postgresql-datasource')
        queries.push({ panel: title, language: 'sql', text: String(target['rawSql']) });
      else if (type === 'prometheus')
        queries.push({ panel: title, language: 'promql', text: String(target['expr']) });
      else throw new Error(`panel ${title}: unexpected data source type "${type}"`);
    }
  }
  for (const variable of list(isRecord(dashboard['templating']) ? dashboard['templating']['list'] : [])) {
    if (variable['type'] !== 'query') continue;
    const type = datasourceType(variable['datasource']);
    const text = String(isRecord(variable['query']) ? variable['query']['query'] : variable['query']);
    queries.push({
      panel: `variable $${String(variable['name'])}`,
      language: type === 'prometheus' ? 'promql' : 'sql',
      text,
    });
  }
  return queries;
}

/** A dashboard time range, as Grafana hands it to the SQL data source: two instants, both included. */
export interface TimeRange {
  readonly from: Date;
  readonly to: Date;
}

export interface Expansion {
  /** Postgres schema for ${schema}. */
  readonly schema: string;
  /** Value of the $model variable. */
  readonly model: string;
  /** The time range for the SQL time macros; by default the dashboard's, the last 6 hours. */
  readonly timeRange?: TimeRange;
}

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** The dashboard's default time range, the last 6 hours. */
const TIME_RANGE_MS = 6 * 3_600_000;

/**
 * An instant as the Postgres data source writes it: Go's time.RFC3339Nano in UTC, so no
 * trailing zeros in the fraction ('2024-03-04T00:00:00Z', '2024-09-01T23:59:59.999Z').
 */
export const rfc3339Nano = (instant: Date): string =>
  instant.toISOString().replace(/\.(\d*?)0*Z$/, (_, digits: string) => (digits === '' ? 'Z' : `.${digits}Z`));

/**
 * The range Grafana sends for local dates [from, to) picked on a UTC dashboard: from 00:00 of
 * `from` to the last millisecond before `to` (the picker's end of day, 23:59:59.999), since
 * $__timeFilter includes both ends.
 */
export function dateRange(from: string, to: string): TimeRange {
  return { from: new Date(`${from}T00:00:00Z`), to: new Date(Date.parse(`${to}T00:00:00Z`) - 1) };
}

/**
 * Replaces the Grafana variables and macros the dashboard uses, as Grafana would. Any other `$`
 * token is an error: a new variable or macro must be taught here before its query can be checked.
 */
export function expandQuery(query: DashboardQuery, values: Expansion): string {
  const known: Record<string, string> = {
    '${schema}': values.schema,
    '${model:sqlstring}': sqlString(values.model),
    // A single-value variable is interpolated as is (no quoting) in SQL and PromQL alike.
    $model: values.model,
    '${model}': values.model,
    $__rate_interval: '1m',
    $__interval: '1m',
  };
  const now = new Date();
  const range = values.timeRange ?? { from: new Date(now.getTime() - TIME_RANGE_MS), to: now };
  const from = rfc3339Nano(range.from);
  const to = rfc3339Nano(range.to);
  // The SQL data source's time macros, as the Postgres data source writes them (Grafana's
  // pkg/tsdb/grafana-postgresql-datasource/macros.go): $__timeFilter(col) is
  // `col BETWEEN '<from>' AND '<to>'`, both ends included, instants in RFC 3339 UTC. On a date
  // column Postgres casts each bound to a date by its calendar date (time and offset ignored).
  const macros: Record<string, (arg: string) => string> = {
    timeFilter: (column) => `${column} BETWEEN '${from}' AND '${to}'`,
    timeFrom: () => `'${from}'`,
    timeTo: () => `'${to}'`,
  };
  const withMacros = query.text.replace(/\$__(\w+)\(([^)]*)\)/g, (token, name: string, arg: string) => {
    const macro = macros[name];
    if (macro === undefined) throw new Error(`${query.panel}: no expansion for ${token}`);
    return macro(arg.trim());
  });
  const expanded = withMacros.replace(/\$\{[^}]+\}|\$\w+/g, (token) => {
    const value = known[token];
    if (value === undefined) throw new Error(`${query.panel}: no expansion for ${token}`);
    return value;
  });
  return expanded;
}

/** Layout and wiring: unique ids, panels on the grid without overlap, data sources through the variables. */
export function checkDashboardStructure(dashboard: Doc): string[] {
  const problems: string[] = [];
  const panels = panelsOf(dashboard);
  const ids = panels.map((p) => p['id']);
  if (new Set(ids).size !== ids.length) problems.push('panel ids are not unique');
  const variables = new Set(
    list(isRecord(dashboard['templating']) ? dashboard['templating']['list'] : []).map((v) =>
      String(v['name']),
    ),
  );
  const cells = new Map<string, string>();
  for (const panel of panels) {
    const title = String(panel['title']);
    const grid = isRecord(panel['gridPos']) ? (panel['gridPos'] as Record<string, number>) : undefined;
    if (grid === undefined) {
      problems.push(`${title}: no gridPos`);
      continue;
    }
    if ((grid['x'] ?? 0) + (grid['w'] ?? 0) > 24) problems.push(`${title}: wider than the 24-column grid`);
    for (let x = grid['x'] ?? 0; x < (grid['x'] ?? 0) + (grid['w'] ?? 0); x++)
      for (let y = grid['y'] ?? 0; y < (grid['y'] ?? 0) + (grid['h'] ?? 0); y++) {
        const other = cells.get(`${x},${y}`);
        if (other !== undefined && other !== title) problems.push(`${title} overlaps ${other}`);
        cells.set(`${x},${y}`, title);
      }
    if (panel['type'] === 'row') continue;
    const uid = isRecord(panel['datasource']) ? String(panel['datasource']['uid']) : '';
    const variable = /^\$\{(\w+)\}$/.exec(uid)?.[1];
    if (variable === undefined || !variables.has(variable))
      problems.push(
        `${title}: data source must be one of the dashboard's data source variables, is "${uid}"`,
      );
    if (list(panel['targets']).length === 0) problems.push(`${title}: no query`);
    if (typeof panel['description'] !== 'string' || panel['description'] === '')
      problems.push(`${title}: no description (README "Operate" relies on them)`);
  }
  return [...new Set(problems)];
}
