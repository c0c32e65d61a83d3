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

export interface Expansion {
  /** Postgres schema for ${schema}. */
  readonly schema: string;
  /** Value of the $model variable. */
  readonly model: string;
}

const sqlString = (text: string): string => `'${text.replaceAll("'", "''")}'`;

/** Grafana's time range for the SQL time macros: the dashboard's default, the last 6 hours. */
const TIME_RANGE_MS = 6 * 3_600_000;

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
  const to = new Date();
  const from = new Date(to.getTime() - TIME_RANGE_MS);
  const macros: Record<string, (arg: string) => string> = {
    // The SQL data source's time macros, as the Postgres data source writes them.
    timeFilter: (column) => `${column} BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`,
    timeFrom: () => `'${from.toISOString()}'`,
    timeTo: () => `'${to.toISOString()}'`,
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
