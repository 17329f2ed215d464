-- ============================================================================
-- 01_foundations.sql
-- Extensions, shared types, helper functions and the audit log.
-- ============================================================================
-- Every later file depends on something in here, so keep this file free of
-- references to application tables (audit_log is the only table, and it
-- references nothing).
--
-- Apply in file-name order: 01 -> 06. On Supabase the auth schema, auth.uid()
-- and the API roles already exist; elsewhere run the Supabase prelude first.
-- ============================================================================

\echo '01_foundations: extensions, types, helpers, audit log'

-- ----------------------------------------------------------------------------
-- Extensions
-- ----------------------------------------------------------------------------
-- pgcrypto: digest() for file checksums. gen_random_uuid() is core since 13,
-- but older scripts in ops/ still call it through pgcrypto, so keep it.
CREATE EXTENSION IF NOT EXISTS pgcrypto;
-- pg_trgm: fuzzy search over filenames and extracted text (03_documents.sql).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ----------------------------------------------------------------------------
-- Shared types
-- ----------------------------------------------------------------------------

-- Lifecycle of a row in job_queue (06_job_coordination.sql). An enum rather
-- than a text CHECK because workers compare on it in hot loops and we want the
-- typo to fail at insert time, not silently never match.
CREATE TYPE public.job_status AS ENUM (
    'pending',      -- waiting to be claimed
    'processing',   -- claimed by a worker, heartbeat expected
    'completed',    -- finished successfully
    'failed',       -- gave up after max_retries
    'cancelled'     -- cancelled by a user or an admin
);

-- Confidence reported by the AI passes. Always 0..1 with three decimals; a
-- domain so the rule lives in one place instead of a CHECK per column.
CREATE DOMAIN public.confidence_score AS numeric(4,3)
    CHECK (VALUE IS NULL OR (VALUE >= 0 AND VALUE <= 1));

-- A measured value with its unit, used by functions that normalise vitals.
CREATE TYPE public.measured_quantity AS (
    value   numeric,
    unit    text
);

-- ----------------------------------------------------------------------------
-- Helper functions
-- ----------------------------------------------------------------------------

-- Keeps updated_at honest on every table that has one. Attached per table by
-- a BEFORE UPDATE trigger in the file that creates the table.
CREATE OR REPLACE FUNCTION public.update_updated_at_column()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$;

-- Admins are marked in the JWT app_metadata by the admin console; we read the
-- claim instead of a table so that an admin check costs no query.
CREATE OR REPLACE FUNCTION public.is_admin()
RETURNS boolean
LANGUAGE plpgsql
STABLE
AS $$
BEGIN
    RETURN coalesce(
        (auth.jwt() -> 'app_metadata' ->> 'role') = 'admin',
        false
    );
END;
$$;

COMMENT ON FUNCTION public.is_admin() IS
    'True when the caller''s JWT carries app_metadata.role = admin. Used by RLS policies.';

-- ----------------------------------------------------------------------------
-- Audit log
-- ----------------------------------------------------------------------------
-- Append-only record of sensitive changes (access grants, deletions, manual
-- status overrides). Written by triggers and by the service role; never
-- updated, so it has no updated_at.
CREATE TABLE IF NOT EXISTS public.audit_log (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor_id        uuid,                               -- auth.uid() of the caller, NULL for service jobs
    actor_role      text        NOT NULL DEFAULT 'authenticated',
    table_name      text        NOT NULL,               -- schema-qualified, e.g. public.shell_files
    record_id       text,                               -- text so bigint and uuid keys both fit
    operation       text        NOT NULL CHECK (operation IN ('INSERT', 'UPDATE', 'DELETE', 'ACCESS')),
    old_values      jsonb,
    new_values      jsonb,
    reason          text                                -- free text, required by policy for manual overrides
);

CREATE INDEX IF NOT EXISTS idx_audit_log_table_record ON public.audit_log (table_name, record_id);
CREATE INDEX IF NOT EXISTS idx_audit_log_occurred_at  ON public.audit_log USING brin (occurred_at);

ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;

-- Only admins read the audit log through the API; the service role bypasses RLS.
CREATE POLICY audit_log_admin_read ON public.audit_log
    FOR SELECT
    USING (public.is_admin());

-- Generic row-change trigger function. Attach with
--   CREATE TRIGGER ... AFTER INSERT OR UPDATE OR DELETE ... EXECUTE FUNCTION public.log_audit_event();
-- SECURITY DEFINER so that users who cannot read audit_log can still append to it.
CREATE OR REPLACE FUNCTION public.log_audit_event()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
DECLARE
    v_record_id text;
BEGIN
    IF TG_OP = 'DELETE' THEN
        v_record_id := to_jsonb(OLD) ->> 'id';
    ELSE
        v_record_id := to_jsonb(NEW) ->> 'id';
    END IF;

    INSERT INTO public.audit_log (actor_id, actor_role, table_name, record_id, operation, old_values, new_values)
    VALUES (
        auth.uid(),
        coalesce(auth.role(), current_user),
        TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
        v_record_id,
        TG_OP,
        CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
        CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END
    );

    RETURN coalesce(NEW, OLD);
END;
$$;

\echo '01_foundations: done'
