// PgBouncer's auth_query as the platform sets it up: the image's patroni-post-bootstrap (Patroni's
// post_bootstrap, here run by hand on a plain primary with the connection string Patroni would pass)
// creates the auth_user and the function of environments/config/pgbouncer-auth.sql; pgbouncer-node
// runs PgBouncer with environments/config/pgbouncer.ini in front of that primary. On 15 this is
// PgBouncer 1.18, without auth_dbname: the function must be in the database the client asks for.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type pg from 'pg';
import { connect, queryValue } from '../../harness/index.ts';
import { Cluster, type Node } from './support/cluster.ts';

// The role pgbouncer.ini names as auth_user.
const AUTH_USER = 'pgbouncer_auth';
const APP = { user: 'app', password: 'app-password' };

let cluster: Cluster;
let pg1: Node;
let pgbouncer: Node;
let primary: pg.Client;

beforeAll(async () => {
  cluster = await Cluster.create();
  pg1 = await cluster.primary('pg1');
  const bootstrapped = await pg1.container.exec(['patroni-post-bootstrap', 'dbname=postgres user=postgres port=5432'], { env: { PGBOUNCER_AUTH_PASSWORD: cluster.secrets.pgbouncerAuth } });
  if (bootstrapped.exitCode !== 0) throw new Error(`patroni-post-bootstrap exited ${bootstrapped.exitCode}\nstdout:\n${bootstrapped.stdout}\nstderr:\n${bootstrapped.stderr}`);
  primary = await pg1.connect();
  for (const sql of [
    `create role ${APP.user} login password '${APP.password}'`,
    "create role admin2 superuser login password 'admin2-password'",
    "create role no_login password 'no-login-password'",
    "create role expired login password 'expired-password' valid until '2000-01-01'",
    // After bootstrap, from template1: the function comes with it.
    'create database shop',
  ]) await primary.query(sql);
  pgbouncer = await cluster.pgbouncer('pgbouncer', 'pg1', 2);
});

afterAll(async () => {
  await primary?.end().catch(() => undefined);
  await cluster?.stop();
});

// A login to PgBouncer from the host; resolves to current_user, or rejects with PgBouncer's error.
async function loginThroughPgbouncer(user: string, password: string, database = 'postgres'): Promise<string | null> {
  await using client = await connect(await pgbouncer.address(6432), { user, password, database });
  // Awaited here: the connection ends when this function returns.
  return await queryValue(client, 'select current_user');
}

describe('PgBouncer looks roles up through pgbouncer.get_auth as pgbouncer_auth', () => {
  test('a role that is not in the auth_file logs in, to postgres, postgres_session and a database created later', async () => {
    expect(await loginThroughPgbouncer(APP.user, APP.password)).toBe(APP.user);
    expect(await loginThroughPgbouncer(APP.user, APP.password, 'postgres_session')).toBe(APP.user);
    expect(await loginThroughPgbouncer(APP.user, APP.password, 'shop')).toBe(APP.user);
    // The lookup ran as the auth_user: its server connection sits in PgBouncer's pool.
    expect(Number(await queryValue(primary, 'select count(*) from pg_stat_activity where usename = $1', [AUTH_USER]))).toBeGreaterThan(0);
  });

  test('a wrong password, a superuser, a role without LOGIN, an expired password and an unknown role are refused', async () => {
    await expect(loginThroughPgbouncer(APP.user, 'wrong')).rejects.toThrow(/authentication failed/);
    // Superusers are never looked up (only postgres, in the auth_file, logs in through PgBouncer).
    await expect(loginThroughPgbouncer('admin2', 'admin2-password')).rejects.toThrow(/no such user/);
    await expect(loginThroughPgbouncer('no_login', 'no-login-password')).rejects.toThrow(/no such user/);
    await expect(loginThroughPgbouncer('expired', 'expired-password')).rejects.toThrow(/authentication failed/);
    await expect(loginThroughPgbouncer('nobody', 'x')).rejects.toThrow(/no such user/);
    expect(await loginThroughPgbouncer('postgres', pg1.password)).toBe('postgres');
  });

  test('pgbouncer_auth logs in, is no superuser, may call the function and cannot read pg_authid or pg_shadow', async () => {
    await using auth = await connect(await pg1.address(), { user: AUTH_USER, password: cluster.secrets.pgbouncerAuth });
    expect(await queryValue(auth, 'select rolsuper or rolcreaterole or rolcreatedb or rolreplication or rolbypassrls from pg_roles where rolname = current_user')).toBe('false');
    expect(await queryValue(auth, 'select count(*) from pg_auth_members where member = (select oid from pg_roles where rolname = current_user)')).toBe('0');
    await expect(auth.query('select rolpassword from pg_authid')).rejects.toThrow(/permission denied for table pg_authid/);
    await expect(auth.query('select passwd from pg_shadow')).rejects.toThrow(/permission denied for (view|table) pg_shadow/);
    expect(await queryValue(auth, 'select passwd from pgbouncer.get_auth($1)', [APP.user])).toMatch(/^SCRAM-SHA-256\$/);
    expect(await queryValue(auth, 'select passwd is null from pgbouncer.get_auth($1)', ['expired'])).toBe('true');
    expect(await queryValue(auth, "select count(*) from pgbouncer.get_auth('postgres')")).toBe('0');
  });

  test('no other role may call the function; it runs as its owner with a pinned search_path', async () => {
    await using app = await connect(await pg1.address(), APP);
    await expect(app.query('select * from pgbouncer.get_auth($1)', [APP.user])).rejects.toThrow(/permission denied for schema pgbouncer/);
    for (const database of ['postgres', 'template1', 'shop']) {
      await using owner = await connect(await pg1.address(), { password: pg1.password, database });
      const { rows } = await owner.query<{ definer: boolean; owner: string; config: string[]; acl: string[] }>(
        `select p.prosecdef as definer, pg_get_userbyid(p.proowner) as owner, p.proconfig as config, p.proacl::text[] as acl
           from pg_proc p where p.oid = 'pgbouncer.get_auth(text)'::regprocedure`);
      expect(rows, `pgbouncer.get_auth(text) in ${database}`).toEqual([{ definer: true, owner: 'postgres', config: ['search_path=pg_catalog, pg_temp'], acl: ['postgres=X/postgres', `${AUTH_USER}=X/postgres`] }]);
    }
  });
});
