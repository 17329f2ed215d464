-- ============================================================================
-- Migration: complete_job computes processing time
-- Date: 2026-11-06
-- Issue: #199 Negative and zero processing times on the ops dashboard
--
-- PROBLEM:
--   Since 2026-10-14 workers write processing_time_minutes themselves, from their own
--   clock. Render instances drift by up to a minute, so short jobs show 0 or -1 and
--   the per-type averages on the dashboard are wrong.
--
-- SOLUTION:
--   complete_job() computes the value from the database clock, the same clock that
--   set started_at in claim_next_job(). Workers stop sending it. Signature, grants
--   and SECURITY DEFINER are unchanged, so CREATE OR REPLACE is enough.
--
-- AFFECTED TABLES:
--   - public.job_queue
--
-- SOURCE OF TRUTH SCHEMA UPDATED:
--   [X] current_schema/06_job_coordination.sql
--      - Line 169: Replaced function public.complete_job (lines 169-192)
--      - Line 185: processing_time_minutes now set from now() - started_at
--
-- SCHEMA DOCUMENTATION UPDATED:
--   [X] bridge-schemas/source/pass-1/job_queue.md
--   [X] bridge-schemas/detailed/pass-1/job_queue.json
--   [N/A] bridge-schemas/minimal/pass-1/job_queue.json (job_queue has no minimal tier; it is never sent to the AI passes)
--
-- IMPACT ANALYSIS:
--   1. line 51: CREATE OR REPLACE FUNCTION public.complete_job(uuid, text, jsonb)
--      target: function public.complete_job (current_schema/06_job_coordination.sql:169-192)
--      writes: table public.job_queue (current_schema/06_job_coordination.sql:14-47)
--      grants kept: EXECUTE to service_role (current_schema/06_job_coordination.sql:196, 199)
--      dependents: none in current_schema (workers call it over RPC)
--
-- LOCKS AND REWRITES:
--   1. line 51: no table lock (replaces the pg_proc row only); no rewrite, no scan
--
-- MIGRATION STRATEGY:
--   One statement, instant. Calls already running finish with the old body. Deploy
--   the worker release that stops sending processing_time_minutes afterwards; until
--   then the worker value is simply overwritten by this one. No backfill of old rows.
--
-- REVIEW:
--   [X] Reviewed by dana on 2026-11-05 (sql sha256: 8e9e2d4daf1e1e9a80ed87ded6cb85fd2c7e5887bc923b02f1a8f980a46cfa9f)
--
-- MIGRATION EXECUTED:
--   [X] Applied to embedded throwaway database on 2026-11-06 via touchpoint finalize
-- ============================================================================

CREATE OR REPLACE FUNCTION public.complete_job(
    p_job_id    uuid,
    p_worker    text,
    p_result    jsonb DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
BEGIN
    UPDATE job_queue
       SET status                  = 'completed',
           completed_at            = now(),
           job_result              = p_result,
           -- computed here rather than by the worker, whose clock may drift
           processing_time_minutes = ceil(extract(epoch FROM (now() - started_at)) / 60.0)::integer
     WHERE id = p_job_id
       AND worker_id = p_worker
       AND status = 'processing';

    RETURN FOUND;
END;
$$;

-- ============================================================================
-- VERIFICATION QUERY
-- ============================================================================
/*
SELECT p.proname,
       pg_get_function_identity_arguments(p.oid) AS args,
       p.prosecdef                               AS security_definer,
       position('processing_time_minutes' IN pg_get_functiondef(p.oid)) > 0 AS sets_processing_time
  FROM pg_proc p
 WHERE p.oid = 'public.complete_job(uuid, text, jsonb)'::regprocedure;
-- Expected: complete_job | p_job_id uuid, p_worker text, p_result jsonb | t | t
*/

-- ============================================================================
-- ROLLBACK SCRIPT
-- Kept inside a comment block so that it never runs by accident;
-- `touchpoint rollback` runs it.
-- ============================================================================
/*
-- Restores the body from before this migration (workers must send the
-- processing time again, or it stays NULL).
CREATE OR REPLACE FUNCTION public.complete_job(
    p_job_id    uuid,
    p_worker    text,
    p_result    jsonb DEFAULT NULL
)
RETURNS boolean
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = public
AS $$
BEGIN
    UPDATE job_queue
       SET status                  = 'completed',
           completed_at            = now(),
           job_result              = p_result
     WHERE id = p_job_id
       AND worker_id = p_worker
       AND status = 'processing';

    RETURN FOUND;
END;
$$;
*/
