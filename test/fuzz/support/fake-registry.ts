/**
 * An in-process stand-in for the Confluent Schema Registry API: just the endpoints the
 * @kafkajs/confluent-schema-registry client calls (subject config, register, schema by id).
 * It lets the fuzz tests run the real codec, the real client and avsc without the Java
 * registry; an unknown id answers 404/40403 as Confluent and Apicurio do.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRegistry {
  readonly url: string;
  /** Registers a schema directly (e.g. a newer version of a subject) and answers its id. */
  add(subject: string, schema: string): number;
  close(): Promise<void>;
}

export async function startFakeRegistry(): Promise<FakeRegistry> {
  const schemas: string[] = [];
  const configs = new Map<string, string>();
  const add = (_subject: string, schema: string): number => {
    const existing = schemas.indexOf(schema);
    if (existing !== -1) return existing + 1;
    schemas.push(schema);
    return schemas.length;
  };
  const server = createServer((request, response) => {
    void body(request).then((text) => answer(request, response, text));
  });
  const answer = (request: IncomingMessage, response: ServerResponse, text: string): void => {
    const url = request.url ?? '';
    const send = (status: number, payload: unknown): void => {
      response.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
      response.end(JSON.stringify(payload));
    };
    const config = /^\/config\/([^/]+)$/.exec(url);
    const register = /^\/subjects\/([^/]+)\/versions$/.exec(url);
    const byId = /^\/schemas\/ids\/(-?\d+)$/.exec(url);
    if (config !== null && request.method === 'GET') {
      const level = configs.get(decodeURIComponent(config[1] ?? ''));
      return level === undefined
        ? send(404, { error_code: 40408, message: 'Subject not found' })
        : send(200, { compatibilityLevel: level });
    }
    if (config !== null && request.method === 'PUT') {
      const { compatibility } = JSON.parse(text) as { compatibility: string };
      configs.set(decodeURIComponent(config[1] ?? ''), compatibility);
      return send(200, { compatibility });
    }
    if (register !== null && request.method === 'POST') {
      const { schema } = JSON.parse(text) as { schema: string };
      return send(200, { id: add(decodeURIComponent(register[1] ?? ''), schema) });
    }
    if (byId !== null && request.method === 'GET') {
      const schema = schemas[Number(byId[1]) - 1];
      return schema === undefined
        ? send(404, { error_code: 40403, message: `Schema ${byId[1]} not found` })
        : send(200, { schema });
    }
    send(404, { error_code: 404, message: `no route ${request.method ?? ''} ${url}` });
  };
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    add,
    close: () =>
      new Promise((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
