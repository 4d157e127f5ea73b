-- PgBouncer's password lookup (environments/config/pgbouncer.ini: auth_user, auth_query), run by
-- patroni-post-bootstrap as the superuser in template1 and postgres when the cluster is created.
-- PgBouncer runs auth_query in the database the client asked for, and PgBouncer 1.18 (bookworm, 15)
-- has no auth_dbname (1.21+) to send it elsewhere: so the function is in every database, template1
-- included, whence CREATE DATABASE copies it.
-- The role :"auth_user" (LOGIN, nothing else) may call this function and do nothing more: it cannot
-- read pg_authid or pg_shadow. The function runs as its owner, the superuser postgres.
create schema pgbouncer;
grant usage on schema pgbouncer to :"auth_user";

-- A role's name and SCRAM secret, as PgBouncer's documentation suggests (rolcanlogin, no expired
-- password), and never a superuser's: those log in to PgBouncer through its auth_file or not at all.
-- A set-returning function, so that an unknown name is no row (PgBouncer answers "password
-- authentication failed"), not a row of nulls (PgBouncer 1.18 drops the server connection then).
create function pgbouncer.get_auth(username text)
  returns table (usename name, passwd text)
  language sql stable
  security definer
  -- Pinned: a SECURITY DEFINER function must not resolve names through the caller's search_path.
  set search_path = pg_catalog, pg_temp
as $$
  select rolname, case when rolvaliduntil < now() then null else rolpassword end
  from pg_catalog.pg_authid
  where rolname = username and rolcanlogin and not rolsuper
$$;
revoke all on function pgbouncer.get_auth(text) from public;
grant execute on function pgbouncer.get_auth(text) to :"auth_user";
