import pg from 'pg';

/** One query against a service's database, on a connection of its own: what a test reads back. */
export async function query<R extends pg.QueryResultRow = pg.QueryResultRow>(databaseUrl: string, sql: string, values: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<R>(sql, values)).rows;
  } finally {
    await client.end();
  }
}
