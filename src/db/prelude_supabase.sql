-- ============================================================================
-- Supabase prelude: stand-ins for the objects a Supabase project provides
-- ============================================================================
-- A schema written for Supabase refers to things that exist on every Supabase
-- project but not on a plain PostgreSQL server: the auth schema (auth.users,
-- auth.uid(), auth.role(), auth.jwt()), the storage schema, the extensions
-- schema and the API roles anon, authenticated and service_role.
--
-- touchpoint runs this file on a throwaway database before replaying
-- current_schema, so that such a schema replays on a plain PostgreSQL 15+.
-- The stand-ins have the same names, signatures and types as the real ones,
-- and the auth functions read the JWT claims from the same setting that
-- PostgREST fills in (request.jwt.claims), so policies behave as on Supabase
-- when a test sets that setting.
--
-- Everything here is idempotent: running it twice changes nothing.
-- Never run this against a real Supabase project: it is only for throwaway
-- databases.
-- ============================================================================

-- ----------------------------------------------------------------------------
-- Roles. Cluster-wide, so create them only when missing; NOLOGIN because
-- nothing ever connects as them, policies and grants only name them.
-- ----------------------------------------------------------------------------
DO $prelude$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'anon') THEN
        CREATE ROLE anon NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'authenticated') THEN
        CREATE ROLE authenticated NOLOGIN NOINHERIT;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'service_role') THEN
        CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
    END IF;
END
$prelude$;

-- ----------------------------------------------------------------------------
-- Schemas
-- ----------------------------------------------------------------------------
CREATE SCHEMA IF NOT EXISTS auth;
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE SCHEMA IF NOT EXISTS storage;

GRANT USAGE ON SCHEMA auth       TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA extensions TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA storage    TO anon, authenticated, service_role;
GRANT USAGE ON SCHEMA public     TO anon, authenticated, service_role;

-- gen_random_uuid() is built in since PostgreSQL 13; nothing to install for it.

-- ----------------------------------------------------------------------------
-- auth.users: the columns application schemas usually touch
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS auth.users (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    aud                 varchar(255),
    role                varchar(255),
    email               text,
    phone               text,
    encrypted_password  text,
    email_confirmed_at  timestamptz,
    last_sign_in_at     timestamptz,
    raw_app_meta_data   jsonb,
    raw_user_meta_data  jsonb,
    is_anonymous        boolean     NOT NULL DEFAULT false,
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    deleted_at          timestamptz
);

-- ----------------------------------------------------------------------------
-- auth.jwt(), auth.uid(), auth.role(): same bodies as on Supabase, reading
-- the claims PostgREST puts in request.jwt.claims. With the setting absent
-- (the normal case in a throwaway database) they return NULL.
-- ----------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION auth.jwt()
RETURNS jsonb
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim', true), ''),
        nullif(current_setting('request.jwt.claims', true), '')
    )::jsonb
$fn$;

CREATE OR REPLACE FUNCTION auth.uid()
RETURNS uuid
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.sub', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
    )::uuid
$fn$;

CREATE OR REPLACE FUNCTION auth.role()
RETURNS text
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.role', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'role')
    )::text
$fn$;

CREATE OR REPLACE FUNCTION auth.email()
RETURNS text
LANGUAGE sql STABLE
AS $fn$
    SELECT coalesce(
        nullif(current_setting('request.jwt.claim.email', true), ''),
        (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'email')
    )::text
$fn$;

GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid(), auth.role(), auth.email()
    TO anon, authenticated, service_role;

-- ----------------------------------------------------------------------------
-- storage: just enough for schemas that reference buckets and objects
-- ----------------------------------------------------------------------------
CREATE TABLE IF NOT EXISTS storage.buckets (
    id                  text        PRIMARY KEY,
    name                text        NOT NULL UNIQUE,
    owner               uuid,
    public              boolean     DEFAULT false,
    file_size_limit     bigint,
    allowed_mime_types  text[],
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now()
);

CREATE TABLE IF NOT EXISTS storage.objects (
    id                  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    bucket_id           text        REFERENCES storage.buckets(id),
    name                text,
    owner               uuid,
    metadata            jsonb,
    path_tokens         text[] GENERATED ALWAYS AS (string_to_array(name, '/')) STORED,
    created_at          timestamptz DEFAULT now(),
    updated_at          timestamptz DEFAULT now(),
    last_accessed_at    timestamptz DEFAULT now()
);

CREATE UNIQUE INDEX IF NOT EXISTS bucketid_objname ON storage.objects (bucket_id, name);

CREATE OR REPLACE FUNCTION storage.foldername(name text)
RETURNS text[]
LANGUAGE sql IMMUTABLE
AS $fn$
    SELECT (string_to_array(name, '/'))[1:array_length(string_to_array(name, '/'), 1) - 1]
$fn$;

-- ----------------------------------------------------------------------------
-- Realtime: every Supabase project has this publication, and schemas publish
-- their tables with ALTER PUBLICATION supabase_realtime ADD TABLE ...
-- Per database, and with no IF NOT EXISTS, hence the check.
-- ----------------------------------------------------------------------------
DO $prelude$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = 'supabase_realtime') THEN
        CREATE PUBLICATION supabase_realtime;
    END IF;
END
$prelude$;
